// How series are told apart: a colour (CSS variable, set per theme in charts.css) and a symbol,
// both in the same order, so a legend entry matches its line without relying on colour.
import { symbolCircle, symbolCross, symbolDiamond, symbolSquare, symbolStar, symbolTriangle, type SymbolType } from './d3';

export const SERIES_COUNT = 6;

/** The colour of series `i` as a CSS value (a theme variable). */
export function seriesColour(i: number): string {
  return `var(--series-${(i % SERIES_COUNT) + 1})`;
}

/** The symbol of series `i` (circle, square, triangle, diamond, cross, star). */
export const SERIES_SYMBOLS: SymbolType[] = [symbolCircle, symbolSquare, symbolTriangle, symbolDiamond, symbolCross, symbolStar];

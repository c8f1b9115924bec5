/// <reference path="./d3-modules.d.ts" />
// The d3 pieces the charts use, imported from d3's own modules (not the 'd3' bundle) so a page
// ships only these: scales, colour ramps, tick steps, line and symbol paths.
export { scaleLinear, scaleLog, scaleBand } from 'd3-scale';
export type { ScaleContinuous, ScaleLogarithmic, ScaleBand } from 'd3-scale';
export { interpolateViridis, interpolateCividis, interpolateRdBu, interpolatePuOr } from 'd3-scale-chromatic';
export { ticks, tickStep } from 'd3-array';
export { rgb } from 'd3-color';
export { pathRound } from 'd3-path';
export { curveStepAfter, line, symbol, symbolCircle, symbolSquare, symbolTriangle, symbolDiamond, symbolCross, symbolStar, symbolWye } from 'd3-shape';
export type { SymbolType } from 'd3-shape';

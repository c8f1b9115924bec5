// Type declarations for the few d3 functions the charts use. d3's modules ship no types and the
// project does not depend on @types/d3-*; with those installed this file can go (delete it and the
// reference in d3.ts). Only what the charts call is declared.

declare module 'd3-scale' {
  interface ScaleContinuous {
    (value: number): number;
    domain(): number[];
    domain(domain: Iterable<number>): this;
    range(): number[];
    range(range: Iterable<number>): this;
    nice(count?: number): this;
    clamp(clamp: boolean): this;
    ticks(count?: number): number[];
    invert(value: number): number;
    copy(): this;
  }
  interface ScaleLogarithmic extends ScaleContinuous {
    base(): number;
    base(base: number): this;
  }
  interface ScaleBand {
    (value: string): number | undefined;
    domain(): string[];
    domain(domain: Iterable<string>): this;
    range(): [number, number];
    range(range: [number, number]): this;
    bandwidth(): number;
    step(): number;
    padding(padding: number): this;
    paddingInner(padding: number): this;
    paddingOuter(padding: number): this;
    align(align: number): this;
    copy(): this;
  }
  export type { ScaleContinuous, ScaleLogarithmic, ScaleBand };
  export function scaleLinear(): ScaleContinuous;
  export function scaleLog(): ScaleLogarithmic;
  export function scaleBand(): ScaleBand;
}

declare module 'd3-scale-chromatic' {
  export function interpolateViridis(t: number): string;
  export function interpolateCividis(t: number): string;
  export function interpolateRdBu(t: number): string;
  export function interpolatePuOr(t: number): string;
}

declare module 'd3-array' {
  export function ticks(start: number, stop: number, count: number): number[];
  export function tickStep(start: number, stop: number, count: number): number;
}

declare module 'd3-shape' {
  interface Line<T> {
    (data: Iterable<T>): string | null;
    x(x: (d: T, i: number) => number): this;
    y(y: (d: T, i: number) => number): this;
    defined(defined: (d: T, i: number) => boolean): this;
    curve(curve: CurveFactory): this;
  }
  interface CurveFactory {
    (context: unknown): unknown;
  }
  interface SymbolType {
    draw(context: unknown, size: number): void;
  }
  interface SymbolGenerator {
    (): string | null;
    type(type: SymbolType): this;
    size(size: number): this;
  }
  export type { Line, SymbolType, SymbolGenerator, CurveFactory };
  export const curveStepAfter: CurveFactory;
  export function line<T = [number, number]>(): Line<T>;
  export function symbol(type?: SymbolType, size?: number): SymbolGenerator;
  export const symbolCircle: SymbolType;
  export const symbolSquare: SymbolType;
  export const symbolTriangle: SymbolType;
  export const symbolDiamond: SymbolType;
  export const symbolCross: SymbolType;
  export const symbolStar: SymbolType;
  export const symbolWye: SymbolType;
}

declare module 'd3-color' {
  export function rgb(specifier: string): { r: number; g: number; b: number; opacity: number };
}

declare module 'd3-path' {
  interface Path {
    moveTo(x: number, y: number): void;
    lineTo(x: number, y: number): void;
    closePath(): void;
    arc(x: number, y: number, r: number, a0: number, a1: number, ccw?: boolean): void;
    arcTo(x1: number, y1: number, x2: number, y2: number, r: number): void;
    bezierCurveTo(cpx1: number, cpy1: number, cpx2: number, cpy2: number, x: number, y: number): void;
    quadraticCurveTo(cpx: number, cpy: number, x: number, y: number): void;
    rect(x: number, y: number, w: number, h: number): void;
    toString(): string;
  }
  export function path(): Path;
  /** A path whose numbers are rounded to `digits` decimals (what d3's shapes use by default). */
  export function pathRound(digits?: number): Path;
}

// @observablehq/runtime ships no types: the small part nanoseek uses.
declare module '@observablehq/runtime' {
  export interface Observer {
    pending?(): void;
    fulfilled?(value: unknown, name?: string): void;
    rejected?(error: unknown, name?: string): void;
  }
  export interface Variable {
    define(name: string | null, inputs: string[], definition: (...args: unknown[]) => unknown): Variable;
    define(name: string, value: unknown): Variable;
    delete(): void;
  }
  export interface Module {
    variable(observer?: Observer): Variable;
    define(name: string, inputs: string[], definition: (...args: unknown[]) => unknown): Variable;
    redefine(name: string, inputs: string[], definition: (...args: unknown[]) => unknown): Variable;
    value(name: string): Promise<unknown>;
  }
  export class Runtime {
    constructor(builtins?: Record<string, unknown>, global?: (name: string) => unknown);
    module(): Module;
    dispose(): void;
  }
}

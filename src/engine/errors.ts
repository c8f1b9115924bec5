// Errors the engine reports about its inputs. Each says which file and which key or tensor is at
// fault, so a reader can fix the input; the CLI prints the message and exits with code 2.

/** An input the engine cannot use: a config, a checkpoint, a token list, an option. */
export class EngineInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config.json key that is missing, mistyped, out of range, inconsistent or unsupported. */
export class ConfigError extends EngineInputError {
  constructor(readonly file: string, readonly key: string, detail: string) {
    super(`${file}: "${key}" ${detail}`);
  }
}

/** A safetensors file that is malformed, or a tensor that is missing or of the wrong shape. */
export class CheckpointError extends EngineInputError {
  constructor(readonly file: string, readonly tensor: string | null, detail: string) {
    super(tensor === null ? `${file}: ${detail}` : `${file}: tensor "${tensor}" ${detail}`);
  }
}

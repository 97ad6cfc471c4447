// blockbuster's errors: each carries a stable `code` (ERR_BLOCKBUSTER_*) that callers can test, and
// an option error also says where the bad value came from (`source`).

export type ErrorCode =
  /** An option, variable or flag with a value of the wrong kind, or given where it does not apply. */
  | 'ERR_BLOCKBUSTER_INVALID_OPTION'
  /** A number outside its range (a threshold <= 0, an abort not above the threshold). */
  | 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE'
  /** An option name watch() or BlockBuster does not know (a typo). */
  | 'ERR_BLOCKBUSTER_UNKNOWN_OPTION'
  /** An output that cannot be written: a file that cannot be opened, an fd that is not open. */
  | 'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE'
  /** watch() on a thread already watched, by this copy of blockbuster or another. */
  | 'ERR_BLOCKBUSTER_ALREADY_WATCHING';

/** Where a setting's value came from: an option object, a BLOCKBUSTER_* variable or a CLI flag. */
export type SourceKind = 'option' | 'env' | 'flag';

export interface OptionSource {
  readonly kind: SourceKind;
  /** As the user wrote it: `thresholdMs`, `BLOCKBUSTER_THRESHOLD_MS`, `--threshold`. */
  readonly name: string;
}

/** What every blockbuster error has, whatever built-in class it extends. */
export interface BlockbusterError extends Error {
  readonly code: ErrorCode;
  /** Set for a bad setting: which one, and from where. */
  readonly source: OptionSource | undefined;
}

// A mixin, as Node core's errors: TypeError stays a TypeError, RangeError a RangeError, both coded.
// any[]: TypeScript requires it of a mixin's base and constructor.
type ErrorClass = new (...args: any[]) => Error;

/** A coded error class: `new CodedTypeError(code, message, source?, { cause }?)`. */
export type CodedErrorClass<E extends Error> = new (
  code: ErrorCode,
  message: string,
  source?: OptionSource,
  options?: ErrorOptions,
) => E & BlockbusterError;

function coded<Base extends ErrorClass>(Base: Base, name: string): CodedErrorClass<InstanceType<Base>> {
  const Coded = class extends Base implements BlockbusterError {
    override readonly name = name;
    readonly code: ErrorCode;
    readonly source: OptionSource | undefined;

    constructor(...args: any[]) {
      const [code, message, source, options] = args as [ErrorCode, string, OptionSource?, ErrorOptions?];
      super(message, options);
      this.code = code;
      this.source = source;
    }
  };
  // Its instances are Base's too: TypeScript cannot see that through a generic mixin.
  return Coded as unknown as CodedErrorClass<InstanceType<Base>>;
}

/** A coded Error (the base of the errors that are not a TypeError or a RangeError). */
export const CodedError = coded(Error, 'Error');
/** A coded TypeError: a value of the wrong kind, an unknown option, an option where it does not apply. */
export const CodedTypeError = coded(TypeError, 'TypeError');
/** A coded RangeError: a number outside its range. */
export const CodedRangeError = coded(RangeError, 'RangeError');

/** True for an error blockbuster threw with a code (from this copy or another: the code is the contract). */
export function isBlockbusterError(value: unknown): value is BlockbusterError {
  const code: unknown = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_BLOCKBUSTER_');
}

/** True for a bad setting (the code of an option error, with its source). */
export function isOptionError(value: unknown): value is BlockbusterError & { source: OptionSource } {
  return isBlockbusterError(value) && value.source !== undefined;
}

/** The message with its code, as a process prints it before exiting (`... [ERR_BLOCKBUSTER_INVALID_OPTION]`). */
export function withCode(error: BlockbusterError): string {
  return `${error.message} [${error.code}]`;
}

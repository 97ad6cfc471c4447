// The one validator of blockbuster's settings, wherever they come from: watch() and BlockBuster
// options, BLOCKBUSTER_* variables (lib/config.ts) and CLI flags (lib/cli.ts). Each check throws a
// coded error (lib/errors.ts) whose message names the setting as its source spells it.
import { fstatSync } from 'node:fs';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { BlockingError } from './blocking-error';
import { CodedError, CodedRangeError, CodedTypeError } from './errors';
import type { BlockbusterError, ErrorCode, OptionSource, SourceKind } from './errors';
import { isLogger, isValidFd, isWritable } from './output';
import type { OutputFormat, OutputTarget } from './output';

export type WatchMode = 'diagnostics' | 'strict';

export interface WatchOptions {
  /** A block longer than this is reported. Default 20. */
  thresholdMs?: number | undefined;
  /** `diagnostics` (log, never throw) or `strict` (throw the BlockingError when the loop resumes). */
  mode?: WatchMode | undefined;
  /** Called with every report; in diagnostics mode it replaces the log line. */
  onBlock?: ((error: BlockingError) => void) | undefined;
  /** The live line ("still blocked"), written during a block after this long; `false` for none. Default 2 * thresholdMs. */
  liveReportAfterMs?: number | false | undefined;
  /** Strict mode only: abort the process when one block lasts this long; `false` (default) never. */
  abortAfterMs?: number | false | undefined;
  /** Where lines go: `'stderr'` (default), an fd, a file path (appended), a writable stream or a logger (`warn`/`info`). */
  output?: OutputTarget | undefined;
  /** `text` (default) or `json` (one object per line). */
  format?: OutputFormat | undefined;
  /** Diagnostics log lines per rolling minute before the rest are only counted. Default 10. */
  maxReportsPerMinute?: number | undefined;
  /** Strict mode: also fail on a block before the event loop first turned (start-up). Default false. */
  failOnStartup?: boolean | undefined;
  /**
   * An AsyncLocalStorage whose value in the callback that blocked becomes the report's `context`
   * (read during the block; Node 24+, or 22 with --experimental-async-context-frame).
   */
  context?: AsyncLocalStorage<unknown> | undefined;
}

/** watch()'s options checked, with their defaults filled in. */
export interface ResolvedOptions {
  thresholdMs: number;
  mode: WatchMode;
  onBlock: ((error: BlockingError) => void) | undefined;
  /** 0 = off. */
  liveReportAfterMs: number;
  /** 0 = off. */
  abortAfterMs: number;
  output: OutputTarget;
  format: OutputFormat;
  maxReportsPerMinute: number;
  failOnStartup: boolean;
  context: AsyncLocalStorage<unknown> | undefined;
}

const WATCH_OPTION_NAMES: readonly (keyof WatchOptions)[] = [
  'thresholdMs',
  'mode',
  'onBlock',
  'liveReportAfterMs',
  'abortAfterMs',
  'output',
  'format',
  'maxReportsPerMinute',
  'failOnStartup',
  'context',
];

/** The settings a variable or a flag can give, as each spells them (flags without their `--`). */
export const SETTINGS = {
  thresholdMs: { env: 'BLOCKBUSTER_THRESHOLD_MS', flag: 'threshold' },
  mode: { env: 'BLOCKBUSTER_MODE', flag: 'mode' },
  rules: { env: 'BLOCKBUSTER_RULES', flag: 'rules' },
  failOnStartup: { env: 'BLOCKBUSTER_FAIL_ON_STARTUP', flag: 'fail-on-startup' },
  output: { env: 'BLOCKBUSTER_OUTPUT', flag: 'output' },
  format: { env: 'BLOCKBUSTER_FORMAT', flag: 'format' },
  abortAfterMs: { env: 'BLOCKBUSTER_ABORT_AFTER_MS', flag: 'abort-after' },
  requireWatchdog: { env: 'BLOCKBUSTER_REQUIRE_WATCHDOG', flag: undefined },
  trace: { env: 'BLOCKBUSTER_TRACE', flag: 'trace' },
  traceMaxEvents: { env: 'BLOCKBUSTER_TRACE_MAX_EVENTS', flag: undefined },
} as const;

export type Setting = keyof typeof SETTINGS;

/** Settings as text, the one form variables and flags both give: what readSettings() parses and checks. */
export type RawSettings = { [K in Setting]?: string | undefined };

/** How a setting is named in a message, by where its value came from. */
export interface Naming {
  readonly kind: SourceKind;
  /** The setting as its source spells it: `thresholdMs`, `BLOCKBUSTER_THRESHOLD_MS`, `--threshold`. */
  name(setting: string): string;
  /** A message's subject: `watch(): option thresholdMs`, `BLOCKBUSTER_THRESHOLD_MS`, `option --threshold`. */
  label(setting: string): string;
  /** A setting given a value: `mode: 'strict'`, `BLOCKBUSTER_MODE=strict`, `--mode strict`. */
  assign(setting: string, value: string | boolean): string;
  /** A bad value as its source gave it. */
  describe(value: unknown): string;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  return typeof value === 'object' || typeof value === 'function'
    ? `a ${typeof value}`
    : `${typeof value} ${String(value)}`;
}

/** Options of a JavaScript API: `watch()` or `BlockBuster`. */
export function optionNaming(api: string): Naming {
  return {
    kind: 'option',
    name: (setting) => setting,
    label: (setting) => `${api}: option ${setting}`,
    assign: (setting, value) => `${setting}: ${typeof value === 'string' ? `'${value}'` : String(value)}`,
    describe: describeValue,
  };
}

export const WATCH_OPTIONS = optionNaming('watch()');

// Variables and flags hold text: a value is said as it was typed. A setting neither has (onBlock,
// liveReportAfterMs: set by blockbuster itself) keeps its watch() name.
function textNaming(kind: 'env' | 'flag', spell: (setting: Setting) => string | undefined): Naming {
  const spelled = (setting: string): string | undefined =>
    setting in SETTINGS ? spell(setting as Setting) : undefined;
  return {
    kind,
    name: (setting) => spelled(setting) ?? WATCH_OPTIONS.name(setting),
    label: (setting) => {
      const name = spelled(setting);
      if (name === undefined) return WATCH_OPTIONS.label(setting);
      return kind === 'flag' ? `option ${name}` : name;
    },
    assign: (setting, value) => {
      const name = spelled(setting);
      if (name === undefined) return WATCH_OPTIONS.assign(setting, value);
      return kind === 'flag' ? `${name} ${String(value)}` : `${name}=${String(value)}`;
    },
    describe: (value) => (typeof value === 'string' ? JSON.stringify(value) : String(value)),
  };
}

export const ENV_VARIABLES = textNaming('env', (setting) => SETTINGS[setting].env);
export const CLI_FLAGS = textNaming('flag', (setting) => {
  const flag = SETTINGS[setting].flag;
  return flag === undefined ? undefined : `--${flag}`;
});

// `problem` follows the subject: "must be ...", or ": ..." for a fact about the value.
function message(naming: Naming, setting: string, problem: string): string {
  return `${naming.label(setting)}${problem.startsWith(':') ? '' : ' '}${problem}`;
}

function sourceOf(naming: Naming, setting: string): OptionSource {
  return { kind: naming.kind, name: naming.name(setting) };
}

function invalid(naming: Naming, setting: string, problem: string, code: ErrorCode = 'ERR_BLOCKBUSTER_INVALID_OPTION') {
  return new CodedTypeError(code, message(naming, setting, problem), sourceOf(naming, setting));
}

function outOfRange(naming: Naming, setting: string, problem: string) {
  const text = message(naming, setting, problem);
  return new CodedRangeError('ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', text, sourceOf(naming, setting));
}

/** An options argument: a plain object whose keys are all known, or undefined (none). */
export function checkOptionsObject<T extends object>(
  api: string,
  options: T | undefined,
  names: readonly string[],
): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CodedTypeError(
      'ERR_BLOCKBUSTER_INVALID_OPTION',
      `${api}: options must be an object, got ${describeValue(options)}`,
      { kind: 'option', name: 'options' },
    );
  }
  for (const key of Object.keys(options)) {
    if (!names.includes(key)) {
      throw new CodedTypeError(
        'ERR_BLOCKBUSTER_UNKNOWN_OPTION',
        `${api}: unknown option ${JSON.stringify(key)}; expected one of ${names.join(', ')}`,
        { kind: 'option', name: key },
      );
    }
  }
  return options;
}

// The longest duration the watchdog holds (its clock counts nanoseconds in 64 bits): about 317 years.
const MAX_MS = 1e13;

/** A number > 0 (of `unit`), or `fallback` when not given; a duration at most MAX_MS. */
export function positiveNumber(
  naming: Naming,
  setting: string,
  value: unknown,
  fallback: number,
  unit = 'milliseconds',
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw invalid(naming, setting, `must be a number of ${unit}, got ${naming.describe(value)}`);
  if (!Number.isFinite(value) || value <= 0) {
    throw outOfRange(naming, setting, `must be a finite number > 0, got ${value}`);
  }
  if (unit === 'milliseconds' && value > MAX_MS) {
    throw outOfRange(naming, setting, `must be at most ${MAX_MS} (ms, about 317 years), got ${value}`);
  }
  return value;
}

/** A duration that `false` turns off (0). */
function durationOrOff(naming: Naming, setting: string, value: unknown, fallback: number): number {
  if (value === false) return 0;
  if (value !== undefined && typeof value !== 'number') {
    throw invalid(naming, setting, `must be a number of milliseconds or false, got ${naming.describe(value)}`);
  }
  return positiveNumber(naming, setting, value, fallback);
}

/** One of a few strings, or `fallback` when not given. */
export function oneOf<T extends string>(
  naming: Naming,
  setting: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly unknown[]).includes(value)) {
    const expected = choices.map((choice) => `'${choice}'`).join(choices.length === 2 ? ' or ' : ', ');
    throw invalid(naming, setting, `must be ${expected}, got ${naming.describe(value)}`);
  }
  return value as T;
}

export function boolean(naming: Naming, setting: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw invalid(naming, setting, `must be true or false, got ${naming.describe(value)}`);
  return value;
}

export function callback<F>(naming: Naming, setting: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw invalid(naming, setting, `must be a function, got ${naming.describe(value)}`);
  }
  return value;
}

/** A setting given where it has no effect: `condition` says where it applies. */
export function onlyWith(naming: Naming, setting: string, condition: string): never {
  throw invalid(naming, setting, `only applies to ${condition}`);
}

/** Where lines go: an fd must be open now, so a bad one fails here rather than at the first report. */
export function checkOutput(naming: Naming, output: unknown): OutputTarget {
  if (
    output === 'stderr' ||
    (typeof output === 'string' && output.length > 0) ||
    isLogger(output) ||
    isWritable(output)
  )
    return output as OutputTarget;
  if (isValidFd(output)) {
    try {
      fstatSync(output);
    } catch (error) {
      throw invalid(
        naming,
        'output',
        `: file descriptor ${output} is not open (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE',
      );
    }
    return output;
  }
  // A variable or a flag is text: a stream or a logger can only be given to the API.
  const expected =
    naming.kind === 'option'
      ? "'stderr', a file descriptor, a file path, a writable stream ({ write }) or a logger ({ warn, info })"
      : 'stderr, a file descriptor or a file path';
  throw invalid(naming, 'output', `must be ${expected}, got ${naming.describe(output)}`);
}

/** An output file that could not be opened for appending (`cause`: the open's error). */
export function outputUnavailable(naming: Naming, output: unknown, cause: unknown): BlockbusterError {
  return new CodedError(
    'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE',
    message(naming, 'output', `: cannot open ${JSON.stringify(output)} for appending: ${(cause as Error).message}`),
    sourceOf(naming, 'output'),
    { cause },
  );
}

/** watch()'s options, checked and completed; `naming` says where they came from. */
export function resolveWatchOptions(
  options: WatchOptions | undefined,
  naming: Naming = WATCH_OPTIONS,
): ResolvedOptions {
  const given = checkOptionsObject('watch()', options, WATCH_OPTION_NAMES);
  const thresholdMs = positiveNumber(naming, 'thresholdMs', given.thresholdMs, 20);
  // The watchdog looks at millisecond resolution: a smaller threshold would call every instant a block.
  if (thresholdMs < 1) throw outOfRange(naming, 'thresholdMs', `must be at least 1 (ms), got ${thresholdMs}`);
  const mode = oneOf<WatchMode>(naming, 'mode', given.mode, ['diagnostics', 'strict'], 'diagnostics');
  const onBlock = callback(naming, 'onBlock', given.onBlock);
  const liveReportAfterMs = durationOrOff(
    naming,
    'liveReportAfterMs',
    given.liveReportAfterMs,
    Math.min(2 * thresholdMs, MAX_MS),
  );
  if (given.abortAfterMs !== undefined && given.abortAfterMs !== false && mode !== 'strict') {
    onlyWith(naming, 'abortAfterMs', naming.assign('mode', 'strict'));
  }
  const abortAfterMs = durationOrOff(naming, 'abortAfterMs', given.abortAfterMs, 0);
  if (abortAfterMs !== 0 && abortAfterMs <= thresholdMs) {
    throw outOfRange(
      naming,
      'abortAfterMs',
      `must be greater than ${naming.name('thresholdMs')} (${thresholdMs}), got ${abortAfterMs}`,
    );
  }
  const output = checkOutput(naming, given.output ?? 'stderr');
  const format = oneOf<OutputFormat>(naming, 'format', given.format, ['text', 'json'], 'text');
  const maxReportsPerMinute = positiveNumber(naming, 'maxReportsPerMinute', given.maxReportsPerMinute, 10, 'reports');
  const failOnStartup = boolean(naming, 'failOnStartup', given.failOnStartup, false);
  if (
    given.context !== undefined &&
    !(require('./async-context') as typeof import('./async-context')).isAsyncLocalStorage(given.context)
  ) {
    throw invalid(naming, 'context', `must be an AsyncLocalStorage, got ${naming.describe(given.context)}`);
  }
  return {
    thresholdMs,
    mode,
    onBlock,
    liveReportAfterMs,
    abortAfterMs,
    output,
    format,
    maxReportsPerMinute,
    failOnStartup,
    context: given.context,
  };
}

/** The preload's and the CLI's configuration: watch()'s options and what else the settings ask. */
export interface Settings {
  /** Options for watch(): every field is set from a setting or the given default. */
  watch: WatchOptions & { thresholdMs: number; mode: WatchMode };
  /** Whether the rule set (BlockBuster) is activated too. */
  rules: boolean;
  /** Where the Chrome trace goes (`%p` = pid), and its bound in events per process. */
  trace: { path: string; maxEvents: number } | undefined;
  /** true fails without a loadable watchdog, false only warns, undefined leaves it to the mode. */
  requireWatchdog: boolean | undefined;
}

export interface SettingDefaults {
  mode: WatchMode;
  rules: boolean;
}

/** The trace's default bound (lib/trace.ts, which is loaded only when a trace is asked for). */
export const DEFAULT_MAX_EVENTS = 100_000;

function milliseconds(naming: Naming, setting: Setting, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) {
    throw invalid(naming, setting, `must be a number of milliseconds > 0, got ${naming.describe(raw)}`);
  }
  return Number(raw);
}

function flag(naming: Naming, setting: Setting, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw invalid(naming, setting, `must be 1 or 0 (or true/false), got ${naming.describe(raw)}`);
}

/** Parses and checks settings given as text; throws a coded error naming the first bad one as `naming` spells it. */
export function readSettings(raw: RawSettings, naming: Naming, defaults: SettingDefaults): Settings {
  const thresholdMs = milliseconds(naming, 'thresholdMs', raw.thresholdMs) ?? 20;
  const mode = oneOf<WatchMode>(naming, 'mode', raw.mode, ['diagnostics', 'strict'], defaults.mode);
  const output =
    raw.output === undefined || raw.output === 'stderr'
      ? 'stderr'
      : /^\d+$/.test(raw.output)
        ? Number(raw.output)
        : raw.output;
  const abortAfterMs = milliseconds(naming, 'abortAfterMs', raw.abortAfterMs);
  const watch = {
    thresholdMs,
    mode,
    output,
    format: oneOf<OutputFormat>(naming, 'format', raw.format, ['text', 'json'], 'text'),
    failOnStartup: flag(naming, 'failOnStartup', raw.failOnStartup) ?? false,
    ...(abortAfterMs === undefined ? {} : { abortAfterMs }),
  };
  // The preload's watch() checks them again; checked here, a bad one is said before the program runs.
  resolveWatchOptions(watch, naming);
  if (raw.traceMaxEvents !== undefined && (!/^\d+$/.test(raw.traceMaxEvents) || Number(raw.traceMaxEvents) < 100)) {
    throw invalid(
      naming,
      'traceMaxEvents',
      `must be a whole number of events >= 100, got ${naming.describe(raw.traceMaxEvents)}`,
    );
  }
  if (raw.traceMaxEvents !== undefined && raw.trace === undefined) {
    throw invalid(naming, 'traceMaxEvents', `needs ${naming.name('trace')} (the trace file)`);
  }
  return {
    watch,
    rules: flag(naming, 'rules', raw.rules) ?? defaults.rules,
    trace:
      raw.trace === undefined
        ? undefined
        : {
            path: raw.trace,
            maxEvents: raw.traceMaxEvents === undefined ? DEFAULT_MAX_EVENTS : Number(raw.traceMaxEvents),
          },
    requireWatchdog: flag(naming, 'requireWatchdog', raw.requireWatchdog),
  };
}

// watch(): options, modes and delivery of the watchdog's reports.
import { fstatSync } from 'node:fs';
import { hostname } from './schema';
import { join } from 'node:path';
import { loadBinding } from './binding';
import type { NativeBinding, NativeStartOptions, RawReport } from './binding';
import { INTERNAL_FILES, SCHEMA_VERSION } from './blocking-error';
import type { BlockingError } from './blocking-error';
import type { AsyncLocalStorage } from 'node:async_hooks';
import { AsyncContextSlots, isAsyncLocalStorage } from './async-context';
import { CallSiteRecorder } from './call-sites';
import { isBuiltinLoaded } from './rules/builtins';
import { ReportSink, isLogger, isValidFd, isWritable, readableReport, threadTag } from './output';
import type { OutputFormat, OutputTarget } from './output';
import { buildReport } from './report';
import { publishReport } from './channels';
import { Telemetry } from './otel';
import type { ThreadInfo } from './report';

export type WatchMode = 'diagnostics' | 'strict';

/** Frames copied per sample. */
const MAX_FRAMES = 64;
/** Reports the native side keeps for JS; beyond that they are counted and the count is said. */
const MAX_QUEUED_REPORTS = 256;
/** Samples per block: one at the crossing, then one per threshold, so a 1 s block at 20 ms has 50. */
const MAX_SAMPLES = 50;

// Loaded on the first watch(): require('blockbuster') for the rule set alone stays small.
// A worker's bootstrap has loaded worker_threads already; loading it on the main thread would pull
// in streams and the worker machinery (about 0.6 MB) just to learn that this is thread 0.
function currentThread(): ThreadInfo {
  if (!isBuiltinLoaded('worker_threads')) return { threadId: 0, threadName: undefined };
  const threads = require('node:worker_threads') as typeof import('node:worker_threads') & { threadName?: string };
  return { threadId: threads.threadId, threadName: threads.isMainThread ? undefined : threads.threadName };
}

export interface WatchOptions {
  /** A block longer than this is reported. Default 20. */
  thresholdMs?: number;
  /** `diagnostics` (log, never throw) or `strict` (throw the BlockingError when the loop resumes). */
  mode?: WatchMode;
  /** Called with every report; in diagnostics mode it replaces the log line. */
  onBlock?: (error: BlockingError) => void;
  /** The native "still blocked" line, written during a block after this long; `false` for none. Default 2 × thresholdMs. */
  liveReportAfterMs?: number | false;
  /** Strict mode only: abort the process when one block lasts this long; `false` (default) never. */
  abortAfterMs?: number | false;
  /** @deprecated Old name of `liveReportAfterMs`. */
  hangReportMs?: number | false;
  /** @deprecated Old name of `abortAfterMs`. */
  hangMs?: number | false;
  /** Where lines go: `'stderr'` (default), an fd, a file path (appended), a writable stream or a logger (`warn`/`info`). */
  output?: OutputTarget;
  /** `text` (default) or `json` (one object per line). */
  format?: OutputFormat;
  /** Diagnostics log lines per rolling minute before the rest are only counted. Default 10. */
  maxReportsPerMinute?: number;
  /** Strict mode: also fail on a block before the event loop first turned (start-up). Default false. */
  failOnStartup?: boolean;
  /**
   * An AsyncLocalStorage whose value in the callback that blocked becomes the report's `context`
   * (read during the block; Node 24+, or 22 with --experimental-async-context-frame).
   */
  context?: AsyncLocalStorage<unknown>;
}

export interface Watcher extends Disposable {
  readonly thresholdMs: number;
  readonly mode: WatchMode;
  /** True until stop(). */
  readonly active: boolean;
  /** Stops and joins the watchdog thread; delivers any report still pending. Idempotent. */
  stop(): void;
}

interface ResolvedOptions {
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

const OPTION_NAMES = [
  'thresholdMs',
  'mode',
  'onBlock',
  'liveReportAfterMs',
  'abortAfterMs',
  'hangReportMs',
  'hangMs',
  'output',
  'format',
  'maxReportsPerMinute',
  'failOnStartup',
  'context',
] as const;

function positiveFinite(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(
      `watch(): option ${name} must be a number of milliseconds${fallback === 0 ? ' or false' : ''}, got ${describeValue(value)}`,
    );
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`watch(): option ${name} must be a finite number > 0, got ${value}`);
  }
  return value;
}

/** A duration that `false` turns off (0); `name` is the one the caller used. */
function durationOrOff(name: string, value: unknown, fallback: number): number {
  if (value === false) return 0;
  if (value !== undefined && typeof value !== 'number') {
    throw new TypeError(
      `watch(): option ${name} must be a number of milliseconds or false, got ${describeValue(value)}`,
    );
  }
  return positiveFinite(name, value, fallback);
}

/** The new name or its old alias, never both: `[name used, value]`. */
function aliased(
  options: WatchOptions,
  name: 'liveReportAfterMs' | 'abortAfterMs',
  alias: 'hangReportMs' | 'hangMs',
): [string, unknown] {
  if (options[name] !== undefined && options[alias] !== undefined) {
    throw new TypeError(
      `watch(): options ${name} and ${alias} are the same option (${alias} is the old name); give only ${name}`,
    );
  }
  return options[alias] !== undefined ? [alias, options[alias]] : [name, options[name]];
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  return typeof value === 'object' || typeof value === 'function'
    ? `a ${typeof value}`
    : `${typeof value} ${String(value)}`;
}

export function resolveOptions(options: WatchOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`watch(): options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(`watch(): unknown option ${JSON.stringify(key)}; expected one of ${OPTION_NAMES.join(', ')}`);
    }
  }
  const thresholdMs = positiveFinite('thresholdMs', options.thresholdMs, 20);
  // The watchdog looks at millisecond resolution: a smaller threshold would call every instant a block.
  if (thresholdMs < 1) throw new RangeError(`watch(): option thresholdMs must be at least 1 (ms), got ${thresholdMs}`);
  const mode = options.mode ?? 'diagnostics';
  if (mode !== 'diagnostics' && mode !== 'strict') {
    throw new TypeError(`watch(): option mode must be 'diagnostics' or 'strict', got ${describeValue(mode)}`);
  }
  if (options.onBlock !== undefined && typeof options.onBlock !== 'function') {
    throw new TypeError(`watch(): option onBlock must be a function, got ${describeValue(options.onBlock)}`);
  }
  const [liveName, liveValue] = aliased(options, 'liveReportAfterMs', 'hangReportMs');
  const liveReportAfterMs = durationOrOff(liveName, liveValue, 2 * thresholdMs);
  const [abortName, abortValue] = aliased(options, 'abortAfterMs', 'hangMs');
  if (abortValue !== undefined && abortValue !== false && mode !== 'strict') {
    throw new TypeError(`watch(): option ${abortName} only applies to mode 'strict'`);
  }
  const abortAfterMs = durationOrOff(abortName, abortValue, 0);
  if (abortAfterMs !== 0 && abortAfterMs <= thresholdMs) {
    throw new RangeError(
      `watch(): option ${abortName} must be greater than thresholdMs (${thresholdMs}), got ${abortAfterMs}`,
    );
  }
  const output = checkOutput(options.output ?? 'stderr');
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new TypeError(`watch(): option format must be 'text' or 'json', got ${describeValue(format)}`);
  }
  const maxReportsPerMinute = positiveFinite('maxReportsPerMinute', options.maxReportsPerMinute, 10);
  const failOnStartup = options.failOnStartup ?? false;
  if (typeof failOnStartup !== 'boolean') {
    throw new TypeError(`watch(): option failOnStartup must be a boolean, got ${describeValue(failOnStartup)}`);
  }
  if (options.context !== undefined && !isAsyncLocalStorage(options.context)) {
    throw new TypeError(`watch(): option context must be an AsyncLocalStorage, got ${describeValue(options.context)}`);
  }
  return {
    thresholdMs,
    mode,
    onBlock: options.onBlock,
    liveReportAfterMs,
    abortAfterMs,
    output,
    format,
    maxReportsPerMinute,
    context: options.context,
    failOnStartup,
  };
}

function checkOutput(output: unknown): OutputTarget {
  if (
    output === 'stderr' ||
    (typeof output === 'string' && output.length > 0) ||
    isLogger(output) ||
    isWritable(output)
  )
    return output as OutputTarget;
  if (isValidFd(output)) {
    try {
      // A closed or never-opened fd fails here, naming the option, not on the first report.
      fstatSync(output);
    } catch (error) {
      throw new TypeError(
        `watch(): option output: file descriptor ${output} is not open (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    return output;
  }
  throw new TypeError(
    `watch(): option output must be 'stderr', a file descriptor, a file path, a writable stream ({ write }) or a logger ({ warn, info }), got ${describeValue(output)}`,
  );
}

/** @internal What the register preload and the test-runner helpers plug into a watcher. */
export interface WatchHooks {
  /** Sees every report before it is delivered (the CLI's summary). */
  observe?: (error: BlockingError) => void;
  /** Takes a strict-mode failure instead of the uncaught throw; false leaves it to watch(). */
  fail?: (error: BlockingError, atExit: boolean) => boolean;
  /** The preload's watcher: a later watch() on the same thread stops it instead of failing. */
  yieldToWatch?: boolean;
}

// The thread's preload watcher, if any (module state is per thread: each worker loads its own copy).
let yielding: Watcher | undefined;

/** @internal A watcher whose pending reports can be taken now (a test ends). */
export interface InternalWatcher extends Watcher {
  /** Delivers every report pending, ending a block still going on at this moment. */
  flush(): void;
}

/**
 * Starts the native watchdog for the calling thread (main thread or a worker). One watcher per
 * thread: a second watch() while one is active throws.
 */
export function watch(options?: WatchOptions): Watcher {
  return createWatcher(options);
}

// Every copy of the package on this thread sees the same slot (globalThis is per thread): two
// installed copies must not both watch, or each block would be reported twice.
const WATCHING = Symbol.for('blockbuster.watching');

interface WatchingEntry {
  readonly packageDir: string;
  readonly version: string;
  readonly watcher: Watcher;
  /** A preload's watcher: another copy's watch() stops it, as this copy's own would. */
  readonly yields: boolean;
}

let copy: { packageDir: string; version: string } | undefined;

// Computed once: watch()/stop() cycles (a test suite's) allocate nothing for it.
function thisCopy(): { packageDir: string; version: string } {
  return (copy ??= readCopy());
}

function readCopy(): { packageDir: string; version: string } {
  const packageDir = join(__dirname, '..');
  let version = 'unknown';
  try {
    version = (require(join(packageDir, 'package.json')) as { version: string }).version;
  } catch {
    // A bundled copy without its package.json: the path still names it.
  }
  return { packageDir, version };
}

const registry = globalThis as Record<symbol, WatchingEntry | undefined>;

function otherCopyWatching(): WatchingEntry | undefined {
  const entry = registry[WATCHING];
  return entry?.watcher.active === true && entry.packageDir !== thisCopy().packageDir ? entry : undefined;
}

function forgetWatching(watcher: Watcher): void {
  if (registry[WATCHING]?.watcher === watcher) delete registry[WATCHING];
}

/** @internal watch() with hooks; the public watch() passes none. */
export function createWatcher(options: WatchOptions | undefined, hooks: WatchHooks = {}): InternalWatcher {
  const resolved = resolveOptions(options);
  if (yielding?.active) yielding.stop();
  let other = otherCopyWatching();
  if (other?.yields === true) {
    other.watcher.stop();
    other = undefined;
  }
  if (other !== undefined) {
    throw new Error(
      `watch(): another copy of blockbuster (${other.version} at ${other.packageDir}) is already watching this thread; ` +
        `stop() its watcher first, or use one copy (npm dedupe)`,
    );
  }
  const binding = loadBinding();
  if (binding.isWatching()) {
    throw new Error('watch(): this thread is already watched; stop() the existing watcher first');
  }
  const watcher = new NativeWatcher(resolved, hooks, binding);
  const entry: WatchingEntry = { ...thisCopy(), watcher, yields: hooks.yieldToWatch === true };
  Object.defineProperty(globalThis, WATCHING, { value: entry, configurable: true, enumerable: false, writable: true });
  if (hooks.yieldToWatch === true) yielding = watcher;
  return watcher;
}

/** When a report is delivered: while the process runs, or from its exit handler (strict mode then sets the exit code). */
type Moment = 'now' | 'at-exit';

/**
 * One native watchdog and the delivery of its reports: take (from the native queue), build (a
 * BlockingError), deliver (hooks, onBlock or the sink, then strict mode's failure), flush at exit,
 * stop.
 */
class NativeWatcher implements InternalWatcher {
  readonly thresholdMs: number;
  readonly mode: WatchMode;
  #active = true;
  readonly #options: ResolvedOptions;
  readonly #hooks: WatchHooks;
  readonly #binding: NativeBinding;
  readonly #sink: ReportSink;
  readonly #thread: ThreadInfo = currentThread();
  readonly #recorder: CallSiteRecorder;
  readonly #contextSlots: AsyncContextSlots | undefined;
  readonly #onExit = (): void => this.#flushAtExit();
  readonly #telemetry: Telemetry | undefined;

  constructor(options: ResolvedOptions, hooks: WatchHooks, binding: NativeBinding) {
    this.#options = options;
    this.#hooks = hooks;
    this.#binding = binding;
    this.thresholdMs = options.thresholdMs;
    this.mode = options.mode;
    try {
      this.#sink = new ReportSink(options);
    } catch (error) {
      throw new Error(
        `watch(): option output: cannot open ${JSON.stringify(options.output)} for appending: ${(error as Error).message}`,
      );
    }
    const startOptions = this.#nativeOptions();
    // Installed before the thread starts: wrapping the APIs is start-up work, not a block to report.
    this.#recorder = new CallSiteRecorder(new Int32Array(startOptions.sharedFlags));
    this.#recorder.install();
    this.#contextSlots = options.context && new AsyncContextSlots(options.context);
    // Before the thread starts: loading the OpenTelemetry API is start-up work, not a block to report.
    this.#telemetry = Telemetry.start();
    try {
      // A call queued before stop() may arrive after it, even after a new watch(): not ours then.
      binding.start(startOptions, () => {
        if (this.#active) this.#deliverPending(false, 'now');
      });
    } catch (error) {
      this.#telemetry?.stop();
      this.#recorder.uninstall();
      this.#contextSlots?.dispose();
      this.#sink.close();
      throw error;
    }
    process.on('exit', this.#onExit);
  }

  get active(): boolean {
    return this.#active;
  }

  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    forgetWatching(this);
    process.removeListener('exit', this.#onExit);
    const errors = this.#takeAndBuild(true);
    this.#binding.stop();
    this.#recorder.uninstall();
    this.#contextSlots?.dispose();
    try {
      for (const error of errors) this.#deliver(error, 'now');
    } finally {
      this.#telemetry?.stop();
      this.#sink.close();
    }
  }

  flush(): void {
    if (this.#active) this.#deliverPending(true, 'now');
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  #flushAtExit(): void {
    this.#deliverPending(true, 'at-exit');
    this.stop();
  }

  #nativeOptions(): NativeStartOptions {
    const options = this.#options;
    return {
      thresholdMs: options.thresholdMs,
      liveReportAfterMs: options.liveReportAfterMs,
      abortAfterMs: options.abortAfterMs,
      outputFd: this.#sink.nativeFd,
      maxFrames: MAX_FRAMES,
      maxQueued: MAX_QUEUED_REPORTS,
      json: options.format === 'json',
      internalFilePrefixes: INTERNAL_FILES.prefixes,
      internalFileParts: INTERNAL_FILES.parts,
      sampleIntervalMs: options.thresholdMs,
      maxSamples: MAX_SAMPLES,
      // On the main thread waiting is a block; a pool worker parked for work is idle.
      atomicsWaitIsIdle: this.#thread.threadId !== 0,
      threadTag: threadTag(this.#thread),
      threadId: this.#thread.threadId,
      pid: process.pid,
      hostname: hostname(),
      schemaVersion: SCHEMA_VERSION,
      sharedFlags: new ArrayBuffer(CallSiteRecorder.FLAGS_BYTES),
    };
  }

  // blockbuster's own work (an SDK's first log record can take tens of ms): never reported as a block.
  #ownWork(work: () => void): void {
    this.#binding.ownWork(true);
    try {
      work();
    } finally {
      this.#binding.ownWork(false);
    }
  }

  #deliverPending(finishActive: boolean, moment: Moment): void {
    for (const error of this.#takeAndBuild(finishActive)) this.#deliver(error, moment);
  }

  // Taking and building reports is blockbuster's own work: the watchdog never reports it.
  #takeAndBuild(finishActive: boolean): BlockingError[] {
    this.#binding.ownWork(true);
    try {
      const errors = this.#take(finishActive).flatMap((raw) => this.#build(raw));
      // Modules the program loaded since (zlib, child_process, …) are tracked from now on.
      this.#recorder.refresh();
      return errors;
    } finally {
      this.#binding.ownWork(false);
    }
  }

  #take(finishActive: boolean): RawReport[] {
    const { reports, dropped } = this.#binding.takeReports(finishActive);
    if (dropped > 0) this.#sink.writeDropped(dropped);
    return reports;
  }

  #build(raw: RawReport): BlockingError[] {
    try {
      const context = this.#contextSlots?.take(raw.samples.map((sample) => sample.key));
      return [buildReport(raw, this.#options.thresholdMs, this.#thread, (key) => this.#recorder.find(key), context)];
    } catch (buildError) {
      // Diagnostics never throw into the host; strict mode surfaces the bug.
      if (this.#options.mode === 'strict') {
        this.#surface(buildError, 'now');
        return [];
      }
      this.#sink.writeLine(
        `blockbuster: could not build the report of a ${Math.round(raw.durationMs)} ms block: ${String(buildError)}`,
      );
      return [];
    }
  }

  #deliver(error: BlockingError, moment: Moment): void {
    const options = this.#options;
    this.#hooks.observe?.(error);
    publishReport(error, options.liveReportAfterMs);
    if (this.#telemetry !== undefined) this.#ownWork(() => this.#telemetry?.report(error));
    const fails = options.mode === 'strict' && (error.phase === 'loop' || options.failOnStartup);
    if (options.onBlock) {
      const onBlock = options.onBlock;
      // The callback is blockbuster's work too: one that blocks must not be reported back to itself.
      this.#ownWork(() => {
        try {
          onBlock(error);
        } catch (callbackError) {
          if (options.mode === 'strict') this.#surface(callbackError, moment);
          else this.#sink.writeLine(`blockbuster: onBlock threw: ${String(callbackError)}`);
        }
      });
    } else if (error.phase === 'startup' && !fails) {
      this.#sink.writeStartup(error);
    } else if (options.mode === 'diagnostics') {
      this.#sink.write(error);
    }
    if (fails && this.#hooks.fail?.(error, moment === 'at-exit') !== true) this.#fail(error, moment);
  }

  // Thrown from the native callback that delivers reports, an error is lost (Node-API only warns,
  // DEP0168): it is rethrown from a tick of its own, or said at exit where no tick runs.
  #surface(thrown: unknown, moment: Moment): void {
    if (moment === 'at-exit') {
      this.#sink.writeLine(
        `blockbuster: ${thrown instanceof Error ? (thrown.stack ?? String(thrown)) : String(thrown)}`,
      );
      if (process.exitCode === undefined || Number(process.exitCode) === 0) process.exitCode = 1;
      return;
    }
    process.nextTick(() => {
      throw thrown;
    });
  }

  #fail(error: BlockingError, moment: Moment): void {
    if (moment === 'at-exit') {
      this.#sink.writeLine(readableReport(error));
      // A failing host keeps its own exit code; strict mode only fails a clean exit.
      if (process.exitCode === undefined || Number(process.exitCode) === 0) process.exitCode = 1;
      return;
    }
    error.stack = readableReport(error);
    process.nextTick(() => {
      throw error; // blockbuster strict mode: the event loop was blocked; the report follows.
    });
  }
}

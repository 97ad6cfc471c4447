// watch(): options, modes and delivery of the watchdog's reports.
import { loadBinding } from './binding';
import type { NativeStartOptions, RawReport } from './binding';
import { INTERNAL_FILES } from './blocking-error';
import type { BlockingError } from './blocking-error';
import type { AsyncLocalStorage } from 'node:async_hooks';
import { AsyncContextSlots, isAsyncLocalStorage } from './async-context';
import { CallSiteRecorder } from './call-sites';
import { isBuiltinLoaded } from './rules/builtins';
import { ReportSink, isValidFd, readableReport, threadTag } from './output';
import type { OutputFormat } from './output';
import { buildReport } from './report';
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
  /** Native "still blocked" line after this long; `false` for none. Default 2 × thresholdMs. */
  hangReportMs?: number | false;
  /** Strict mode only: abort the process when one block lasts this long. */
  hangMs?: number;
  /** Where lines go: `'stderr'` (default), an fd, or a file path (appended). */
  output?: 'stderr' | number | string;
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
  hangReportMs: number;
  hangMs: number;
  output: 'stderr' | number | string;
  format: OutputFormat;
  maxReportsPerMinute: number;
  failOnStartup: boolean;
  context: AsyncLocalStorage<unknown> | undefined;
}

const OPTION_NAMES = [
  'thresholdMs',
  'mode',
  'onBlock',
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
    throw new TypeError(`watch(): option ${name} must be a number of milliseconds, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`watch(): option ${name} must be a finite number > 0, got ${value}`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  return typeof value === 'object' || typeof value === 'function' ? `a ${typeof value}` : `${typeof value} ${String(value)}`;
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
  const mode = options.mode ?? 'diagnostics';
  if (mode !== 'diagnostics' && mode !== 'strict') {
    throw new TypeError(`watch(): option mode must be 'diagnostics' or 'strict', got ${describeValue(mode)}`);
  }
  if (options.onBlock !== undefined && typeof options.onBlock !== 'function') {
    throw new TypeError(`watch(): option onBlock must be a function, got ${describeValue(options.onBlock)}`);
  }
  const hangReportMs =
    options.hangReportMs === false ? 0 : positiveFinite('hangReportMs', options.hangReportMs, 2 * thresholdMs);
  if (options.hangMs !== undefined && mode !== 'strict') {
    throw new TypeError("watch(): option hangMs only applies to mode 'strict'");
  }
  const hangMs = positiveFinite('hangMs', options.hangMs, Infinity);
  if (hangMs !== Infinity && hangMs <= thresholdMs) {
    throw new RangeError(`watch(): option hangMs must be greater than thresholdMs (${thresholdMs}), got ${hangMs}`);
  }
  const output = options.output ?? 'stderr';
  if (!(output === 'stderr' || isValidFd(output) || (typeof output === 'string' && output.length > 0))) {
    throw new TypeError(`watch(): option output must be 'stderr', a file descriptor or a file path, got ${describeValue(output)}`);
  }
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
    hangReportMs,
    hangMs,
    output,
    format,
    maxReportsPerMinute,
    context: options.context,
    failOnStartup,
  };
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

/** @internal watch() with hooks; the public watch() passes none. */
export function createWatcher(options: WatchOptions | undefined, hooks: WatchHooks = {}): InternalWatcher {
  const resolved = resolveOptions(options);
  if (yielding?.active) yielding.stop();
  const binding = loadBinding();
  if (binding.isWatching()) {
    throw new Error('watch(): this thread is already watched; stop() the existing watcher first');
  }
  let sink: ReportSink;
  try {
    sink = new ReportSink(resolved);
  } catch (error) {
    throw new Error(`watch(): option output: cannot open ${JSON.stringify(resolved.output)} for appending: ${(error as Error).message}`);
  }
  let active = true;
  const thread = currentThread();

  const deliver = (error: BlockingError, atExit: boolean): void => {
    hooks.observe?.(error);
    const fails = resolved.mode === 'strict' && (error.phase === 'loop' || resolved.failOnStartup);
    if (resolved.onBlock) {
      try {
        resolved.onBlock(error);
      } catch (callbackError) {
        if (resolved.mode === 'strict') throw callbackError;
        sink.writeLine(`blockbuster: onBlock threw: ${String(callbackError)}`);
      }
    } else if (error.phase === 'startup' && !fails) {
      sink.writeStartup(error);
    } else if (resolved.mode === 'diagnostics') {
      sink.write(error);
    }
    if (!fails || hooks.fail?.(error, atExit) === true) return;
    if (atExit) {
      sink.writeLine(readableReport(error));
      // A failing host keeps its own exit code; strict mode only fails a clean exit.
      if (process.exitCode === undefined || Number(process.exitCode) === 0) process.exitCode = 1;
    } else {
      error.stack = readableReport(error);
      process.nextTick(() => {
        throw error; // blockbuster strict mode: the event loop was blocked; the report follows.
      });
    }
  };


  // Taking and building reports is blockbuster's own work: the watchdog never reports it.
  const build = (finishActive: boolean): BlockingError[] => {
    binding.ownWork(true);
    try {
      const { reports, dropped } = binding.takeReports(finishActive);
      if (dropped > 0) sink.writeDropped(dropped);
      const errors = reports.flatMap((raw) => buildOrSay(raw));
      // Modules the program loaded since (zlib, child_process, …) are tracked from now on.
      recorder.refresh();
      return errors;
    } finally {
      binding.ownWork(false);
    }
  };

  const buildOrSay = (raw: RawReport): BlockingError[] => {
    try {
      const context = contextSlots?.take(raw.samples.map((sample) => sample.key));
      return [buildReport(raw, resolved.thresholdMs, thread, (key) => recorder.find(key), context)];
    } catch (buildError) {
      // Diagnostics never throw into the host; strict mode surfaces the bug.
      if (resolved.mode === 'strict') throw buildError;
      sink.writeLine(`blockbuster: could not build the report of a ${Math.round(raw.durationMs)} ms block: ${String(buildError)}`);
      return [];
    }
  };

  const drain = (finishActive: boolean, atExit: boolean): void => {
    for (const error of build(finishActive)) deliver(error, atExit);
  };

  const onExit = (): void => {
    drain(true, true);
    stop();
  };

  const startOptions: NativeStartOptions = {
    thresholdMs: resolved.thresholdMs,
    hangReportMs: resolved.hangReportMs,
    abortAfterMs: resolved.hangMs === Infinity ? 0 : resolved.hangMs,
    outputFd: sink.fd,
    maxFrames: MAX_FRAMES,
    maxQueued: MAX_QUEUED_REPORTS,
    json: resolved.format === 'json',
    internalFilePrefixes: INTERNAL_FILES.prefixes,
    internalFileParts: INTERNAL_FILES.parts,
    sampleIntervalMs: resolved.thresholdMs,
    maxSamples: MAX_SAMPLES,
    // On the main thread waiting is a block; a pool worker parked for work is idle.
    atomicsWaitIsIdle: thread.threadId !== 0,
    threadTag: threadTag(thread),
    sharedFlags: new ArrayBuffer(CallSiteRecorder.FLAGS_BYTES),
  };
  // Installed before the thread starts: wrapping the APIs is start-up work, not a block to report.
  const recorder = new CallSiteRecorder(new Int32Array(startOptions.sharedFlags));
  recorder.install();
  const contextSlots = resolved.context && new AsyncContextSlots(resolved.context);
  try {
    // A call queued before stop() may arrive after it, even after a new watch(): not ours then.
    binding.start(startOptions, () => {
      if (active) drain(false, false);
    });
  } catch (error) {
    recorder.uninstall();
    contextSlots?.dispose();
    sink.close();
    throw error;
  }
  process.on('exit', onExit);

  function stop(): void {
    if (!active) return;
    active = false;
    process.removeListener('exit', onExit);
    const errors = build(true);
    binding.stop();
    recorder.uninstall();
    contextSlots?.dispose();
    try {
      for (const error of errors) deliver(error, false);
    } finally {
      sink.close();
    }
  }

  function flush(): void {
    if (active) drain(true, false);
  }

  const watcher: InternalWatcher = {
    thresholdMs: resolved.thresholdMs,
    mode: resolved.mode,
    get active() {
      return active;
    },
    stop,
    flush,
    [Symbol.dispose]: stop,
  };
  if (hooks.yieldToWatch === true) yielding = watcher;
  return watcher;
}

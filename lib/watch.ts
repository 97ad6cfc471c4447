// watch(): the watcher's lifecycle. Options are checked by lib/options.ts, the thread is claimed in
// lib/registry.ts, reports are taken from the native queue here and handed to lib/delivery.ts.
import { currentThread } from './schema';
import type { ThreadInfo } from './schema';
import { loadBinding } from './binding';
import type { NativeBinding, NativeStartOptions, RawReport } from './binding';
import { INTERNAL_FILES, SCHEMA_VERSION } from './blocking-error';
import type { BlockingError } from './blocking-error';
import type { AsyncContextSlots } from './async-context';
import { CallSiteRecorder } from './call-sites';
import { ReportSink, threadTag } from './output';
import type { Telemetry } from './otel';
import { AllowedSpans, threadAllowed } from './allowed';
import { OWN_FILE_PREFIXES } from './package-info';
import { CodedError } from './errors';
import { WATCH_OPTIONS, outputUnavailable, resolveWatchOptions } from './options';
import type { Naming, ResolvedOptions, WatchMode, WatchOptions } from './options';
import { claim, makeWay, release } from './registry';
import { Delivery, loggerProviderRegistered, meterProviderRegistered } from './delivery';
import type { DeliveryHooks, Moment } from './delivery';

export type { WatchMode, WatchOptions } from './options';

// Loaded at the first report (the builder inside the own-work window that builds it), not at
// watch(): a watched process that never blocks does not compile it. A load that fails there (a
// package replaced under a running process) is one build failure, said like any other.
const buildReport: typeof import('./report').buildReport = (...args) =>
  (require('./report') as typeof import('./report')).buildReport(...args);
const loadTelemetry = (): typeof Telemetry => (require('./otel') as typeof import('./otel')).Telemetry;

/** Frames copied per sample. */
const MAX_FRAMES = 64;
/** Reports the native side keeps for JS; beyond that they are counted and the count is said. */
const MAX_QUEUED_REPORTS = 256;
/** Samples per block: one at the crossing, then one per threshold, so a 1 s block at 20 ms has 50. */
const MAX_SAMPLES = 50;

export interface Watcher extends Disposable {
  readonly thresholdMs: number;
  readonly mode: WatchMode;
  /** True until stop(). */
  readonly active: boolean;
  /** Stops and joins the watchdog thread; delivers any report still pending. Idempotent. */
  stop(): void;
  /**
   * Until resume(), blocks on this thread are allowed (a known migration, a nightly rebuild): counted
   * in `allowedBlocks`, never reported, never said live or aborted. A block is allowed when half its
   * time or more fell between pause() and resume(). Idempotent.
   */
  pause(): void;
  /** Ends pause(). Idempotent. */
  resume(): void;
  /** Blocks not reported because they ran under pause() or allowBlocking(). */
  readonly allowedBlocks: number;
}

/** @internal What the register preload and the test-runner helpers plug into a watcher. */
export interface WatchHooks extends DeliveryHooks {
  /** Sees each block that was allowed (pause(), allowBlocking()) instead of reported. */
  allowed?: ((durationMs: number) => void) | undefined;
  /** The preload's watcher: a later watch() on the same thread stops it instead of failing. */
  yieldToWatch?: boolean | undefined;
  /** Where the options came from (BLOCKBUSTER_* variables for the preload): how an error names them. */
  naming?: Naming | undefined;
}

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
  const resolved = resolveWatchOptions(options, hooks.naming);
  makeWay();
  const binding = loadBinding();
  if (binding.isWatching()) {
    throw new CodedError(
      'ERR_BLOCKBUSTER_ALREADY_WATCHING',
      'watch(): this thread is already watched; stop() the existing watcher first',
    );
  }
  const watcher = new NativeWatcher(resolved, hooks, binding);
  claim(watcher, hooks.yieldToWatch === true);
  return watcher;
}

/**
 * One native watchdog and its reports: take (from the native queue), build (a BlockingError), hand
 * to the delivery policy, flush at exit, stop.
 */
class NativeWatcher implements InternalWatcher {
  readonly thresholdMs: number;
  readonly mode: WatchMode;
  #active = true;
  readonly #options: ResolvedOptions;
  readonly #hooks: WatchHooks;
  readonly #binding: NativeBinding;
  readonly #sink: ReportSink;
  readonly #delivery: Delivery;
  readonly #thread: ThreadInfo = currentThread();
  readonly #recorder: CallSiteRecorder;
  readonly #contextSlots: AsyncContextSlots | undefined;
  readonly #onExit = (): void => this.#flushAtExit();
  #telemetry: Telemetry | undefined;
  readonly #paused = new AllowedSpans();
  readonly #unlisten: (() => void)[] = [];
  #allowedBlocks = 0;
  #parking = false;
  #ownDepth = 0;

  constructor(options: ResolvedOptions, hooks: WatchHooks, binding: NativeBinding) {
    this.#options = options;
    this.#hooks = hooks;
    this.#binding = binding;
    this.thresholdMs = options.thresholdMs;
    this.mode = options.mode;
    try {
      this.#sink = new ReportSink(options);
    } catch (error) {
      throw outputUnavailable(hooks.naming ?? WATCH_OPTIONS, options.output, error);
    }
    const startOptions = this.#nativeOptions();
    // Installed before the thread starts: wrapping the APIs is start-up work, not a block to report.
    this.#recorder = new CallSiteRecorder(
      new Int32Array(startOptions.sharedFlags),
      this.#thread.threadId === 0 ? undefined : () => this.#deliverBeforePark(),
      (name) => binding.apiId?.(name) ?? 0,
    );
    this.#recorder.install();
    // Loaded only for a watcher with a context: one module less at every other watch().
    this.#contextSlots =
      options.context &&
      new (require('./async-context') as typeof import('./async-context')).AsyncContextSlots(options.context);
    // The exporter loads only when an SDK has registered a provider. Before the thread starts: loading
    // the OpenTelemetry API for metrics is start-up work, not a block to report.
    if (meterProviderRegistered()) this.#telemetry = loadTelemetry().start();
    this.#delivery = new Delivery({
      options,
      hooks,
      sink: this.#sink,
      telemetry: { report: (error) => this.#reportTelemetry(error) },
      ownWork: (work) => this.#ownWork(work),
    });
    try {
      // A call queued before stop() may arrive after it, even after a new watch(): not ours then.
      binding.start(startOptions, () => {
        if (this.#active) this.#delivery.guarded(() => this.#deliverPending(false, 'now'));
      });
    } catch (error) {
      this.#telemetry?.stop();
      this.#recorder.uninstall();
      this.#contextSlots?.dispose();
      this.#sink.close();
      throw error;
    }
    // Live lines and report lines spend one budget (a binary from before it has none).
    if (typeof binding.takeReportSlot === 'function') this.#sink.useBudget(() => binding.takeReportSlot());
    // The watchdog knows while the thread is allowed to block: it says no live line, aborts nothing.
    const tellAllowed = (): void => binding.setAllowed?.(threadAllowed.isOpen || this.#paused.isOpen);
    this.#unlisten.push(threadAllowed.listen(tellAllowed), this.#paused.listen(tellAllowed));
    tellAllowed();
    process.on('exit', this.#onExit);
  }

  // A logger provider registered after watch() gets the next report; metrics needed theirs before it.
  #reportTelemetry(error: BlockingError): void {
    if (this.#telemetry === undefined && loggerProviderRegistered()) this.#telemetry = loadTelemetry().start(false);
    this.#telemetry?.report(error);
  }

  get active(): boolean {
    return this.#active;
  }

  get allowedBlocks(): number {
    return this.#allowedBlocks;
  }

  pause(): void {
    if (this.#active && !this.#paused.isOpen) this.#paused.open();
  }

  resume(): void {
    if (this.#paused.isOpen) this.#paused.close();
  }

  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    release(this);
    process.removeListener('exit', this.#onExit);
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    const errors = this.#takeAndBuild(true);
    this.#binding.stop();
    this.#recorder.uninstall();
    this.#contextSlots?.dispose();
    try {
      for (const error of errors) this.#delivery.deliver(error, 'now');
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

  // A worker about to park in Atomics.wait (a pool's, between tasks): its loop will not turn to take
  // the task's report, so it is taken here, ending the block where the task ended. Whoever takes a
  // report from the native queue delivers it: the loop's callback later finds it gone.
  #deliverBeforePark(): void {
    if (!this.#active || this.#parking) return;
    this.#parking = true;
    try {
      // All of it is blockbuster's work, the lines and the channel too: on a starved machine a
      // delivery can outlast the threshold, and it must not come back as the worker's own block.
      this.#delivery.guarded(() => this.#ownWork(() => this.#deliverPending(true, 'now')));
    } finally {
      this.#parking = false;
    }
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
      // The live line names the user's code, as the report does: not Node's, a dependency's or ours.
      internalFilePrefixes: [...INTERNAL_FILES.prefixes, ...OWN_FILE_PREFIXES],
      internalFileParts: INTERNAL_FILES.parts,
      sampleIntervalMs: options.thresholdMs,
      maxSamples: MAX_SAMPLES,
      // On the main thread waiting is a block; a pool worker parked for work is idle.
      atomicsWaitIsIdle: this.#thread.threadId !== 0,
      threadTag: threadTag(this.#thread),
      threadId: this.#thread.threadId,
      pid: process.pid,
      schemaVersion: SCHEMA_VERSION,
      maxReportsPerMinute: options.maxReportsPerMinute,
      sharedFlags: new ArrayBuffer(CallSiteRecorder.FLAGS_BYTES),
    };
  }

  // blockbuster's own work (an SDK's first log record can take tens of ms): never reported as a block.
  // Nested brackets (a delivery before a park holds the building and onBlock) end at the outermost.
  #ownWork<T>(work: () => T): T {
    if (this.#ownDepth++ === 0) this.#binding.ownWork(true);
    try {
      return work();
    } finally {
      if (--this.#ownDepth === 0) this.#binding.ownWork(false);
    }
  }

  #deliverPending(finishActive: boolean, moment: Moment): void {
    for (const error of this.#takeAndBuild(finishActive)) this.#delivery.deliver(error, moment);
  }

  // Taking and building reports is blockbuster's own work: the watchdog never reports it.
  #takeAndBuild(finishActive: boolean): BlockingError[] {
    return this.#ownWork(() => {
      const errors = this.#take(finishActive).flatMap((raw) => this.#build(raw));
      // Modules the program loaded since (zlib, child_process and so on) are tracked from now on.
      this.#recorder.refresh();
      return errors;
    });
  }

  #take(finishActive: boolean): RawReport[] {
    const taken = this.#binding.takeReports(finishActive);
    // Nothing while the thread's environment closes: the native side wrote them.
    if (taken === undefined) return [];
    if (taken.dropped > 0) this.#sink.writeDropped(taken.dropped);
    return taken.reports;
  }

  #build(raw: RawReport): BlockingError[] {
    if (this.#allowed(raw)) return [];
    try {
      const context = this.#contextSlots?.take(raw.samples.map((sample) => sample.key));
      return [buildReport(raw, this.#options.thresholdMs, this.#thread, (key) => this.#recorder.find(key), context)];
    } catch (buildError) {
      // Diagnostics never throw into the host; strict mode surfaces the bug.
      this.#delivery.buildFailed(raw.durationMs, buildError);
      return [];
    }
  }

  // Half the block or more under allowBlocking() or pause(): counted, not reported.
  #allowed(raw: RawReport): boolean {
    const { startMs, durationMs } = raw;
    if (startMs === undefined) return false;
    if (!threadAllowed.covers(startMs, durationMs) && !this.#paused.covers(startMs, durationMs)) return false;
    this.#allowedBlocks++;
    this.#delivery.guarded(() => this.#hooks.allowed?.(durationMs));
    return true;
  }
}

// The delivery policy: where each built report goes (hooks, channel, OpenTelemetry, onBlock or the
// output), when strict mode fails the process, and how a failure of any stage is said. Plain
// objects in, no addon: the watcher (lib/watch.ts) hands it reports; the output's rate limit and
// the native queue's bound sit before it.
import type { BlockingError } from './blocking-error';
import { describeThrown, readableReport } from './output';
import type { ReportSink } from './output';
import type { WatchMode } from './options';

// Loaded at the first report, not at watch(): a watched process that never blocks does not compile it.
const publishReport: typeof import('./channels').publishReport = (...args) =>
  (require('./channels') as typeof import('./channels')).publishReport(...args);

// Where an OpenTelemetry SDK registers its providers (@opentelemetry/api 1.x and api-logs keep them on
// globalThis): the exporter (lib/otel.ts) is loaded only once one is there.
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');
const LOGS_GLOBAL = Symbol.for('io.opentelemetry.js.api.logs');

export function meterProviderRegistered(): boolean {
  const api = (globalThis as Record<symbol, { metrics?: unknown } | undefined>)[API_GLOBAL];
  return api?.metrics !== undefined;
}

export function loggerProviderRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[LOGS_GLOBAL] !== undefined;
}

/** When a report is delivered: while the process runs, or from its exit handler (strict mode then sets the exit code). */
export type Moment = 'now' | 'at-exit';

export interface DeliveryOptions {
  readonly mode: WatchMode;
  readonly onBlock: ((error: BlockingError) => void) | undefined;
  readonly failOnStartup: boolean;
  /** Said on the channel with each report (0 = no live line). */
  readonly liveReportAfterMs: number;
}

/** @internal What the register preload and the test-runner helpers plug into delivery. */
export interface DeliveryHooks {
  /** Sees every report before it is delivered (the CLI's summary). */
  observe?: ((error: BlockingError) => void) | undefined;
  /** Takes a strict-mode failure instead of the uncaught throw; false leaves it to watch(). */
  fail?: ((error: BlockingError, atExit: boolean) => boolean) | undefined;
}

/** The lines delivery writes: a ReportSink, or any object with these methods. */
export type DeliverySink = Pick<ReportSink, 'write' | 'writeStartup' | 'writeLine'>;

export interface DeliveryParts {
  readonly options: DeliveryOptions;
  readonly hooks: DeliveryHooks;
  readonly sink: DeliverySink;
  /** The OpenTelemetry exporter, when an SDK is registered. */
  readonly telemetry: { report(error: BlockingError): void } | undefined;
  /** Runs blockbuster's own work (onBlock, the exporter) so that the watchdog never reports it. */
  readonly ownWork: <T>(work: () => T) => T;
}

export class Delivery {
  readonly #parts: DeliveryParts;

  constructor(parts: DeliveryParts) {
    this.#parts = parts;
  }

  // Each stage is guarded: a subscriber, a hook or an exporter that throws never costs the line.
  deliver(error: BlockingError, moment: Moment): void {
    const { options, hooks, sink, telemetry, ownWork } = this.#parts;
    this.guarded(() => hooks.observe?.(error));
    this.guarded(() => publishReport(error, options.liveReportAfterMs));
    if (telemetry !== undefined) this.guarded(() => ownWork(() => telemetry.report(error)));
    const fails = options.mode === 'strict' && (error.phase === 'loop' || options.failOnStartup);
    if (options.onBlock) {
      const onBlock = options.onBlock;
      // The callback is blockbuster's work too: one that blocks must not be reported back to itself.
      ownWork(() => {
        try {
          onBlock(error);
        } catch (callbackError) {
          if (options.mode === 'strict') {
            this.surface(callbackError, moment);
          } else {
            // The report onBlock could not take still reaches the output.
            this.guarded(() => {
              sink.writeLine(`blockbuster: onBlock threw: ${describeThrown(callbackError)}`);
              sink.write(error);
            });
          }
        }
      });
    } else if (error.phase === 'startup' && !fails) {
      this.guarded(() => sink.writeStartup(error));
    } else if (options.mode === 'diagnostics') {
      this.guarded(() => sink.write(error));
    }
    if (fails && hooks.fail?.(error, moment === 'at-exit') !== true) this.#fail(error, moment);
  }

  /** A report that could not be built: diagnostics say so, strict mode surfaces the bug. */
  buildFailed(durationMs: number, buildError: unknown): void {
    if (this.#parts.options.mode === 'strict') return this.surface(buildError, 'now');
    this.#parts.sink.writeLine(
      `blockbuster: could not build the report of a ${Math.round(durationMs)} ms block: ${describeThrown(buildError)}`,
    );
  }

  // Delivery never throws into the native callback (an abort under
  // --force-node-api-uncaught-exceptions-policy): a failure is said, or surfaced in strict mode.
  guarded(work: () => void): void {
    try {
      work();
    } catch (thrown) {
      if (this.#parts.options.mode === 'strict') {
        this.surface(thrown, 'now');
        return;
      }
      try {
        this.#parts.sink.writeLine(`blockbuster: could not deliver a report: ${describeThrown(thrown)}`);
      } catch {
        // The sink reports its own failures once; nothing is left to tell.
      }
    }
  }

  // Thrown from the native callback that delivers reports, an error is lost (Node-API only warns,
  // DEP0168): it is rethrown from a tick of its own, or said at exit where no tick runs.
  surface(thrown: unknown, moment: Moment): void {
    if (moment === 'at-exit') {
      this.#parts.sink.writeLine(...`blockbuster: ${describeThrown(thrown, true)}`.split('\n'));
      failExit();
      return;
    }
    process.nextTick(() => {
      throw thrown;
    });
  }

  #fail(error: BlockingError, moment: Moment): void {
    if (moment === 'at-exit') {
      this.#parts.sink.writeLine(...readableReport(error).split('\n'));
      failExit();
      return;
    }
    error.stack = readableReport(error);
    process.nextTick(() => {
      throw error; // blockbuster strict mode: the event loop was blocked; the report follows.
    });
  }
}

// A failing host keeps its own exit code; strict mode only fails a clean exit.
function failExit(): void {
  if (process.exitCode === undefined || Number(process.exitCode) === 0) process.exitCode = 1;
}

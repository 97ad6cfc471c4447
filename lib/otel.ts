// OpenTelemetry from the optional peer dependencies: each report as a log record (when
// @opentelemetry/api-logs is installed and a logger provider is registered) and block metrics plus
// loop-delay gauges (when @opentelemetry/api is installed and a meter provider is registered).
// Nothing is loaded otherwise: with no SDK the APIs (about 50 modules) only hand out no-ops.
import type { IntervalHistogram } from 'node:perf_hooks';
import type { BlockingError } from './blocking-error';
import { loggerProviderRegistered, meterProviderRegistered } from './delivery';
import { displayPath } from './frame';
import { packageVersion } from './package-info';

type OtelApi = typeof import('@opentelemetry/api');
type OtelLogsApi = typeof import('@opentelemetry/api-logs');
type Counter = import('@opentelemetry/api').Counter;
type Histogram = import('@opentelemetry/api').Histogram;
type ObservableGauge = import('@opentelemetry/api').ObservableGauge;
type ObservableCallback = import('@opentelemetry/api').ObservableCallback;
type Attributes = import('@opentelemetry/api').Attributes;

const SCOPE = 'blockbuster';
/** Distinct culprits given their own counter attribute; the rest are counted as `other`. */
export const MAX_CULPRITS = 50;

// undefined: not looked for yet; null: not installed.
let apiModule: OtelApi | null | undefined;
let logsModule: OtelLogsApi | null | undefined;

function optional<T>(name: string): T | null {
  try {
    return require(name) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}

function culpritLabel(error: BlockingError): string {
  const c = error.culprit;
  if (c === undefined) return error.nativeModule !== undefined ? `native addon ${error.nativeModule}` : '(unknown)';
  return `${c.functionName || '<anonymous>'} (${displayPath(c.file)}:${c.line})`;
}

/** Semantic-convention names where they exist, `blockbuster.*` for the rest. */
export function logAttributes(error: BlockingError): Attributes {
  const attributes: Attributes = {
    'exception.type': error.name,
    'exception.message': error.message,
    'thread.id': error.threadId ?? 0,
    'thread.name': error.threadName ?? (error.threadId ? `worker ${error.threadId}` : 'main'),
    'blockbuster.source': error.source,
    'blockbuster.phase': error.phase,
  };
  const c = error.culprit;
  if (c !== undefined) {
    attributes['code.function.name'] = c.functionName;
    attributes['code.file.path'] = c.file;
    attributes['code.line.number'] = c.line;
    attributes['code.column.number'] = c.column;
  }
  if (error.durationMs !== undefined) attributes['blockbuster.duration_ms'] = error.durationMs;
  if (error.thresholdMs !== undefined) attributes['blockbuster.threshold_ms'] = error.thresholdMs;
  if (error.state !== undefined) attributes['blockbuster.state'] = error.state;
  if (error.blockingCall !== undefined) attributes['blockbuster.blocking_call'] = error.blockingCall;
  return attributes;
}

interface Instruments {
  duration: Histogram;
  blocks: Counter;
  delay: ObservableGauge;
}

// One set per meter provider: a second watch() reuses them (the SDK would warn of duplicates).
const instrumentsByProvider = new WeakMap<object, Instruments>();

/** A running watcher's telemetry. */
export class Telemetry {
  readonly #instruments: Instruments | undefined;
  readonly #culprits = new Set<string>();
  readonly #delay: IntervalHistogram | undefined;
  readonly #observe: ObservableCallback | undefined;

  private constructor(api: OtelApi | null) {
    const provider = api?.metrics.getMeterProvider();
    const meter = provider?.getMeter(SCOPE, packageVersion());
    // A meter from the no-op provider: no SDK registered, no histogram to run.
    if (
      api == null ||
      provider === undefined ||
      meter === undefined ||
      meter instanceof api.createNoopMeter().constructor
    )
      return;
    let instruments = instrumentsByProvider.get(provider);
    if (instruments === undefined) {
      instruments = {
        duration: meter.createHistogram('blockbuster.block.duration', {
          unit: 'ms',
          description: 'Duration of each event-loop block over the threshold',
        }),
        blocks: meter.createCounter('blockbuster.blocks', {
          description: 'Event-loop blocks over the threshold, by culprit',
        }),
        delay: meter.createObservableGauge('blockbuster.event_loop.delay', {
          unit: 'ms',
          description: 'Event-loop delay percentiles since the last collection',
        }),
      };
      instrumentsByProvider.set(provider, instruments);
    }
    this.#instruments = instruments;
    const { monitorEventLoopDelay } = require('node:perf_hooks') as typeof import('node:perf_hooks');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    this.#delay = delay;
    this.#observe = (result) => {
      if (delay.count === 0) return;
      const ms = (ns: number): number => ns / 1e6;
      for (const p of [50, 90, 99]) result.observe(ms(delay.percentile(p)), { 'blockbuster.percentile': `p${p}` });
      result.observe(ms(delay.max), { 'blockbuster.percentile': 'max' });
      delay.reset();
    };
    instruments.delay.addCallback(this.#observe);
  }

  /**
   * Metrics need a meter provider registered before watch(); logs are looked for at each report.
   * `metrics: false`: a watcher started without a meter provider, that a logger provider came to later.
   */
  static start(metrics = true): Telemetry {
    if (!metrics) return new Telemetry(null);
    if (apiModule === undefined && meterProviderRegistered()) apiModule = optional<OtelApi>('@opentelemetry/api');
    return new Telemetry(apiModule ?? null);
  }

  report(error: BlockingError): void {
    try {
      this.#record(error);
    } catch {
      // Telemetry is a copy of the report: a failing SDK must not fail the host nor lose the line.
    }
  }

  #record(error: BlockingError): void {
    // Looked up per report: a provider registered after watch() is used too (the SDK caches loggers).
    if (logsModule === undefined && loggerProviderRegistered()) {
      logsModule = optional<OtelLogsApi>('@opentelemetry/api-logs');
    }
    const logs = logsModule;
    if (logs != null) {
      logs.logs.getLogger(SCOPE, packageVersion()).emit({
        timestamp: new Date(error.time),
        severityNumber: logs.SeverityNumber.WARN,
        severityText: 'WARN',
        body: error.message,
        attributes: logAttributes(error),
      });
    }
    const instruments = this.#instruments;
    if (instruments === undefined || error.source !== 'watchdog') return;
    let culprit = culpritLabel(error);
    // Bounded cardinality: the first MAX_CULPRITS culprits by name, then `other`.
    if (!this.#culprits.has(culprit)) {
      if (this.#culprits.size < MAX_CULPRITS) this.#culprits.add(culprit);
      else culprit = 'other';
    }
    const attributes: Attributes = { 'blockbuster.phase': error.phase, 'blockbuster.state': error.state ?? 'js' };
    if (error.durationMs !== undefined) instruments.duration.record(error.durationMs, attributes);
    instruments.blocks.add(1, {
      ...attributes,
      'blockbuster.culprit': culprit,
      'blockbuster.blocking_call': error.blockingCall ?? '',
    });
  }

  stop(): void {
    if (this.#observe !== undefined) this.#instruments?.delay.removeCallback(this.#observe);
    this.#delay?.disable();
  }
}

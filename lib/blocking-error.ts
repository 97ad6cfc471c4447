import { SCHEMA_VERSION, currentThreadId, hostname } from './schema';
import type { LineKind } from './schema';

export { SCHEMA_VERSION };

import type { StackFrame } from './frame';
export type { StackFrame } from './frame';

/** What the main thread was doing when the watchdog looked at it. */
export type BlockState = 'js' | 'native' | 'gc' | 'atomics-wait';

/** Which detector produced the error. */
export type BlockingErrorSource = 'watchdog' | 'rule';

/** `startup`: the block began before the event loop first turned (the entry's synchronous top level). */
export type BlockPhase = 'startup' | 'loop';

/** Samples of one block: how many, how many named the answer, their share of the time (0-1). */
export interface SampleCounts {
  total: number;
  dominant: number;
  share?: number;
  /** What sampling cost: the watchdog's CPU, the signal handler's and the interrupts' time. */
  costMs?: number;
}

/** The thread's CPU clock over a block (see BlockingErrorInit.cpu). */
export interface CpuUse {
  ranMs: number;
  ofMs: number;
  starved: boolean;
  waitedForCpuMs?: number;
  throttled?: { periods: number; ms: number };
}

export interface BlockingErrorInit {
  source: BlockingErrorSource;
  message: string;
  frames: readonly StackFrame[];
  culprit?: StackFrame | undefined;
  blockingCall?: string | undefined;
  durationMs?: number | undefined;
  thresholdMs?: number | undefined;
  state?: BlockState | undefined;
  /** Delay between asking V8 for the stack and getting it, in ms (watchdog only). */
  captureDelayMs?: number | undefined;
  /** Part of the block spent in garbage collection, in ms (watchdog only). */
  gcMs?: number | undefined;
  /** The thread that blocked: `worker_threads.threadId` (0 = main). */
  threadId?: number | undefined;
  /** The worker's name (`new Worker(file, { name })`), where Node has it (22+). */
  threadName?: string | undefined;
  /** The native addon the thread was inside, when the watchdog saw one on its native stack. */
  nativeModule?: string | undefined;
  /** How many samples the watchdog took, how many named the culprit, and the share of the
   * block's time they stand for (watchdog only). */
  samples?: SampleCounts | undefined;
  /** The syscall the thread slept, waited or did I/O in, and its file (watchdog only). */
  syscall?: { name: string; file?: string } | undefined;
  /** The thread's CPU time over (nearly) the whole block; `starved` when it ran less than
   * half of it without sleeping or waiting: then no code is blamed (watchdog only). */
  cpu?: CpuUse | undefined;
  /** The watched AsyncLocalStorage's value in the callback that blocked (watch({ context })). */
  context?: unknown | undefined;
  /** What the first sample (at the threshold crossing) named, when it differs from the answer. */
  firstSample?:
    { culprit: StackFrame | undefined; blockingCall: string | undefined; frames: readonly StackFrame[] } | undefined;
  /** Default `loop`. */
  phase?: BlockPhase | undefined;
}

/**
 * The one rule for "not the user's code", shared with the native lines: a file starting with one
 * of the prefixes (Node's own modules) or containing one of the parts (a dependency).
 */
export const INTERNAL_FILES = {
  prefixes: ['node:', 'internal/', 'internal\\'],
  parts: ['/node_modules/', '\\node_modules\\'],
} as const;

/** True for a frame in the user's own code: not Node internals, not a dependency. */
export function isUserFrame(frame: StackFrame): boolean {
  const { file } = frame;
  return (
    file !== '' &&
    !INTERNAL_FILES.prefixes.some((p) => file.startsWith(p)) &&
    !INTERNAL_FILES.parts.some((p) => file.includes(p))
  );
}

/** `fn (file:line:col)`: the way stack traces name a frame. */
export function formatFrame(frame: StackFrame): string {
  const where = frame.file === '' ? '<anonymous>' : `${frame.file}:${frame.line}:${frame.column}`;
  return frame.functionName === '' ? where : `${frame.functionName} (${where})`;
}

/** BlockingError#toJSON(): one line of kind `block` (watchdog) or `rule`. */
export interface BlockingErrorJSON {
  schemaVersion: number;
  kind: Extract<LineKind, 'block' | 'rule'>;
  time: string;
  pid: number;
  hostname: string;
  name: string;
  message: string;
  source: BlockingErrorSource;
  durationMs: number | undefined;
  thresholdMs: number | undefined;
  state: BlockState | undefined;
  blockingCall: string | undefined;
  culprit: StackFrame | undefined;
  captureDelayMs: number | undefined;
  gcMs: number | undefined;
  threadId: number;
  threadName: string | undefined;
  nativeModule: string | undefined;
  samples: SampleCounts | undefined;
  syscall: BlockingErrorInit['syscall'];
  cpu: CpuUse | undefined;
  firstSample: BlockingErrorInit['firstSample'];
  phase: BlockPhase;
  context: unknown;
  frames: readonly StackFrame[];
}

/**
 * The one error type of blockbuster: thrown by the rule set at a blocking call, and built by the
 * watchdog from the frames it sampled while the loop was blocked.
 */
export class BlockingError extends Error {
  // Declared, not initialised: the constructor defines them non-enumerable, so that Node's printing
  // of an uncaught BlockingError (util.inspect) shows the readable stack, not an object dump.
  declare readonly source: BlockingErrorSource;
  declare readonly frames: readonly StackFrame[];
  declare readonly culprit: StackFrame | undefined;
  declare readonly blockingCall: string | undefined;
  declare readonly durationMs: number | undefined;
  declare readonly thresholdMs: number | undefined;
  declare readonly state: BlockState | undefined;
  declare readonly captureDelayMs: number | undefined;
  declare readonly gcMs: number | undefined;
  declare readonly threadId: number | undefined;
  declare readonly threadName: string | undefined;
  declare readonly nativeModule: string | undefined;
  declare readonly samples: SampleCounts | undefined;
  declare readonly syscall: BlockingErrorInit['syscall'];
  declare readonly cpu: CpuUse | undefined;
  declare readonly firstSample: BlockingErrorInit['firstSample'];
  declare readonly context: unknown;
  declare readonly phase: BlockPhase;
  /** When the error was built (the block's report) or thrown (a rule), ISO 8601 UTC. */
  declare readonly time: string;

  constructor(init: BlockingErrorInit) {
    super(init.message);
    const fields: Record<string, unknown> = {
      source: init.source,
      frames: Object.freeze(init.frames.map((frame) => Object.freeze({ ...frame }))),
      culprit: init.culprit,
      blockingCall: init.blockingCall,
      durationMs: init.durationMs,
      thresholdMs: init.thresholdMs,
      state: init.state,
      captureDelayMs: init.captureDelayMs,
      gcMs: init.gcMs,
      threadId: init.threadId ?? currentThreadId(),
      threadName: init.threadName,
      nativeModule: init.nativeModule,
      samples: init.samples,
      syscall: init.syscall,
      cpu: init.cpu,
      firstSample: init.firstSample,
      context: init.context,
      phase: init.phase ?? 'loop',
      time: new Date().toISOString(),
    };
    for (const [key, value] of Object.entries(fields)) {
      Object.defineProperty(this, key, { value, enumerable: false, writable: false, configurable: true });
    }
    // The stack names the blocking code, not blockbuster.
    this.stack = [`${this.name}: ${this.message}`, ...this.frames.map((f) => `    at ${formatFrame(f)}`)].join('\n');
  }

  /** Whether `value` is a BlockingError of any installed copy of blockbuster (their brand is shared). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass keeps the ordinary prototype check: only the base class is shared across copies.
    if (this !== BlockingError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Exactly the object written as a JSON line (schema/report.schema.json, kind `block` or `rule`). */
  toJSON(): BlockingErrorJSON {
    return {
      schemaVersion: SCHEMA_VERSION,
      kind: this.source === 'rule' ? 'rule' : 'block',
      time: this.time,
      pid: process.pid,
      hostname: hostname(),
      threadId: this.threadId ?? 0,
      name: this.name,
      message: this.message,
      source: this.source,
      durationMs: this.durationMs,
      thresholdMs: this.thresholdMs,
      state: this.state,
      blockingCall: this.blockingCall,
      culprit: this.culprit,
      captureDelayMs: this.captureDelayMs,
      gcMs: this.gcMs,
      threadName: this.threadName,
      nativeModule: this.nativeModule,
      samples: this.samples,
      syscall: this.syscall,
      cpu: this.cpu,
      firstSample: this.firstSample,
      phase: this.phase,
      context: this.context,
      frames: this.frames,
    };
  }
}

const BRAND = Symbol.for('blockbuster.BlockingError');
// The brand every copy of the package puts on its prototype: `instanceof` works across copies.
Object.defineProperty(BlockingError.prototype, BRAND, { value: true });

// On the prototype, so that it is not an own enumerable property of every error either.
Object.defineProperty(BlockingError.prototype, 'name', { value: 'BlockingError', writable: true, configurable: true });

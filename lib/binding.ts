// The only file that loads the native addon.
import * as path from 'node:path';

/** A frame as the native side copied it out of V8. */
export interface RawFrame {
  functionName: string;
  file: string;
  line: number;
  column: number;
}

/** One look at the thread during a block. */
export interface RawSample {
  /** Shared with the call-site recorder: its record for this sample has the same key. */
  key: number;
  /** The sample whose interrupt brings this one's JS stack (itself, or an earlier one still
   * outstanding: the thread has not run JS since). */
  stackKey: number;
  /** When it was taken, from the block's start. */
  atMs: number;
  /** From the request to V8 running the interrupt; undefined when it never ran during the block. */
  captureDelayMs: number | undefined;
  /** GC time between the request and the capture: GC holds interrupts back too. */
  captureGcMs: number;
  /** What V8 said the thread was doing (sampled from a signal). */
  vmState: 'js' | 'gc' | 'compiler' | 'other' | 'external' | 'atomics-wait' | 'idle' | 'unknown';
  /** A Node API the recorder tracks was running. */
  inTrackedCall: boolean;
  /** The native addon on the thread's native stack, if any (`/path/x.node` or `…!symbol`). */
  nativeModule?: string;
  /** Empty unless this sample asked for the interrupt (stackKey === key). */
  frames: RawFrame[];
}

/** One block as measured by the watchdog thread. */
export interface RawReport {
  id: number;
  durationMs: number;
  detectionDelayMs: number;
  gcMs: number;
  /** The block began before the loop's first iteration under this watcher: start-up code. */
  startup: boolean;
  /** At the threshold crossing, then every sampleIntervalMs (bounded by maxSamples). */
  samples: RawSample[];
}

/** Every option is required: the defaults live in lib/watch.ts only. */
export interface NativeStartOptions {
  thresholdMs: number;
  /** 0 = no native "still blocked" line. */
  hangReportMs: number;
  /** 0 = never abort. */
  abortAfterMs: number;
  outputFd: number;
  maxFrames: number;
  /** Reports kept for JS before the rest are only counted. */
  maxQueued: number;
  sampleIntervalMs: number;
  maxSamples: number;
  json: boolean;
  /** The internal-frame rule of lib/blocking-error.ts, for the native lines. */
  internalFilePrefixes: readonly string[];
  internalFileParts: readonly string[];
}

export interface NativeBinding {
  /** The Node ABI (process.versions.modules) this binary was built for. */
  readonly abi: number;
  /** Returns the memory shared with the call-site recorder (see lib/call-sites.ts). */
  start(options: NativeStartOptions, onReports: () => void): ArrayBuffer;
  stop(): void;
  takeReports(finishActive: boolean): { reports: RawReport[]; dropped: number };
  isWatching(): boolean;
  /** Brackets blockbuster's own work on this thread: it is never reported as a block. */
  ownWork(on: boolean): void;
}

type NodeGypBuild = (dir: string) => unknown;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as NodeGypBuild;

export const binding = load(path.join(__dirname, '..')) as NativeBinding;

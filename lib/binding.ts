// The only file that loads the native addon.
import * as path from 'node:path';

/** A frame as the native side copied it out of V8. */
export interface RawFrame {
  functionName: string;
  file: string;
  line: number;
  column: number;
}

/** One block as measured by the watchdog thread. */
export interface RawReport {
  id: number;
  durationMs: number;
  detectionDelayMs: number;
  captureDelayMs: number | undefined;
  /** GC time between the stack request and the capture: GC holds interrupts back too. */
  captureGcMs: number;
  gcMs: number;
  /** What V8 said the thread was doing at the threshold crossing (sampled from a signal). */
  vmState: 'js' | 'gc' | 'compiler' | 'other' | 'external' | 'atomics-wait' | 'idle' | 'unknown';
  /** The block began before the loop's first iteration under this watcher: start-up code. */
  startup: boolean;
  frames: RawFrame[];
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
  json: boolean;
  /** The internal-frame rule of lib/blocking-error.ts, for the native lines. */
  internalFilePrefixes: readonly string[];
  internalFileParts: readonly string[];
}

export interface NativeBinding {
  /** The Node ABI (process.versions.modules) this binary was built for. */
  readonly abi: number;
  start(options: NativeStartOptions, onReports: () => void): void;
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

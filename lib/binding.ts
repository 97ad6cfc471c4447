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
  inAtomicsWait: boolean;
  frames: RawFrame[];
}

export interface NativeStartOptions {
  thresholdMs: number;
  hangReportMs: number;
  abortAfterMs: number;
  outputFd: number;
  maxFrames: number;
  json: boolean;
}

export interface NativeBinding {
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

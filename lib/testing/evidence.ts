// The evidence rule of the test session: a block fails a test only when a sample saw the code the test
// runs (its own files, or modules it imports other than the runner's) with the thread on the CPU.
import type { BlockingError, StackFrame } from '../blocking-error';
import { ownFs } from '../apis/own-fs';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { openSync, readSync, closeSync } = ownFs;

// Captured at load, before the rule set or the call-site recorder wrap them: reading the clock is not the test's call.

/** Why a block is a warning and not the failure of a test. */
export type Excuse = 'no-sample' | 'runner' | 'loader' | 'unknown-caller' | 'starved';

// The runners' own packages and those that run their work (transform, module runner, pool, assertions).
const RUNNER_PACKAGE =
  /[\\/]node_modules[\\/](?:jest|jest-[^\\/]+|@jest[\\/][^\\/]+|babel-jest|expect|pretty-format|vitest|@vitest[\\/][^\\/]+|vite|vite-node|tinypool|tinyspy|rollup|@rollup[\\/][^\\/]+|mocha|blockbuster)[\\/]/;

/** A file of a test runner's own packages (node:test lives in Node's own modules). */
export function isRunnerFile(file: string): boolean {
  return RUNNER_PACKAGE.test(file);
}

// A dependency the test imports: in node_modules, not Node's own module and not the runner's.
function isDependencyFrame(frame: StackFrame): boolean {
  return (
    frame.file.includes('node_modules') &&
    !isRunnerFile(frame.file) &&
    !frame.file.startsWith('node:') &&
    !frame.file.startsWith('internal')
  );
}

/** A span of time that holds the block: its wall time and how much of it the thread spent waiting for a CPU. */
export interface ThreadWindow {
  wallMs: number;
  runQueueMs: number;
}

export interface BlockFacts {
  /** Since before the block began, where the kernel tells the thread's run-queue wait. */
  window: ThreadWindow | undefined;
  /** Frames of code the runner runs for the test but is not the test's (jest's module loading). */
  isLoaderFrame: (file: string) => boolean;
}

/**
 * Undefined when the report shows the test's own code (or a module it imports) blocking on the CPU;
 * otherwise what the block lacked to be the test's.
 */
export function excuseOf(error: BlockingError, facts: BlockFacts): Excuse | undefined {
  const evidence = evidenceOf(error, facts);
  if (evidence !== undefined) return evidence;
  return wasStarved(error, facts.window) ? 'starved' : undefined;
}

function evidenceOf(error: BlockingError, facts: BlockFacts): Excuse | undefined {
  if (error.frames.some((f) => facts.isLoaderFrame(f.file))) return 'loader';
  // The culprit is a frame of the user's code that a prompt sample (or the call-site recorder) saw.
  if (error.culprit !== undefined) return undefined;
  // An addon the code loaded, seen on the thread's native stack.
  if (error.nativeModule !== undefined && !isRunnerFile(error.nativeModule)) return undefined;
  if (error.frames.length === 0) return 'no-sample';
  // Frames without a culprit from a late sample show whatever ran after the native call.
  if (error.state === 'native') return 'unknown-caller';
  // A prompt sample in a dependency the runner did not call: a module the test imports.
  if (error.frames.some(isDependencyFrame) && !error.frames.some((f) => isRunnerFile(f.file))) return undefined;
  return 'runner';
}

// The thread ran less than a threshold's worth and spent the rest waiting for a CPU, not in its own sleeps.
function wasStarved(error: BlockingError, window: ThreadWindow | undefined): boolean {
  const thresholdMs = error.thresholdMs ?? 0;
  // The watchdog's measure of the thread's CPU over the block, where the report has one.
  const cpu = error.cpu;
  if (cpu !== undefined) return cpu.starved && cpu.ranMs < thresholdMs;
  // Without it: over a span holding the block, the thread ran or slept less than a threshold in all.
  return window !== undefined && window.wallMs - window.runQueueMs < thresholdMs;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * The calling thread's total run-queue wait in ms (Linux schedstat: time runnable but not running),
 * or undefined where the kernel does not say.
 */
export function runQueueWaitMs(): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(SCHEDSTAT, 'r');
    const buffer = Buffer.alloc(96);
    const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, null));
    const waitNs = Number(text.split(' ')[1]);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

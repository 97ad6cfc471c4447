import { executionAsyncId } from 'node:async_hooks';
import { isMainThread } from '../apis/builtins';

/**
 * Async id under which the entry script runs synchronously: 1 on the main thread (the bootstrap
 * context); a worker runs its script inside the message that delivers it, on its first resource (2).
 */
let startupAsyncId: number | undefined;

// `_exiting` is set by Node before 'exit' listeners run; the loop is over by then.
const proc = process as NodeJS.Process & { _exiting?: boolean };

/**
 * Depth of blockbuster's own work and of allowed calls in progress. A plain counter is enough to be
 * async-context-local: the wrapped functions are synchronous, so nothing from another async context
 * can run while it is raised, and callbacks scheduled meanwhile do not inherit it.
 */
let skipDepth = 0;

export function isSkipping(): boolean {
  return skipDepth !== 0;
}

export function enterSkip(): void {
  skipDepth++;
}

export function exitSkip(): void {
  skipDepth--;
}

/** Runs `fn` unchecked: blocking calls it makes are not inspected. */
export function skipping<T>(fn: () => T): T {
  skipDepth++;
  try {
    return fn();
  } finally {
    skipDepth--;
  }
}

/**
 * True once the entry script's synchronous start-up is over: in every callback, tick, promise
 * continuation, test body and worker callback; false during start-up and in 'exit' listeners.
 */
export function isLoopRunning(): boolean {
  startupAsyncId ??= isMainThread() ? 1 : 2;
  return executionAsyncId() !== startupAsyncId && proc._exiting !== true;
}

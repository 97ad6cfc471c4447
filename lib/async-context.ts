// watch({ context: als }): the value of an AsyncLocalStorage in the callback that blocked, read
// during the block. The addon's interrupt (src/stack_capture.cc) finds { storage, slots } on the
// global object under this symbol and writes the storage's value into slots[sample key].
import type { AsyncLocalStorage } from 'node:async_hooks';

const GLOBAL_KEY = Symbol.for('blockbuster.context');

export class AsyncContextSlots {
  readonly #slots: Record<number, unknown> = Object.create(null) as Record<number, unknown>;
  readonly #holder: object;

  constructor(storage: AsyncLocalStorage<unknown>) {
    this.#holder = Object.freeze({ storage, slots: this.#slots });
    Object.defineProperty(globalThis, GLOBAL_KEY, {
      value: this.#holder,
      configurable: true,
      enumerable: false,
      writable: false,
    });
  }

  /** The value of the first of these samples that saw one; all of theirs are forgotten. */
  take(keys: readonly number[]): unknown {
    let found: unknown;
    for (const key of keys) {
      if (!(key in this.#slots)) continue;
      if (found === undefined) found = this.#slots[key];
      delete this.#slots[key];
    }
    return found;
  }

  dispose(): void {
    const global = globalThis as unknown as Record<symbol, unknown>;
    if (global[GLOBAL_KEY] === this.#holder) delete global[GLOBAL_KEY];
  }
}

export function isAsyncLocalStorage(value: unknown): value is AsyncLocalStorage<unknown> {
  const { AsyncLocalStorage: Storage } = require('node:async_hooks') as typeof import('node:async_hooks');
  return value instanceof Storage;
}

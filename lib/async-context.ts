// watch({ context: als }): the value of an AsyncLocalStorage in the callback that blocked, read
// during the block. The addon's interrupt (src/async_context.cc) finds { storage, slots } on the
// global object under the contract's symbol and writes the storage's value into slots[sample key].
import type { AsyncLocalStorage } from 'node:async_hooks';
import { nativeConstants } from './binding';

export class AsyncContextSlots {
  readonly #slots: Record<number, unknown> = Object.create(null) as Record<number, unknown>;
  readonly #holder: object;
  readonly #globalKey: symbol;

  constructor(storage: AsyncLocalStorage<unknown>) {
    const holder = nativeConstants().contextHolder;
    this.#holder = Object.freeze({ [holder.storage]: storage, [holder.slots]: this.#slots });
    this.#globalKey = Symbol.for(holder.symbol);
    Object.defineProperty(globalThis, this.#globalKey, {
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
    if (global[this.#globalKey] === this.#holder) delete global[this.#globalKey];
  }
}

export function isAsyncLocalStorage(value: unknown): value is AsyncLocalStorage<unknown> {
  const { AsyncLocalStorage: Storage } = require('node:async_hooks') as typeof import('node:async_hooks');
  return value instanceof Storage;
}

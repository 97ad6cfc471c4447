// Known, accepted blocks in production (a start-up migration, a nightly rebuild): the time spans in
// which this thread may block. allowBlocking(fn) opens one while fn runs (until its promise
// settles); a watcher's pause() opens one until resume(). A block that spent half its time or more
// inside allowed spans is counted as allowed, not reported. Module state is per thread (each
// worker loads its own copy), as blocks are.

/** The clock the watchdog stamps blocks with (uv_hrtime), in milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

// Closed spans older than every pending report are forgotten; at most this many are kept.
const MAX_SPANS = 64;

export class AllowedSpans {
  readonly #closed: { from: number; to: number }[] = [];
  readonly #listeners = new Set<() => void>();
  #depth = 0;
  #openSince = 0;

  open(): void {
    if (this.#depth++ > 0) return;
    this.#openSince = nowMs();
    this.#changed();
  }

  close(): void {
    if (this.#depth === 0) return;
    if (--this.#depth > 0) return;
    if (this.#closed.length >= MAX_SPANS) this.#closed.shift();
    this.#closed.push({ from: this.#openSince, to: nowMs() });
    this.#changed();
  }

  get isOpen(): boolean {
    return this.#depth > 0;
  }

  /** Calls `listener` when the spans open or close (the watchdog then skips live lines and aborts). */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A watcher that cannot be told still judges the block by its spans when it is reported.
      }
    }
  }

  /** The block from `startMs` lasting `durationMs` spent half its time or more in allowed spans. */
  covers(startMs: number, durationMs: number): boolean {
    const endMs = startMs + durationMs;
    let inside = 0;
    const add = (from: number, to: number): void => {
      inside += Math.max(0, Math.min(to, endMs) - Math.max(from, startMs));
    };
    for (const span of this.#closed) add(span.from, span.to);
    if (this.#depth > 0) add(this.#openSince, Infinity);
    return durationMs > 0 && inside >= durationMs / 2;
  }
}

/** This thread's allowBlocking() spans, consulted by every watcher on the thread. */
export const threadAllowed = new AllowedSpans();

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Wraps `fn`: while it runs (for an async fn, until its promise settles) this thread may block.
 * Its blocks are counted as allowed, not reported. The runner helpers' allowBlocking has the same shape.
 */
export function allowBlocking<F extends (...args: never[]) => unknown>(fn: F): F {
  if (typeof fn !== 'function') throw new TypeError(`allowBlocking(fn): fn must be a function, got ${typeof fn}`);
  const wrapped = function (this: unknown, ...args: never[]): unknown {
    threadAllowed.open();
    let result: unknown;
    try {
      result = Reflect.apply(fn, this, args);
    } catch (error) {
      threadAllowed.close();
      throw error;
    }
    if (!isThenable(result)) {
      threadAllowed.close();
      return result;
    }
    let closed = false;
    const close = (): void => {
      if (!closed) threadAllowed.close();
      closed = true;
    };
    try {
      result.then(close, close);
    } catch {
      // A thenable whose then() throws: the span ends here; the caller gets the value it returned.
      close();
    }
    return result;
  };
  Object.defineProperty(wrapped, 'length', { value: fn.length });
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped as unknown as F;
}

// Names native blocks: while a watcher runs, the Node APIs that spend their time in C++ (the rule
// table's sync functions, JSON.parse/stringify) count how deep the thread is inside them in memory
// the watchdog thread reads. A sample taken inside one is marked; when the outermost call returns,
// its wrapper records the API and the JS stack that called it, which is the culprit the late V8
// interrupt cannot name (by then the caller has often returned).
import { syncBuiltinESMExports } from 'node:module';
import type { StackFrame } from './blocking-error';
import { defaultRules } from './rules/table';
import { captureCallSites, toStackFrame } from './rules/stack';

type AnyFunction = (...args: never[]) => unknown;

/** What a tracked call left for the samples taken while it ran. */
export interface CallSiteRecord {
  api: string;
  frames: StackFrame[];
}

interface KeyedRecord extends CallSiteRecord {
  /** The samples it answers: keys after the previous record's, up to this one's. */
  firstKey: number;
  lastKey: number;
}

interface Target {
  name: string;
  owner: Record<string, unknown>;
  key: string;
}

// Flags layout shared with src/watchdog.h (SharedFlags).
const DEPTH = 0;
const TRACKED_KEY = 1;
// Inside Atomics.wait: what V8's removed AtomicsWaitCallback told, for a worker parked for work.
const IN_ATOMICS_WAIT = 2;
// Records kept for reports not yet built: a few blocks' worth; older ones are dropped first.
const MAX_RECORDS = 512;
const MAX_FRAMES = 64;

// Only modules the process has loaded: wrapping must not load crypto, zlib or child_process.
function targets(): Target[] {
  const rules = defaultRules(true).map(({ name, owner, key }) => ({
    name,
    owner: owner as Record<string, unknown>,
    key,
  }));
  const json = JSON as unknown as Record<string, unknown>;
  return [
    ...rules,
    { name: 'JSON.parse', owner: json, key: 'parse' },
    { name: 'JSON.stringify', owner: json, key: 'stringify' },
  ];
}

export class CallSiteRecorder {
  /** Size of the memory shared with the watchdog (src/watchdog.h SharedFlags). */
  static readonly FLAGS_BYTES = 12;
  readonly #flags: Int32Array;
  readonly #records: KeyedRecord[] = [];
  #lastKey = 0;
  #active = false;
  readonly #installed: { target: Target; saved: PropertyDescriptor; wrapper: AnyFunction }[] = [];
  readonly #names = new Set<string>();

  constructor(flags: Int32Array) {
    this.#flags = flags;
  }

  install(): void {
    if (this.#active) return;
    this.#active = true;
    this.refresh();
  }

  /** Wraps what install() could not yet: modules loaded since (called before each report). */
  refresh(): void {
    if (!this.#active) return;
    let wrapped = false;
    for (const target of targets()) {
      if (this.#names.has(target.name)) continue;
      const saved = Object.getOwnPropertyDescriptor(target.owner, target.key);
      const original = target.owner[target.key];
      if (saved === undefined || typeof original !== 'function') continue;
      const wrapper = this.#wrap(target.name, original as AnyFunction);
      if (!replace(target, saved, wrapper)) continue;
      this.#installed.push({ target, saved, wrapper });
      this.#names.add(target.name);
      wrapped = true;
    }
    if (wrapped) syncBuiltinESMExports();
  }

  /** Puts the originals back; a wrapper someone wrapped over stays and passes calls through. */
  uninstall(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const { target, saved, wrapper } of this.#installed.splice(0)) {
      if (target.owner[target.key] === wrapper) Object.defineProperty(target.owner, target.key, saved);
    }
    this.#names.clear();
    syncBuiltinESMExports();
    this.#records.length = 0;
  }

  /** The record of the tracked call that was running when sample `key` was taken. */
  find(key: number): CallSiteRecord | undefined {
    return this.#records.find((record) => key >= record.firstKey && key <= record.lastKey);
  }

  #wrap(api: string, original: AnyFunction): AnyFunction {
    const flags = this.#flags;
    const recorder = this;
    const waits = api === 'Atomics.wait' ? 1 : 0;
    const wrapper = function (this: unknown): unknown {
      if (!recorder.#active) return Reflect.apply(original, this, arguments);
      flags[DEPTH]++;
      flags[IN_ATOMICS_WAIT] += waits;
      try {
        return Reflect.apply(original, this, arguments);
      } finally {
        flags[IN_ATOMICS_WAIT] -= waits;
        // The outermost tracked call names the API (readFileSync, not the readSync inside it).
        if (--flags[DEPTH] === 0 && flags[TRACKED_KEY] !== recorder.#lastKey) recorder.#record(api, wrapper);
      }
    };
    Object.defineProperties(wrapper, {
      name: { value: original.name, configurable: true },
      length: { value: original.length, configurable: true },
    });
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'name' || key === 'length' || key === 'prototype') continue;
      Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(original, key) as PropertyDescriptor);
    }
    return wrapper;
  }

  #record(api: string, below: AnyFunction): void {
    const lastKey = this.#flags[TRACKED_KEY];
    // Keys wrap at 2^31 - 1 back to 1 (src/watchdog.cc); a wrapped range starts afresh.
    const firstKey = lastKey > this.#lastKey ? this.#lastKey + 1 : 1;
    this.#lastKey = lastKey;
    if (this.#records.length >= MAX_RECORDS) this.#records.shift();
    this.#records.push({ firstKey, lastKey, api, frames: captureCallSites(below, MAX_FRAMES).map(toStackFrame) });
  }
}

// Builtin exports can be read-only but configurable (Node 26), or accessors (the rule set forwards
// properties hung on a function it wrapped): define a data property then, and restore the
// descriptor as it was.
function replace(target: Target, saved: PropertyDescriptor, value: AnyFunction): boolean {
  if ('value' in saved && saved.writable) {
    target.owner[target.key] = value;
  } else if (saved.configurable) {
    Object.defineProperty(target.owner, target.key, {
      value,
      writable: true,
      enumerable: saved.enumerable,
      configurable: true,
    });
  }
  return target.owner[target.key] === value;
}

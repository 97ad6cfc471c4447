// Names native blocks: while a watcher runs, the Node APIs that spend their time in C++ (the rule
// table's sync functions, JSON.parse/stringify) and the functions of native addons count how deep
// the thread is inside them in memory the watchdog thread reads. A sample taken inside one is
// marked; when the outermost call returns, its wrapper records the API and the JS stack that
// called it, which is the culprit the late V8 interrupt cannot name (by then the caller has often
// returned). Builtins and addons loaded after watch() are wrapped as they load (lib/load-hooks.ts).
import type { StackFrame } from './blocking-error';
import { addonTargets } from './addons';
import { nativeConstants } from './binding';
import { watchLoads } from './load-hooks';
import { isBuiltinLoaded, moduleLoader } from './apis/builtins';
import { defaultRules } from './apis/table';
import { captureCallSites, toStackFrame } from './apis/stack';
import { attachTrack, detachTrack, type Target, type TrackHook, type WrappedApi } from './wrap';

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

// Records kept for reports not yet built: a few blocks' worth; older ones are dropped first.
const MAX_RECORDS = 512;
const MAX_FRAMES = 64;
// The builtins whose APIs are tracked, beyond fs: wrapped when the app first loads one.
const LATE_BUILTINS = new Set(['child_process', 'crypto', 'zlib', 'sqlite']);

// Only modules the process has loaded: wrapping must not load crypto, zlib or child_process. Built
// again only when one of those has loaded since: refresh() runs before every report and at each load.
let builtinTargetsCache: { loaded: string; targets: readonly Target[] } | undefined;
function builtinTargets(): readonly Target[] {
  let loaded = '';
  for (const name of LATE_BUILTINS) loaded += isBuiltinLoaded(name) ? '1' : '0';
  if (builtinTargetsCache?.loaded !== loaded) {
    const rules = defaultRules(true).map(({ name, owner, key }) => ({ name, owner, key }));
    const targets = [
      ...rules,
      { name: 'JSON.parse', owner: JSON, key: 'parse' },
      { name: 'JSON.stringify', owner: JSON, key: 'stringify' },
    ];
    builtinTargetsCache = { loaded, targets };
  }
  return builtinTargetsCache.targets;
}

export class CallSiteRecorder {
  /** Size of the memory shared with the watchdog (src/contract.h). */
  static get FLAGS_BYTES(): number {
    return nativeConstants().flagsBytes;
  }
  readonly #flags: Int32Array;
  readonly #trackedKeySlot: number;
  readonly #records: KeyedRecord[] = [];
  #lastKey = 0;
  #active = false;
  readonly #tracked = new Set<WrappedApi>();
  readonly #call: TrackHook;
  readonly #wait: TrackHook;
  #stopWatchingLoads: (() => void) | undefined;
  #refreshing = false;
  // Tracked builtins the app has not loaded yet: a load of one of these wraps it at once.
  readonly #pending = new Set(LATE_BUILTINS);

  /**
   * `beforePark`: a worker's loop does not turn while it waits in Atomics.wait (a pool worker parked
   * for its next task), so the reports it has pending are delivered before it parks, not at exit.
   */
  constructor(flags: Int32Array, beforePark?: () => void, apiId?: (name: string) => number) {
    this.#flags = flags;
    // The slots' layout is src/contract.h's: depth, last tracked sample key, inside Atomics.wait (a
    // worker parked for work), blocks not taken yet (the watchdog writes), the outermost call's API id.
    const {
      depth: DEPTH,
      trackedKey: TRACKED_KEY,
      inAtomicsWait: IN_ATOMICS_WAIT,
      pending: PENDING,
      api: API,
    } = nativeConstants().flagSlots;
    this.#trackedKeySlot = TRACKED_KEY;
    // The addon's id for each API's name, asked once per API.
    const ids = new Map<WrappedApi, number>();
    const idOf = (api: WrappedApi): number => {
      let id = ids.get(api);
      if (id === undefined) ids.set(api, (id = apiId?.(api.name) ?? 0));
      return id;
    };
    // The depth word: the outermost tracked call names the API (readFileSync, not the readSync inside it).
    const enterCall = (api: WrappedApi): void => {
      const depth = flags[DEPTH] ?? 0;
      flags[DEPTH] = depth + 1;
      if (depth === 0) flags[API] = idOf(api);
    };
    const exitCall = (api: WrappedApi): void => {
      const depth = (flags[DEPTH] ?? 1) - 1;
      flags[DEPTH] = depth;
      if (depth === 0 && flags[TRACKED_KEY] !== this.#lastKey) this.#record(api);
    };
    this.#call = { enter: enterCall, exit: exitCall };
    this.#wait = {
      enter: (api) => {
        enterCall(api);
        // The wait flag first, then the pending word, both sequentially consistent: the watchdog
        // sets the word as a block begins and then reads the flag, so one of the two sees the other.
        Atomics.add(flags, IN_ATOMICS_WAIT, 1);
        if (beforePark !== undefined && flags[DEPTH] === 1 && Atomics.load(flags, PENDING) > 0) beforePark();
      },
      exit: (api) => {
        flags[IN_ATOMICS_WAIT] = (flags[IN_ATOMICS_WAIT] ?? 1) - 1;
        exitCall(api);
      },
    };
  }

  install(): void {
    if (this.#active) return;
    this.#active = true;
    this.refresh();
    for (const target of addonTargets()) this.#track(target);
    this.#stopWatchingLoads = watchLoads({
      builtin: (name) => {
        if (this.#pending.has(name)) this.refresh(name);
      },
      addon: (filename, exports) => {
        for (const target of addonTargets([{ filename, exports }])) this.#track(target);
      },
    });
  }

  /**
   * Wraps what is not wrapped yet: builtins loaded since (called as they load and before each
   * report). `loading`: a builtin the app is loading right now.
   */
  refresh(loading?: string): void {
    // Re-entered when building the targets requires an already loaded builtin: one pass is enough.
    if (!this.#active || this.#refreshing) return;
    this.#refreshing = true;
    try {
      // A load hook runs before the module exists: the app is loading it anyway, so load it a step
      // early and wrap it before the app (or the ESM facade) sees its exports.
      if (loading !== undefined) process.getBuiltinModule?.(loading);
      let wrapped = false;
      for (const target of builtinTargets()) wrapped = this.#track(target) || wrapped;
      for (const name of this.#pending) if (isBuiltinLoaded(name)) this.#pending.delete(name);
      if (wrapped) moduleLoader().syncBuiltinESMExports();
    } finally {
      this.#refreshing = false;
    }
  }

  /** Puts the originals back; a wrapper someone wrapped over stays and passes calls through. */
  uninstall(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#stopWatchingLoads?.();
    this.#stopWatchingLoads = undefined;
    for (const api of this.#tracked) detachTrack(api, api.name === 'Atomics.wait' ? this.#wait : this.#call);
    this.#tracked.clear();
    for (const name of LATE_BUILTINS) this.#pending.add(name);
    moduleLoader().syncBuiltinESMExports();
    this.#records.length = 0;
  }

  /** The record of the tracked call that was running when sample `key` was taken. */
  find(key: number): CallSiteRecord | undefined {
    return this.#records.find((record) => key >= record.firstKey && key <= record.lastKey);
  }

  // True when newly tracked; a target that cannot be wrapped is skipped (wrap.ts says so once).
  #track(target: Target): boolean {
    const hook = target.name === 'Atomics.wait' ? this.#wait : this.#call;
    const api = attachTrack(target.owner, target.key, target.name, hook);
    if (api === undefined || this.#tracked.has(api)) return false;
    this.#tracked.add(api);
    return true;
  }

  // Runs inside the host's call: a record that cannot be made is dropped, never thrown.
  #record(api: WrappedApi): void {
    try {
      const lastKey = this.#flags[this.#trackedKeySlot] ?? 0;
      // Keys wrap at maxSampleKey back to 1 (src/contract.h); a wrapped range starts afresh.
      const firstKey = lastKey > this.#lastKey ? this.#lastKey + 1 : 1;
      this.#lastKey = lastKey;
      if (this.#records.length >= MAX_RECORDS) this.#records.shift();
      const frames = captureCallSites(api.wrapper, MAX_FRAMES).map(toStackFrame);
      this.#records.push({ firstKey, lastKey, api: api.name, frames });
    } catch {
      // The sample then says what it saw without a caller, as for an untracked call.
    }
  }
}

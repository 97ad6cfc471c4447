// One wrapping layer for both detectors: each API (`owner[key]`) gets at most one wrapper, with two
// hook slots, the watchdog's call tracking and the rule set's check. It is installed when the first
// hook attaches and the whole original descriptor is restored when the last one detaches. A target
// that is frozen or non-configurable is skipped, never forced: the skip is said once per process.
export type AnyFunction = (...args: never[]) => unknown;

/** The watchdog's hook: depth and call-site recording. It never throws (the layer checks anyway). */
/** An API to track: `owner[key]`, reported as `name`. */
export interface Target {
  name: string;
  owner: object;
  key: string;
}

export interface TrackHook {
  enter(api: WrappedApi): void;
  exit(api: WrappedApi): void;
}

/**
 * The rule set's hook: runs before the call; may throw (raise mode's BlockingError is the point).
 * Returns true when `exit()` must run after the call.
 */
export interface CheckHook {
  enter(api: WrappedApi, thisArg: unknown, args: IArguments): boolean;
  exit(): void;
}

/** One wrapped API, shared by every detector that hooks it. */
export interface WrappedApi {
  readonly name: string;
  readonly original: AnyFunction;
  readonly wrapper: AnyFunction;
}

interface Slot extends WrappedApi {
  readonly owner: object;
  readonly key: PropertyKey;
  readonly saved: PropertyDescriptor;
  // Installed through the owner's own setter: the original goes back the same way first.
  viaSetter: boolean;
  track: TrackHook | undefined;
  // Several rule sets may be active: the last one activated checks (as when each wrapped the other).
  readonly checks: CheckHook[];
}

const slotsByOwner = new WeakMap<object, Map<PropertyKey, Slot>>();
const slotsByWrapper = new WeakMap<AnyFunction, Slot>();
const skippedApis = new Set<string>();
let skipNoticeGiven = false;
// The warning stays one readable line: a frozen fs alone has 40 functions.
const MAX_NAMED = 6;

/** A wrapper's original (or the function itself): owners are keyed by the real object. */
export function unwrapped<T>(value: T): T {
  const slot = typeof value === 'function' ? slotsByWrapper.get(value as unknown as AnyFunction) : undefined;
  return slot === undefined ? value : (slot.original as unknown as T);
}

/**
 * The wrapped API at `owner[key]`, installing its wrapper if needed; undefined when it cannot be
 * wrapped. A setter of the owner's that refuses the wrapper is rethrown only when `rethrow` is set.
 */
function slotFor(ownerIn: object, key: PropertyKey, name: string, rethrow: boolean): Slot | undefined {
  const owner = unwrapped(ownerIn);
  let slots = slotsByOwner.get(owner);
  const existing = slots?.get(key);
  if (existing !== undefined) return existing;
  let saved: PropertyDescriptor | undefined;
  let original: unknown;
  try {
    saved = Object.getOwnPropertyDescriptor(owner, key);
    // Accessors are read once (Node 20's lazy fs.opendirSync); a getter of someone else's is left alone.
    original =
      saved === undefined ? undefined : 'value' in saved ? saved.value : (owner as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
  if (saved === undefined || typeof original !== 'function') return undefined;
  if (!saved.configurable && !('value' in saved && saved.writable)) {
    skip(name);
    return undefined;
  }
  const slot: Slot = {
    name,
    owner,
    key,
    saved,
    viaSetter: false,
    original: original as AnyFunction,
    wrapper: undefined as unknown as AnyFunction,
    track: undefined,
    checks: [],
  };
  (slot as { wrapper: AnyFunction }).wrapper = makeWrapper(slot);
  if (!install(slot, rethrow)) {
    skip(name);
    return undefined;
  }
  if (slots === undefined) slotsByOwner.set(owner, (slots = new Map()));
  slots.set(key, slot);
  slotsByWrapper.set(slot.wrapper, slot);
  return slot;
}

/** Hooks the watchdog's tracking onto `owner[key]`; false when the target cannot be wrapped (skipped). */
export function attachTrack(owner: object, key: PropertyKey, name: string, hook: TrackHook): WrappedApi | undefined {
  const slot = slotFor(owner, key, name, false);
  if (slot !== undefined) slot.track = hook;
  return slot;
}

export function detachTrack(api: WrappedApi, hook: TrackHook): void {
  const slot = slotsByWrapper.get(api.wrapper);
  if (slot === undefined || slot.track !== hook) return;
  slot.track = undefined;
  release(slot);
}

/**
 * Hooks a rule's check onto `owner[key]`; undefined when the target cannot be wrapped (skipped). An
 * owner's setter that throws is rethrown: the rule set's activation is all or nothing.
 */
export function attachCheck(owner: object, key: PropertyKey, name: string, hook: CheckHook): WrappedApi | undefined {
  const slot = slotFor(owner, key, name, true);
  if (slot !== undefined && !slot.checks.includes(hook)) slot.checks.push(hook);
  return slot;
}

export function detachCheck(api: WrappedApi, hook: CheckHook): void {
  const slot = slotsByWrapper.get(api.wrapper);
  const index = slot === undefined ? -1 : slot.checks.indexOf(hook);
  if (slot === undefined || index < 0) return;
  slot.checks.splice(index, 1);
  release(slot);
}

/** Names of the APIs skipped so far because their owner is frozen or the property non-configurable. */
export function skippedApiNames(): readonly string[] {
  return [...skippedApis];
}

// No hook left: the whole original descriptor goes back, unless someone wrapped ours meanwhile
// (theirs stays; ours, with no hook, passes calls straight through).
function release(slot: Slot): void {
  if (slot.track !== undefined || slot.checks.length > 0) return;
  slotsByOwner.get(slot.owner)?.delete(slot.key);
  slotsByWrapper.delete(slot.wrapper);
  const owner = slot.owner as Record<PropertyKey, unknown>;
  try {
    if (owner[slot.key] !== slot.wrapper) return;
    if (slot.viaSetter) owner[slot.key] = slot.original;
    const current = Object.getOwnPropertyDescriptor(owner, slot.key);
    if (current?.configurable) Object.defineProperty(owner, slot.key, slot.saved);
    else if (current !== undefined && 'value' in current && current.writable) owner[slot.key] = slot.original;
  } catch {
    // Frozen since we wrapped it: ours stays and passes calls through.
  }
}

// Writable data properties are assigned (keeps their attributes); read-only configurable ones
// (Node 26's zlib exports) are redefined with the wrapper; accessors (Node 20's lazy fs exports)
// are assigned through their setter, or else redefined as data when configurable.
function install(slot: Slot, rethrow: boolean): boolean {
  const owner = slot.owner as Record<PropertyKey, unknown>;
  const saved = slot.saved;
  try {
    if ('value' in saved) {
      if (saved.writable) owner[slot.key] = slot.wrapper;
      else Object.defineProperty(owner, slot.key, { ...saved, value: slot.wrapper });
      return owner[slot.key] === slot.wrapper;
    }
    if (saved.set !== undefined) {
      try {
        owner[slot.key] = slot.wrapper;
      } catch (error) {
        if (rethrow) throw error;
        return false;
      }
      if (owner[slot.key] === slot.wrapper) return (slot.viaSetter = true);
    }
    if (!saved.configurable) return false;
    Object.defineProperty(owner, slot.key, {
      value: slot.wrapper,
      writable: true,
      enumerable: saved.enumerable === true,
      configurable: true,
    });
    return owner[slot.key] === slot.wrapper;
  } catch (error) {
    if (rethrow) throw error;
    return false;
  }
}

function skip(name: string): void {
  skippedApis.add(name);
  if (skipNoticeGiven) return;
  skipNoticeGiven = true;
  // One warning per process, after the current work: the names known by then are in it.
  queueMicrotask(() => {
    try {
      const names = [...skippedApis];
      const listed =
        names.length <= MAX_NAMED
          ? names.join(', ')
          : `${names.slice(0, MAX_NAMED).join(', ')} and ${names.length - MAX_NAMED} more`;
      process.emitWarning(
        `cannot wrap ${listed} (frozen or non-configurable): calls to ${names.length === 1 ? 'it' : 'them'} run unchanged, but a block inside one is not named by its caller and the rule set does not check it`,
        { type: 'BlockbusterWarning', code: 'BLOCKBUSTER_UNWRAPPABLE' },
      );
    } catch {
      // A warning listener that throws is the host's: nothing of ours to add.
    }
  });
}

// The wrapper: the check may throw (the rule set's raise mode); tracking never does. `this`,
// arguments, `new` (with new.target), the return value and the original's own throws pass through.
function makeWrapper(slot: Slot): AnyFunction {
  const generic = makeGenericWrapper(slot);
  const json = makeJsonWrapper(slot, generic);
  if (json !== undefined) return json;
  copyShape(slot.original, generic);
  return generic;
}

function makeGenericWrapper(slot: Slot): AnyFunction {
  const original = slot.original;
  // `arguments` goes straight to Reflect.apply/construct: handing it to a helper would make V8 build it.
  const wrapper = function (this: unknown): unknown {
    const track = slot.track;
    if (slot.checks.length === 0) {
      if (track === undefined || !enterQuietly(track, slot)) {
        return new.target === undefined
          ? Reflect.apply(original, this, arguments)
          : Reflect.construct(original, arguments, targetOf(new.target, wrapper, original));
      }
      try {
        return new.target === undefined
          ? Reflect.apply(original, this, arguments)
          : Reflect.construct(original, arguments, targetOf(new.target, wrapper, original));
      } finally {
        exitQuietly(track, slot);
      }
    }
    const check = slot.checks[slot.checks.length - 1] as CheckHook;
    const checked = check.enter(slot, this, arguments);
    try {
      const tracked = track !== undefined && enterQuietly(track, slot);
      try {
        return new.target === undefined
          ? Reflect.apply(original, this, arguments)
          : Reflect.construct(original, arguments, targetOf(new.target, wrapper, original));
      } finally {
        if (tracked) exitQuietly(track, slot);
      }
    } finally {
      if (checked) check.exit();
    }
  };
  return wrapper;
}

/**
 * JSON.parse and JSON.stringify run in nearly every request, so V8's own get a wrapper of their own:
 * methods of the same name and arity that call the original directly. The generic wrapper's
 * forwarded `arguments` cost a JSON API server 0.7 % of its requests per CPU second (npm run bench,
 * phase http); this one costs what it tracks. It is exact for V8's functions only: they ignore
 * `this` and arguments past their arity, read a missing one as undefined, and cannot be constructed
 * (nor can a method). Anything else at JSON.parse (a polyfill, someone's wrapper) keeps the generic
 * wrapper. With a rule set's check attached, calls go through the generic one.
 */
// Read once at load: an app's own Function.prototype.toString (patched, or one that throws) is
// never called, and cannot make the check throw into watch().
const functionToString = Function.prototype.toString;

function isNativeFunction(fn: AnyFunction, name: string): boolean {
  try {
    return Reflect.apply(functionToString, fn, []) === `function ${name}() { [native code] }`;
  } catch {
    return false;
  }
}

function makeJsonWrapper(slot: Slot, generic: AnyFunction): AnyFunction | undefined {
  const original = slot.original as (a: unknown, b: unknown, c: unknown) => unknown;
  if (slot.owner !== JSON || (slot.key !== 'parse' && slot.key !== 'stringify')) return undefined;
  if (!isNativeFunction(original, slot.key)) return undefined;
  const call = (a: unknown, b: unknown, c: unknown): unknown => {
    const track = slot.track;
    if (track === undefined || !enterQuietly(track, slot)) return original(a, b, c);
    try {
      return original(a, b, c);
    } finally {
      exitQuietly(track, slot);
    }
  };
  const methods = {
    parse(text: unknown, reviver: unknown): unknown {
      return slot.checks.length === 0 ? call(text, reviver, undefined) : Reflect.apply(generic, this, [text, reviver]);
    },
    stringify(value: unknown, replacer: unknown, space: unknown): unknown {
      return slot.checks.length === 0
        ? call(value, replacer, space)
        : Reflect.apply(generic, this, [value, replacer, space]);
    },
  };
  const wrapper = methods[slot.key] as AnyFunction;
  return wrapper.length === original.length && wrapper.name === original.name ? wrapper : undefined;
}

// `new Wrapped()` builds what `new Original()` builds; a subclass keeps its own new.target.
function targetOf(newTarget: unknown, wrapper: AnyFunction, original: AnyFunction): AnyFunction {
  return newTarget === wrapper ? original : (newTarget as AnyFunction);
}

// Tracking may fail to record; it never fails the call.
function enterQuietly(track: TrackHook, api: WrappedApi): boolean {
  try {
    track.enter(api);
    return true;
  } catch {
    return false;
  }
}

function exitQuietly(track: TrackHook, api: WrappedApi): void {
  try {
    track.exit(api);
  } catch {
    // The record is lost; the call's own result or error stands.
  }
}

// name, length and prototype (instanceof) as the original's; other own properties
// (fs.realpathSync.native) forward to it, so setting one through the wrapper reaches the original.
// One descriptor each, reused: watch() wraps ~45 APIs as it starts, and two fresh descriptor objects
// per wrapper were a fifth of the allocation that start-up is kept under (docs/architecture.md).
const NAME: PropertyDescriptor = { __proto__: null, value: '', configurable: true } as PropertyDescriptor;
const LENGTH: PropertyDescriptor = { __proto__: null, value: 0, configurable: true } as PropertyDescriptor;

function copyShape(original: AnyFunction, wrapper: AnyFunction): void {
  NAME.value = original.name;
  LENGTH.value = original.length;
  Object.defineProperty(wrapper, 'name', NAME);
  Object.defineProperty(wrapper, 'length', LENGTH);
  NAME.value = '';
  const prototype = (original as unknown as { prototype?: unknown }).prototype;
  if (prototype !== undefined) (wrapper as unknown as { prototype: unknown }).prototype = prototype;
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'name' || key === 'length' || key === 'prototype' || key === 'arguments' || key === 'caller') continue;
    Object.defineProperty(wrapper, key, {
      get: () => (original as unknown as Record<PropertyKey, unknown>)[key],
      set: (value: unknown) => {
        (original as unknown as Record<PropertyKey, unknown>)[key] = value;
      },
      enumerable: Object.getOwnPropertyDescriptor(original, key)?.enumerable ?? false,
      configurable: true,
    });
  }
}

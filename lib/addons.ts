// The functions of native addons the recorder tracks: exported functions, and the prototype
// methods of exported classes, named `<addon> <Class>.<method>` (`better_sqlite3 Statement.get`).
import path = require('node:path');
import type { Target } from './wrap';

/** A loaded addon: its file and what it exported. */
export interface LoadedAddon {
  filename: string;
  exports: unknown;
}

// blockbuster's own addon (built or prebuilt) is never tracked: its calls are the watchdog's own.
const OWN_DIRS = ['build', 'prebuilds'].map((dir) => path.join(__dirname, '..', dir) + path.sep);

/** Addons the CommonJS loader has loaded so far (require.cache entries of `.node` files). */
function loadedAddons(): LoadedAddon[] {
  return Object.entries(require.cache)
    .filter(([filename]) => filename.endsWith('.node'))
    .map(([filename, module]) => ({ filename, exports: module?.exports }));
}

/** What to track in `addons` (default: those loaded so far). Reads data properties only, never a getter. */
export function addonTargets(addons: readonly LoadedAddon[] = loadedAddons()): Target[] {
  const targets: Target[] = [];
  for (const { filename, exports } of addons) {
    if (OWN_DIRS.some((dir) => filename.startsWith(dir))) continue;
    const addon = path.basename(filename, '.node');
    if (typeof exports === 'function') targets.push(...methodsOf(addon, exports as ClassLike, exports.name));
    if ((typeof exports !== 'object' && typeof exports !== 'function') || exports === null) continue;
    for (const [key, value] of functionsOf(exports)) {
      targets.push({ name: `${addon} ${key}`, owner: exports, key });
      targets.push(...methodsOf(addon, value as ClassLike, value.name || key));
    }
  }
  return targets;
}

type ClassLike = { prototype?: unknown };

// An exported class's own prototype methods; a plain function's empty prototype has none.
function methodsOf(addon: string, fn: ClassLike, className: string): Target[] {
  const prototype = safely(() => fn.prototype);
  if (typeof prototype !== 'object' || prototype === null) return [];
  return functionsOf(prototype)
    .filter(([key]) => key !== 'constructor')
    .map(([key]) => ({ name: `${addon} ${className}.${key}`, owner: prototype, key }));
}

function functionsOf(owner: object): [string, AnyFunction][] {
  const found: [string, AnyFunction][] = [];
  for (const key of safely(() => Object.getOwnPropertyNames(owner)) ?? []) {
    const descriptor = safely(() => Object.getOwnPropertyDescriptor(owner, key));
    if (descriptor !== undefined && 'value' in descriptor && typeof descriptor.value === 'function')
      found.push([key, descriptor.value as AnyFunction]);
  }
  return found;
}

type AnyFunction = (...args: never[]) => unknown;

// A Proxy export may throw from any trap: that addon is then left as it is.
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

// Tells the call-site recorder when the app loads a builtin or a native addon, at the moment it
// loads (a report's refresh is too late for the first block): `module.registerHooks` where the line
// has it (22.15+, 23.5+), the CommonJS loader's `Module._load` elsewhere, `process.getBuiltinModule`,
// and `process.dlopen` for addons. Nothing is loaded that the app did not load; no hook ever throws.
import { moduleLoader } from './apis/builtins';

export interface LoadListener {
  /** The app loads builtin `name` (`crypto`, no `node:`): loaded now, or about to be (a load hook). */
  builtin(name: string): void;
  /** A native addon was loaded from `filename`; `exports` is what it exported. */
  addon(filename: string, exports: unknown): void;
}

type AnyFunction = (...args: never[]) => unknown;
type RegisterHooks = (hooks: {
  load: (url: string, context: unknown, nextLoad: (url: string, context: unknown) => unknown) => unknown;
}) => { deregister(): void };

interface Patch {
  owner: Record<string, unknown>;
  key: string;
  saved: PropertyDescriptor;
  replacement: AnyFunction;
}

/** Starts telling `listener` about loads; returns the function that stops it and restores what it changed. */
export function watchLoads(listener: LoadListener): () => void {
  const Module = moduleLoader();
  const moduleInternals = Module as unknown as Record<string, unknown> & { registerHooks?: RegisterHooks };
  const notifyBuiltin = (request: unknown): void => {
    if (typeof request !== 'string') return;
    const name = request.startsWith('node:') ? request.slice('node:'.length) : request;
    if (Module.isBuiltin(name)) listener.builtin(name);
  };
  const patches: Patch[] = [];
  let deregister: (() => void) | undefined;
  if (typeof moduleInternals.registerHooks === 'function') {
    const hooks = moduleInternals.registerHooks({
      load(url, context, nextLoad) {
        const result = nextLoad(url, context);
        if (url.startsWith('node:')) quietly(() => notifyBuiltin(url));
        return result;
      },
    });
    deregister = () => hooks.deregister();
  } else {
    notifyAfter(patches, moduleInternals, '_load', (_, [request]) => notifyBuiltin(request));
  }
  const processInternals = process as unknown as Record<string, unknown>;
  notifyAfter(patches, processInternals, 'getBuiltinModule', (loaded, [id]) => {
    if (loaded !== undefined) notifyBuiltin(id);
  });
  notifyAfter(patches, processInternals, 'dlopen', (_, [module, filename]) => {
    if (typeof filename === 'string' && typeof module === 'object' && module !== null)
      listener.addon(filename, (module as { exports?: unknown }).exports);
  });
  return () => {
    quietly(() => deregister?.());
    for (const { owner, key, saved, replacement } of patches.reverse()) {
      // Someone patched over ours: theirs stays, ours keeps calling through (its listener is a no-op then).
      quietly(() => {
        if (owner[key] === replacement) Object.defineProperty(owner, key, saved);
      });
    }
    listener = { builtin() {}, addon() {} };
  };
}

/**
 * Replaces `owner[key]` with a function that calls the original and then, quietly, `after` with
 * its result and arguments. Nothing is replaced when the property is not a function we may change.
 */
function notifyAfter(
  patches: Patch[],
  owner: Record<string, unknown>,
  key: string,
  after: (result: unknown, args: readonly unknown[]) => void,
): void {
  const saved = Object.getOwnPropertyDescriptor(owner, key);
  if (saved === undefined || !('value' in saved) || typeof saved.value !== 'function') return;
  if (!saved.writable && !saved.configurable) return;
  const original = saved.value as AnyFunction;
  const replacement = function (this: unknown, ...args: unknown[]): unknown {
    const result = Reflect.apply(original, this, args);
    quietly(() => after(result, args));
    return result;
  };
  Object.defineProperties(replacement, {
    name: { value: original.name, configurable: true },
    length: { value: original.length, configurable: true },
  });
  quietly(() => {
    Object.defineProperty(owner, key, { ...saved, value: replacement });
    if (owner[key] === replacement) patches.push({ owner, key, saved, replacement });
  });
}

// Runs in the middle of the host's require/import: a failure of ours must never become theirs.
function quietly(work: () => void): void {
  try {
    work();
  } catch {
    // The load goes on; its APIs are wrapped at the next report instead.
  }
}

// Builtins the rule set needs beyond fs, loaded on first use: `require('blockbuster')` for watch()
// alone must not pull worker_threads, tty, child_process, crypto and zlib into every process.

let mainThread: boolean | undefined;
let loaderClass: typeof import('node:module') | undefined;

/**
 * The CommonJS loader's Module class (`_load`, `isBuiltin`, `syncBuiltinESMExports`, `registerHooks`),
 * reached through this module's own `module.constructor`: the `module` builtin would pull the ES module
 * loader into a CommonJS process (~350 KB of heap, enough to wake V8's memory reducer on a small app).
 * A runner's sandbox (jest) hands out plain module objects: there, the builtin.
 */
export function moduleLoader(): typeof import('node:module') {
  if (loaderClass === undefined) {
    const own = (module as unknown as { constructor?: Record<string, unknown> }).constructor;
    loaderClass =
      typeof own?._load === 'function' &&
      typeof own.isBuiltin === 'function' &&
      typeof own.syncBuiltinESMExports === 'function'
        ? (own as unknown as typeof import('node:module'))
        : (require('node:module') as typeof import('node:module'));
  }
  return loaderClass;
}

export function isMainThread(): boolean {
  // A worker's bootstrap has loaded worker_threads (checked on 20-26); on the main thread, loading it
  // would pull in streams and the worker machinery just to learn that this is the main thread.
  mainThread ??=
    !isBuiltinLoaded('worker_threads') ||
    (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  return mainThread;
}

export function isatty(fd: number): boolean {
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

/** True once the process has loaded builtin `name` (by require, import or the loader itself). */
export function isBuiltinLoaded(name: string): boolean {
  const list = (process as NodeJS.Process & { moduleLoadList?: readonly string[] }).moduleLoadList;
  return list?.includes(`NativeModule ${name}`) ?? false;
}

type RuleModules = {
  childProcess: typeof import('node:child_process');
  crypto: typeof import('node:crypto');
  zlib: typeof import('node:zlib');
};

/**
 * The modules whose sync functions the default rules wrap (the objects themselves, not copies).
 * With `loadedOnly`, only those the process has loaded already: the call-site recorder must not
 * pull crypto, zlib and child_process into every watched process.
 */
export function ruleModules(loadedOnly = false): { [K in keyof RuleModules]: RuleModules[K] | undefined } {
  const load = <T>(name: string): T | undefined =>
    loadedOnly && !isBuiltinLoaded(name) ? undefined : (require(`node:${name}`) as T);
  return {
    childProcess: load<RuleModules['childProcess']>('child_process'),
    crypto: load<RuleModules['crypto']>('crypto'),
    zlib: load<RuleModules['zlib']>('zlib'),
  };
}

// Builtins the rule set needs beyond fs, loaded on first use: `require('blockbuster')` for watch()
// alone must not pull worker_threads, tty, child_process, crypto and zlib into every process.

let mainThread: boolean | undefined;

export function isMainThread(): boolean {
  mainThread ??= (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  return mainThread;
}

export function isatty(fd: number): boolean {
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

/** The modules whose sync functions the default rules wrap (the objects themselves, not copies). */
export function ruleModules(): {
  childProcess: typeof import('node:child_process');
  crypto: typeof import('node:crypto');
  zlib: typeof import('node:zlib');
} {
  return {
    childProcess: require('node:child_process') as typeof import('node:child_process'),
    crypto: require('node:crypto') as typeof import('node:crypto'),
    zlib: require('node:zlib') as typeof import('node:zlib'),
  };
}

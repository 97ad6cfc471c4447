// `import x = require()` binds the module object itself (a namespace import would copy it).
import fs = require('node:fs');
import { ANY_FUNCTION, type CanBlockIn } from './allow';
import { isatty, isBuiltinLoaded, isMainThread, ruleModules } from './builtins';
import { sqliteTargets } from './sqlite';

/** Called with the blocking call's `this` and arguments; `true` lets this call block. */
export type CanBlockPredicate = (...args: unknown[]) => boolean;

/** A function blockbuster wraps: `owner[key]`, reported as `name`. */
export interface RuleSpec {
  readonly name: string;
  readonly owner: object;
  readonly key: string;
  readonly canBlock?: CanBlockPredicate;
  /** Words added to the error message for this call (`on stdin`), or undefined; called only when it blocks. */
  readonly detail?: (...args: unknown[]) => string | undefined;
}

/** A tool whose own blocking calls are not the user's fault, and the frames that show it at work. */
export interface Allowance {
  readonly tool: string;
  readonly entries: readonly CanBlockIn[];
}

// Console output: Node itself writes stdout, stderr and terminals synchronously.
const isConsoleFd: CanBlockPredicate = (fd) => fd === 1 || fd === 2 || (typeof fd === 'number' && isatty(fd));

// Python's input(): a synchronous read of fd 0 or of stdin's device path waits for the user.
const STDIN_PATHS = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);
const stdinDetail = (target: unknown): string | undefined =>
  target === 0 || (typeof target === 'string' && STDIN_PATHS.has(target)) ? 'on stdin' : undefined;
const STDIN_READS = new Set(['readSync', 'readvSync', 'readFileSync']);

// Workers may block their own thread; a zero timeout only polls.
const atomicsWaitCanBlock: CanBlockPredicate = (...args) => !isMainThread() || args[3] === 0;

const anywhereIn = (...dirs: string[]): CanBlockIn[] => dirs.map((file) => ({ file, functions: [ANY_FUNCTION] }));

/**
 * The default allowances, shared by every rule. Tools that call user code (test runners calling test
 * bodies) are allowed only in the functions that do their own I/O; a loader hook that runs a module's
 * top-level code (tsx, ts-node, vite-node, jest-runtime, nyc, mocha's loader) is allowed as a whole.
 */
export const DEFAULT_ALLOWANCES: readonly Allowance[] = [
  {
    tool: "Node's CommonJS loader (require, JSON, addons, symlink resolution)",
    entries: [
      {
        file: 'node:internal/modules/cjs/loader',
        functions: ['loadSource', 'Module._extensions..json', 'Module._extensions..node'],
      },
      { file: 'node:internal/modules/helpers', functions: ['toRealPath', 'realpathSync'] },
    ],
  },
  {
    tool: "Node's ES module loader (import, import())",
    entries: [
      ...anywhereIn('node:internal/modules/esm/resolve', 'node:internal/modules/esm/load'),
      { file: 'node:internal/modules/esm/translators', functions: ['commonjsStrategy', 'cjsPreparseModuleExports'] },
    ],
  },
  {
    tool: "Node's source maps (--enable-source-maps)",
    entries: [{ file: 'node:internal/source_map/source_map_cache', functions: ['sourceMapFromFile'] }],
  },
  { tool: "Node's recursive fs.watch", entries: anywhereIn('node:internal/fs/recursive_watch') },
  {
    tool: 'node:test coverage (--experimental-test-coverage)',
    entries: anywhereIn('node:internal/test_runner/coverage'),
  },
  {
    tool: 'vitest',
    entries: anywhereIn(
      'node_modules/vite-node/',
      'node_modules/@vitest/snapshot/',
      'node_modules/@vitest/coverage-v8/',
      'node_modules/@vitest/coverage-istanbul/',
    ),
  },
  {
    tool: 'jest',
    entries: anywhereIn(
      'node_modules/jest-runtime/',
      'node_modules/@jest/transform/',
      'node_modules/jest-resolve/',
      'node_modules/jest-haste-map/',
      'node_modules/jest-snapshot/',
    ),
  },
  { tool: 'mocha', entries: anywhereIn('node_modules/mocha/lib/cli/', 'node_modules/mocha/lib/nodejs/') },
  { tool: 'tsx', entries: anywhereIn('node_modules/tsx/') },
  { tool: 'ts-node', entries: anywhereIn('node_modules/ts-node/') },
  { tool: 'c8', entries: anywhereIn('node_modules/c8/') },
  {
    tool: 'nyc / istanbul',
    entries: anywhereIn(
      'node_modules/nyc/',
      'node_modules/istanbul-lib-hook/',
      'node_modules/istanbul-lib-instrument/',
      'node_modules/istanbul-lib-source-maps/',
    ),
  },
  { tool: 'source-map-support', entries: anywhereIn('node_modules/source-map-support/') },
];

const CRYPTO_SYNC = [
  'pbkdf2Sync',
  'scryptSync',
  'hkdfSync',
  'generateKeyPairSync',
  'generateKeySync',
  'generatePrimeSync',
  'checkPrimeSync',
] as const;
const CHILD_PROCESS_SYNC = ['execSync', 'execFileSync', 'spawnSync'] as const;

// A lazy export's getter may throw (Node 20's fs getters redefine themselves, which fails once fs is frozen).
function read(owner: object, key: string): unknown {
  try {
    return (owner as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

// Every `*Sync` function the running Node has, so new ones are covered without a release.
function syncFunctionsOf(moduleObject: object): string[] {
  return Object.keys(moduleObject).filter(
    (key) => key.endsWith('Sync') && typeof read(moduleObject, key) === 'function',
  );
}

/** The default rule table, enumerated from the running Node; `loadedOnly`: see ruleModules(). */
export function defaultRules(loadedOnly = false): RuleSpec[] {
  const { childProcess, crypto, zlib } = ruleModules(loadedOnly);
  const rules: RuleSpec[] = [];
  for (const key of syncFunctionsOf(fs)) {
    const console = key === 'writeSync' || key === 'fsyncSync';
    rules.push({
      name: `fs.${key}`,
      owner: fs,
      key,
      ...(console ? { canBlock: isConsoleFd } : {}),
      ...(STDIN_READS.has(key) ? { detail: stdinDetail } : {}),
    });
  }
  rules.push({ name: 'fs.realpathSync.native', owner: fs.realpathSync, key: 'native' });
  const dir = read(fs, 'Dir') as typeof fs.Dir | undefined;
  if (dir !== undefined)
    for (const key of ['readSync', 'closeSync']) rules.push({ name: `fs.Dir.${key}`, owner: dir.prototype, key });
  if (childProcess)
    for (const key of CHILD_PROCESS_SYNC) rules.push({ name: `child_process.${key}`, owner: childProcess, key });
  if (zlib) for (const key of syncFunctionsOf(zlib)) rules.push({ name: `zlib.${key}`, owner: zlib, key });
  if (crypto) for (const key of CRYPTO_SYNC) rules.push({ name: `crypto.${key}`, owner: crypto, key });
  for (const { label, prototype, methods } of loadedOnly && !isBuiltinLoaded('sqlite') ? [] : sqliteTargets()) {
    for (const key of methods) rules.push({ name: `sqlite.${label}.${key}`, owner: prototype, key });
  }
  rules.push({ name: 'Atomics.wait', owner: Atomics, key: 'wait', canBlock: atomicsWaitCanBlock });
  // A function this Node lacks has nothing to wrap (activation would otherwise fail on it).
  return rules.filter((rule) => typeof read(rule.owner, rule.key) === 'function');
}

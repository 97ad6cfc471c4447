// node:sqlite's synchronous API (Node 22.5+), wrapped only when that costs the user no warning.
import { isBuiltinLoaded, moduleLoader } from './builtins';

/** The parts of `node:sqlite` the rules need (typed here: @types/node 20 has no node:sqlite). */
interface SqliteModule {
  readonly DatabaseSync: { readonly prototype: object };
  readonly StatementSync: { readonly prototype: object };
}

/** One class's wrapped methods: `sqlite.<label>.<method>`. */
export interface SqliteTarget {
  readonly label: string;
  readonly prototype: object;
  readonly methods: readonly string[];
}

// Methods that run SQL or touch the database file. Not wrapped: the constructor (a class cannot be
// swapped without changing its identity), prepare (compiles; run/get/all/iterate do the work) and
// close, as in the Python original, which leaves connect and close alone.
const DATABASE_METHODS = ['open', 'exec', 'applyChangeset', 'loadExtension', 'serialize'] as const;
const STATEMENT_METHODS = ['run', 'get', 'all', 'iterate'] as const;

// Node 22 and 23 print an ExperimentalWarning the first time node:sqlite loads. Measured quiet:
// 24.21.0 and 26.10.0 (22.23.3 warns); unmeasured lines (24.15-24.20, 25) are treated as warning.
function loadsQuietly(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 26 || (major === 24 && minor >= 21);
}

// --no-warnings, NODE_NO_WARNINGS=1 or --disable-warning=ExperimentalWarning: nothing would be printed.
function warningsDisabled(): boolean {
  if (process.env.NODE_NO_WARNINGS === '1') return true;
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some(
    (flag, i) =>
      flag === '--no-warnings' ||
      flag === '--disable-warning=ExperimentalWarning' ||
      (flag === '--disable-warning' && flags[i + 1] === 'ExperimentalWarning'),
  );
}

// Node lists every builtin it has compiled; present means the user's load already printed any warning.
function alreadyLoaded(): boolean {
  return isBuiltinLoaded('sqlite');
}

/**
 * `node:sqlite` when it exists and loading it prints nothing: already loaded by the user, a Node
 * whose module is no longer experimental, or warnings turned off. Otherwise undefined (no rules).
 */
function sqliteModule(): SqliteModule | undefined {
  if (!moduleLoader().isBuiltin('node:sqlite')) return undefined;
  if (!alreadyLoaded() && !loadsQuietly() && !warningsDisabled()) return undefined;
  try {
    // Node 22.5-22.12 list the builtin but refuse it without --experimental-sqlite.
    return process.getBuiltinModule('node:sqlite') as SqliteModule | undefined;
  } catch {
    return undefined;
  }
}

/** The classes and methods to wrap, for the running Node; empty when node:sqlite is not used. */
export function sqliteTargets(): SqliteTarget[] {
  const sqlite = sqliteModule();
  if (sqlite === undefined) return [];
  // Not wrapped: db.createTagStore() (Node 24+) runs its statements in C++ and gives every store
  // its own method objects, so there is no shared function to replace.
  return [
    { label: 'DatabaseSync', prototype: sqlite.DatabaseSync.prototype, methods: DATABASE_METHODS },
    { label: 'StatementSync', prototype: sqlite.StatementSync.prototype, methods: STATEMENT_METHODS },
  ];
}

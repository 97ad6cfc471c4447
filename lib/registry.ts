// Who watches this thread, across installed copies of blockbuster: one watcher per thread, and the
// preload's watcher gives way to the program's own watch().
import { CodedError } from './errors';
import { PACKAGE_DIR, packageVersion } from './package-info';

/** What the registry needs of a watcher. */
export interface RegisteredWatcher {
  readonly active: boolean;
  stop(): void;
}

// Every copy of the package on this thread sees the same slot (globalThis is per thread): two
// installed copies must not both watch, or each block would be reported twice.
const WATCHING = Symbol.for('blockbuster.watching');

interface WatchingEntry {
  readonly packageDir: string;
  readonly version: string;
  readonly watcher: RegisteredWatcher;
  /** A preload's watcher: another copy's watch() stops it, as this copy's own would. */
  readonly yields: boolean;
}

// The thread's preload watcher, if any (module state is per thread: each worker loads its own copy).
let yielding: RegisteredWatcher | undefined;

// The version is read when another copy names this one in its error, not at watch(): parsing
// package.json costs an idle app ~30 KB of heap.
function entryOf(watcher: RegisteredWatcher, yields: boolean): WatchingEntry {
  return {
    packageDir: PACKAGE_DIR,
    get version() {
      return packageVersion();
    },
    watcher,
    yields,
  };
}

const registry = globalThis as Record<symbol, WatchingEntry | undefined>;

/**
 * Clears the way for a new watcher on this thread: stops a preload's watcher (this copy's or
 * another's); throws if another copy's own watcher is active.
 */
export function makeWay(): void {
  if (yielding?.active) yielding.stop();
  const entry = registry[WATCHING];
  if (entry?.watcher.active !== true || entry.packageDir === PACKAGE_DIR) return;
  if (entry.yields) return entry.watcher.stop();
  throw new CodedError(
    'ERR_BLOCKBUSTER_ALREADY_WATCHING',
    `watch(): another copy of blockbuster (${entry.version} at ${entry.packageDir}) is already watching this thread; ` +
      `stop() its watcher first, or use one copy (npm dedupe)`,
  );
}

/** Records the thread's watcher; `yields`: the preload's, which a later watch() stops. */
export function claim(watcher: RegisteredWatcher, yields: boolean): void {
  const entry = entryOf(watcher, yields);
  Object.defineProperty(globalThis, WATCHING, { value: entry, configurable: true, enumerable: false, writable: true });
  if (yields) yielding = watcher;
}

/** Forgets a stopped watcher (not a newer one that took its place). */
export function release(watcher: RegisteredWatcher): void {
  if (registry[WATCHING]?.watcher === watcher) delete registry[WATCHING];
}

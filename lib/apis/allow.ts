import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { moduleLoader } from './builtins';
import { pathToFileURL } from 'node:url';

/**
 * One allow-list entry: blocking is allowed while a frame of `functions` in `file` is on the stack.
 * `file` ending in `/` is a directory matched anywhere in the path (`node_modules/tsx/`); otherwise it
 * is a suffix of the script name, on a path-segment boundary (`src/config.ts`, `node:internal/…`).
 * `functions` `['*']` means any function of that file.
 */
export interface CanBlockIn {
  readonly file: string;
  readonly functions: readonly string[];
}

export const ANY_FUNCTION = '*';

// V8 names scripts with the platform's separator; patterns are written with '/'.
const toSlashes: (file: string) => string = sep === '\\' ? (file) => file.replace(/\\/g, '/') : (file) => file;

function fileMatches(file: string, pattern: string): boolean {
  const anchored = pattern.startsWith('/') ? pattern : `/${pattern}`;
  if (pattern.endsWith('/')) return file.startsWith(pattern) || file.includes(anchored);
  return file === pattern || file.endsWith(anchored);
}

/** A `canBlockIn` function name of one entry, and whether it ever let a call through. */
interface Allowed {
  readonly pattern: string;
  readonly entry: CanBlockIn;
  readonly name: string;
  used: boolean;
}

/**
 * The allow-list of one rule, indexed so that a stack walk costs a map lookup or two per frame.
 * Entries shared by every rule (the default allowances) live once, in `base`.
 */
export class AllowList {
  constructor(private readonly base?: AllowList) {}

  private readonly list: CanBlockIn[] = [];
  private readonly allowed: Allowed[] = [];
  private readonly byFunction = new Map<string, Allowed[]>();
  private readonly anyFunction: Allowed[] = [];
  // Script names repeat across calls, so the any-function verdict is computed once per script.
  private readonly anyFunctionVerdicts = new Map<string, Allowed | null>();

  get entries(): readonly CanBlockIn[] {
    return this.base === undefined ? this.list : [...this.base.entries, ...this.list];
  }

  add(entry: CanBlockIn): void {
    const file = toSlashes(entry.file);
    const frozen = Object.freeze({ file: entry.file, functions: Object.freeze([...entry.functions]) });
    this.list.push(frozen);
    for (const name of new Set(entry.functions)) {
      const allowed: Allowed = { pattern: file, entry: frozen, name, used: false };
      this.allowed.push(allowed);
      if (name === ANY_FUNCTION) {
        this.anyFunction.push(allowed);
        this.anyFunctionVerdicts.clear();
      } else {
        const list = this.byFunction.get(name);
        if (list === undefined) this.byFunction.set(name, [allowed]);
        else list.push(allowed);
      }
    }
  }

  /** This list's own entries (not the base's) with the function names that never let a call through. */
  unused(): CanBlockIn[] {
    const names = new Map<CanBlockIn, string[]>();
    for (const allowed of this.allowed) {
      if (allowed.used) continue;
      const list = names.get(allowed.entry);
      if (list === undefined) names.set(allowed.entry, [allowed.name]);
      else list.push(allowed.name);
    }
    return [...names].map(([entry, functions]) => ({ file: entry.file, functions }));
  }

  /** True when a frame of `functionName` in script `file` allows blocking; marks the entry used. */
  matches(rawFile: string, functionName: string): boolean {
    if (rawFile === '') return false;
    const allowed = this.matchOwn(rawFile, functionName) ?? this.base?.matchOwn(rawFile, functionName);
    if (allowed === undefined) return false;
    allowed.used = true;
    return true;
  }

  private matchOwn(rawFile: string, functionName: string): Allowed | undefined {
    if (this.byFunction.size !== 0 && functionName !== '') {
      const file = toSlashes(rawFile);
      const byName = this.matchName(file, functionName);
      if (byName !== undefined) return byName;
      // `obj.method = function () {}` is reported as `obj.method`; allow-lists name the method.
      const dot = functionName.lastIndexOf('.');
      if (dot !== -1) {
        const byMethod = this.matchName(file, functionName.slice(dot + 1));
        if (byMethod !== undefined) return byMethod;
      }
    }
    if (this.anyFunction.length === 0) return undefined;
    let verdict = this.anyFunctionVerdicts.get(rawFile);
    if (verdict === undefined) {
      const file = toSlashes(rawFile);
      verdict = this.anyFunction.find((allowed) => fileMatches(file, allowed.pattern)) ?? null;
      this.anyFunctionVerdicts.set(rawFile, verdict);
    }
    return verdict ?? undefined;
  }

  private matchName(file: string, name: string): Allowed | undefined {
    const list = this.byFunction.get(name);
    return list?.find((allowed) => fileMatches(file, allowed.pattern));
  }
}

/** Where a module lives: `node:x` for builtins, else its package directory or the given path. */
function locateModule(spec: string, option: string): string {
  if (isAbsolute(spec) || spec.startsWith('.')) return resolve(spec);
  if (moduleLoader().isBuiltin(spec)) return spec.startsWith('node:') ? spec : `node:${spec}`;
  let entry: string;
  try {
    entry = require.resolve(spec, { paths: [process.cwd()] });
  } catch (cause) {
    throw new Error(`${option}: cannot find module "${spec}" from ${process.cwd()}`, { cause });
  }
  // The package directory, not just its entry file: every file of the package belongs to it.
  const marker = `${sep}node_modules${sep}${spec.split('/').join(sep)}${sep}`;
  const at = entry.lastIndexOf(marker);
  return at === -1 ? dirname(entry) : entry.slice(0, at + marker.length - 1);
}

function prefixesOf(location: string): string[] {
  if (location.startsWith('node:')) return [location];
  // ES modules are named by URL, CommonJS ones by path.
  return [toSlashes(location), pathToFileURL(location).href];
}

function underPrefix(file: string, prefix: string): boolean {
  return file === prefix || (file.startsWith(prefix) && (prefix.endsWith('/') || file[prefix.length] === '/'));
}

/** Python blockbuster's scanned/excluded modules: which frames make a call the user's business. */
export class ModuleScope {
  /** True when no module is scanned: then every call is checked. */
  readonly scansEverything: boolean;
  private readonly scanned: string[];
  private readonly excluded: string[];

  constructor(scanned: readonly string[], excluded: readonly string[]) {
    this.scanned = scanned.flatMap((spec) => prefixesOf(locateModule(spec, 'scannedModules')));
    this.excluded = excluded.flatMap((spec) => prefixesOf(locateModule(spec, 'excludedModules')));
    this.scansEverything = this.scanned.length === 0;
  }

  /** True for a frame in a scanned module that is not in an excluded one. */
  contains(rawFile: string): boolean {
    const file = toSlashes(rawFile);
    return (
      this.scanned.some((prefix) => underPrefix(file, prefix)) &&
      !this.excluded.some((prefix) => underPrefix(file, prefix))
    );
  }
}

import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { isBuiltin } from 'node:module';
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

/**
 * The allow-list of one rule, indexed so that a stack walk costs a map lookup or two per frame.
 * Entries shared by every rule (the default allowances) live once, in `base`.
 */
export class AllowList {
  constructor(private readonly base?: AllowList) {}

  private readonly list: CanBlockIn[] = [];
  private readonly byFunction = new Map<string, string[]>();
  private readonly anyFunction: string[] = [];
  // Script names repeat across calls, so the any-function verdict is computed once per script.
  private readonly anyFunctionVerdicts = new Map<string, boolean>();

  get entries(): readonly CanBlockIn[] {
    return this.base === undefined ? this.list : [...this.base.entries, ...this.list];
  }

  add(entry: CanBlockIn): void {
    const file = toSlashes(entry.file);
    this.list.push(Object.freeze({ file: entry.file, functions: Object.freeze([...entry.functions]) }));
    for (const name of entry.functions) {
      if (name === ANY_FUNCTION) {
        this.anyFunction.push(file);
        this.anyFunctionVerdicts.clear();
      } else {
        const files = this.byFunction.get(name);
        if (files === undefined) this.byFunction.set(name, [file]);
        else files.push(file);
      }
    }
  }

  /** True when a frame of `functionName` in script `file` allows blocking. */
  matches(rawFile: string, functionName: string): boolean {
    if (rawFile === '') return false;
    return this.matchesOwn(rawFile, functionName) || (this.base?.matchesOwn(rawFile, functionName) ?? false);
  }

  private matchesOwn(rawFile: string, functionName: string): boolean {
    if (this.byFunction.size !== 0 && functionName !== '') {
      const file = toSlashes(rawFile);
      if (this.matchesName(file, functionName)) return true;
      // `obj.method = function () {}` is reported as `obj.method`; allow-lists name the method.
      const dot = functionName.lastIndexOf('.');
      if (dot !== -1 && this.matchesName(file, functionName.slice(dot + 1))) return true;
    }
    if (this.anyFunction.length === 0) return false;
    let verdict = this.anyFunctionVerdicts.get(rawFile);
    if (verdict === undefined) {
      const file = toSlashes(rawFile);
      verdict = this.anyFunction.some((pattern) => fileMatches(file, pattern));
      this.anyFunctionVerdicts.set(rawFile, verdict);
    }
    return verdict;
  }

  private matchesName(file: string, name: string): boolean {
    const files = this.byFunction.get(name);
    return files !== undefined && files.some((pattern) => fileMatches(file, pattern));
  }
}

/** Where a module lives: `node:x` for builtins, else its package directory or the given path. */
function locateModule(spec: string, option: string): string {
  if (isAbsolute(spec) || spec.startsWith('.')) return resolve(spec);
  if (isBuiltin(spec)) return spec.startsWith('node:') ? spec : `node:${spec}`;
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

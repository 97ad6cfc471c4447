import { syncBuiltinESMExports } from 'node:module';
import { BlockingError, formatFrame, isUserFrame } from '../blocking-error';
import { isLogger, isValidFd, isWritable, type OutputFormat, type OutputTarget } from '../output';
import { AllowList, type CanBlockIn, ModuleScope } from './allow';
import { enterSkip, exitSkip, isLoopRunning, isSkipping, skipping } from './context';
import { type ReporterOptions, RuleReporter } from './reporting';
import { captureCallSites, type CallSite, toStackFrame } from './stack';
import { type CanBlockPredicate, DEFAULT_ALLOWANCES, defaultRules, type RuleSpec } from './table';

type AnyFunction = (...args: never[]) => unknown;

/** `raise` throws the BlockingError at the call; `report` writes it (or calls onBlock) and lets the call run. */
export type BlockBusterMode = 'raise' | 'report';

export interface BlockBusterOptions {
  /** Only calls with a frame in one of these modules (names or paths) are checked; default: all. */
  scannedModules?: string | readonly string[];
  /** Modules (names or paths) inside scanned ones whose frames do not count as scanned. */
  excludedModules?: string | readonly string[];
  /** `raise` (default) or `report`. */
  mode?: BlockBusterMode;
  /** Report mode and warnUnused: `'stderr'` (default), an fd, or a file path (appended). */
  output?: OutputTarget;
  /** Report mode and warnUnused: `text` (default) or `json` (one object per line). */
  format?: OutputFormat;
  /** Report mode: called with each BlockingError instead of writing a line. */
  onBlock?: (error: BlockingError) => void;
  /** Report mode: lines per rolling minute before the rest are only counted. Default 10. */
  maxReportsPerMinute?: number;
  /** At deactivate(), write one line per canBlockIn allowance that never let a call through. */
  warnUnused?: boolean;
}

/** A canBlockIn allowance that never let a call through: the rule, the file and the unused names. */
export interface UnusedAllowance {
  readonly rule: string;
  readonly file: string;
  readonly functions: readonly string[];
}

const OPTION_NAMES = [
  'scannedModules',
  'excludedModules',
  'mode',
  'output',
  'format',
  'onBlock',
  'maxReportsPerMinute',
  'warnUnused',
] as const;

// Most allow-listed callers are near the top: a short first capture is far cheaper than a full one.
const FIRST_PASS_FRAMES = 4;
const MAX_FRAMES = 100;
const neverCanBlock: CanBlockPredicate = () => false;
const raise = (error: BlockingError): never => {
  throw error;
};

let defaults: AllowList | undefined;

// The default allowances, built once and shared by every rule of every instance.
function defaultAllowList(): AllowList {
  if (defaults === undefined) {
    defaults = new AllowList();
    for (const allowance of DEFAULT_ALLOWANCES) for (const entry of allowance.entries) defaults.add(entry);
  }
  return defaults;
}

// Lets BlockBuster wrap many rules and refresh ESM exports once, without making wrapping public.
let patchRule: (rule: BlockBusterFunction, on: boolean) => void;
let unusedOf: (rule: BlockBusterFunction) => CanBlockIn[];

/** One wrapped blocking function: its name, escape predicate, allow-list and activation state. */
export class BlockBusterFunction {
  static {
    patchRule = (rule, on) => (on ? rule.#wrap() : rule.#unwrap());
    unusedOf = (rule) => rule.#allowList.unused();
  }

  /** How errors name the function: `fs.readFileSync`, `fs.Dir.readSync`, `Atomics.wait`. */
  readonly fullName: string;
  /** Escape by arguments: called with the call's `this` and arguments, `true` lets it block. */
  readonly canBlockPredicate: CanBlockPredicate;
  readonly #detail: RuleSpec['detail'];
  readonly #onBlocked: (error: BlockingError) => void;
  readonly #reporter: RuleReporter | undefined;
  readonly #owner: Record<string, unknown>;
  readonly #key: string;
  readonly #allowList = new AllowList(defaultAllowList());
  readonly #scope: ModuleScope;
  #original: AnyFunction | undefined;
  #readOnly = false;
  #wrapper: AnyFunction | undefined;

  /** @internal Built by BlockBuster from the rule table; a reporter means report mode. */
  constructor(spec: RuleSpec, scope: ModuleScope, reporter?: RuleReporter) {
    this.fullName = spec.name;
    this.canBlockPredicate = spec.canBlock ?? neverCanBlock;
    this.#detail = spec.detail;
    this.#reporter = reporter;
    this.#onBlocked = reporter === undefined ? raise : (error) => reporter.report(error);
    this.#owner = spec.owner as Record<string, unknown>;
    this.#key = spec.key;
    this.#scope = scope;
  }

  /** Whether the function is currently replaced by its checking wrapper. */
  get activated(): boolean {
    return this.#wrapper !== undefined;
  }

  /** Where blocking is allowed: default allowances first, then `canBlockIn` additions. */
  get canBlockFunctions(): readonly CanBlockIn[] {
    return this.#allowList.entries;
  }

  /**
   * Allows blocking while a frame of `functions` (a name, or names; `'*'` for any) in a file ending
   * with `file` is on the stack. Chainable.
   */
  canBlockIn(file: string, functions: string | Iterable<string>): this {
    if (typeof file !== 'string' || file === '') {
      throw new TypeError(`canBlockIn: file must be a non-empty string, got ${describe(file)}`);
    }
    const names = typeof functions === 'string' ? [functions] : iterableOfStrings(functions);
    if (names === undefined || names.length === 0 || names.some((name) => name === '')) {
      throw new TypeError(`canBlockIn: functions must be a function name or names, got ${describe(functions)}`);
    }
    this.#allowList.add({ file, functions: names });
    return this;
  }

  /** Wraps the function (no-op when active) and refreshes ESM named exports of builtins. */
  activate(): this {
    skipping(() => this.#reporter?.open());
    this.#wrap();
    syncBuiltinESMExports();
    return this;
  }

  /** Restores the original function (no-op when inactive) and refreshes ESM named exports. */
  deactivate(): this {
    this.#unwrap();
    syncBuiltinESMExports();
    return this;
  }

  #wrap(): void {
    if (this.#wrapper !== undefined) return;
    const original = this.#owner[this.#key];
    if (typeof original !== 'function') throw new TypeError(`${this.fullName} is not a function`);
    const wrapper = this.#makeWrapper(original as AnyFunction);
    const descriptor = Object.getOwnPropertyDescriptor(this.#owner, this.#key);
    // Node 26 exports some functions read-only but configurable (zlib.createZipArchiveSync): redefine those.
    const readOnly = descriptor !== undefined && descriptor.writable === false && descriptor.configurable === true;
    if (readOnly) Object.defineProperty(this.#owner, this.#key, { ...descriptor, value: wrapper });
    else this.#owner[this.#key] = wrapper;
    if (this.#owner[this.#key] !== wrapper) throw new Error(`${this.fullName} could not be replaced`);
    this.#original = original as AnyFunction;
    this.#readOnly = readOnly;
    this.#wrapper = wrapper;
  }

  #unwrap(): void {
    if (this.#wrapper === undefined) return;
    // Someone wrapped ours meanwhile: leave theirs in place; ours passes calls through once inactive.
    if (this.#owner[this.#key] === this.#wrapper) {
      if (this.#readOnly) Object.defineProperty(this.#owner, this.#key, { value: this.#original });
      else this.#owner[this.#key] = this.#original;
    }
    this.#wrapper = undefined;
    this.#original = undefined;
  }

  #makeWrapper(original: AnyFunction): AnyFunction {
    const rule = this;
    const wrapper = function (this: unknown): unknown {
      // Cheapest first: skip flag, loop state, then whether this wrapper is still the active one.
      if (isSkipping() || !isLoopRunning() || rule.#wrapper !== wrapper) {
        return Reflect.apply(original, this, arguments);
      }
      enterSkip();
      try {
        if (!Reflect.apply(rule.canBlockPredicate, this, arguments)) {
          // Captured in the wrapper itself: each frame between here and the wrapper costs V8 a walk.
          const error = rule.#inspect(wrapper, captureCallSites(wrapper, FIRST_PASS_FRAMES), arguments);
          // Raise mode throws here; report mode writes the report and lets the call run.
          if (error !== undefined) rule.#onBlocked(error);
        }
        return Reflect.apply(original, this, arguments);
      } finally {
        exitSkip();
      }
    };
    Object.defineProperties(wrapper, {
      name: { value: original.name, configurable: true },
      length: { value: original.length, configurable: true },
    });
    // Properties hung on the function (fs.realpathSync.native) stay reachable through the wrapper.
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'name' || key === 'length' || key === 'prototype') continue;
      Object.defineProperty(wrapper, key, {
        get: () => (original as unknown as Record<PropertyKey, unknown>)[key],
        set: (value: unknown) => {
          (original as unknown as Record<PropertyKey, unknown>)[key] = value;
        },
        configurable: true,
      });
    }
    return wrapper;
  }

  /** The error to throw for this call, or undefined when its stack allows it. */
  #inspect(wrapper: AnyFunction, firstSites: CallSite[], args: IArguments): BlockingError | undefined {
    let sites = firstSites;
    if (this.#allowedBy(sites)) return undefined;
    if (sites.length >= FIRST_PASS_FRAMES) {
      sites = captureCallSites(wrapper, MAX_FRAMES);
      if (this.#allowedBy(sites)) return undefined;
    }
    if (!this.#scope.scansEverything && !sites.some((site) => this.#scope.contains(site.getFileName() ?? ''))) {
      return undefined;
    }
    const frames = sites.map(toStackFrame);
    const caller = frames[0];
    const detail = this.#detail === undefined ? undefined : Reflect.apply(this.#detail, undefined, args);
    return new BlockingError({
      source: 'rule',
      message: `Blocking call to ${this.fullName}${detail === undefined ? '' : ` ${detail}`}${caller === undefined ? '' : ` at ${formatFrame(caller)}`}`,
      frames,
      culprit: frames.find(isUserFrame) ?? caller,
      blockingCall: this.fullName,
    });
  }

  #allowedBy(sites: readonly CallSite[]): boolean {
    for (const site of sites) {
      if (this.#allowList.matches(site.getFileName() ?? '', site.getFunctionName() ?? '')) return true;
    }
    return false;
  }
}

/** The rule set: every default rule, activated and deactivated together. */
export class BlockBuster implements Disposable {
  /** The rules by full name (`fs.readFileSync`); an unknown name throws a TypeError. */
  readonly functions: Readonly<Record<string, BlockBusterFunction>>;
  /** `raise` (throw at the call) or `report` (write the report, let the call run). */
  readonly mode: BlockBusterMode;
  readonly #reporter: RuleReporter | undefined;
  readonly #warnUnused: boolean;
  // [rule, file, name] of unused allowances already written by warnUnused: each once per instance.
  readonly #warned = new Set<string>();

  constructor(options?: BlockBusterOptions) {
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new TypeError(`BlockBuster options must be an object, got ${describe(options)}`);
    }
    for (const key of Object.keys(options ?? {})) {
      if (!(OPTION_NAMES as readonly string[]).includes(key)) {
        throw new TypeError(`BlockBuster: unknown option "${key}"; expected one of ${OPTION_NAMES.join(', ')}`);
      }
    }
    const scanned = moduleList(options?.scannedModules, 'scannedModules');
    const excluded = moduleList(options?.excludedModules, 'excludedModules');
    const reporting = reportingOptions(options ?? {});
    this.mode = reporting.mode;
    this.#warnUnused = reporting.warnUnused;
    this.#reporter = reporting.sink === undefined ? undefined : new RuleReporter(reporting.sink);
    const reportMode = this.mode === 'report' ? this.#reporter : undefined;
    // Resolving module names reads package files: blockbuster's own calls are never checked.
    const scope = skipping(() => new ModuleScope(scanned, excluded));
    const table: Record<string, BlockBusterFunction> = Object.create(null) as Record<string, BlockBusterFunction>;
    for (const spec of skipping(defaultRules)) table[spec.name] = new BlockBusterFunction(spec, scope, reportMode);
    this.functions = new Proxy(Object.freeze(table), {
      get(target, key) {
        if (typeof key === 'string' && !(key in target) && !PROTOCOL_KEYS.has(key)) {
          throw new TypeError(`functions["${key}"]: no such blocking function (see Object.keys(functions))`);
        }
        return Reflect.get(target, key);
      },
    });
  }

  /** Wraps every rule; if one cannot be wrapped, restores those already wrapped and rethrows. */
  activate(): this {
    // Before any wrapping: an output file that cannot be opened fails activation, nothing wrapped.
    skipping(() => this.#reporter?.open());
    const wrapped: BlockBusterFunction[] = [];
    try {
      for (const rule of Object.values(this.functions)) {
        if (rule.activated) continue;
        patchRule(rule, true);
        wrapped.push(rule);
      }
    } catch (error) {
      for (const rule of wrapped.reverse()) patchRule(rule, false);
      skipping(() => this.#reporter?.close());
      throw error;
    } finally {
      syncBuiltinESMExports();
    }
    return this;
  }

  /**
   * Restores every original function; harmless when inactive. With warnUnused, writes one line per
   * unused allowance not written before; then closes the output (a file it opened).
   */
  deactivate(): this {
    for (const rule of Object.values(this.functions)) patchRule(rule, false);
    syncBuiltinESMExports();
    if (this.#reporter !== undefined) {
      const reporter = this.#reporter;
      skipping(() => {
        if (this.#warnUnused) for (const unused of this.unusedAllowances()) this.#warn(reporter, unused);
        reporter.close();
      });
    }
    return this;
  }

  /**
   * The `canBlockIn` allowances (not the default ones) that have not let a call through since they
   * were added, with only their unused function names.
   */
  unusedAllowances(): UnusedAllowance[] {
    return Object.values(this.functions).flatMap((rule) =>
      unusedOf(rule).map(({ file, functions }) => ({ rule: rule.fullName, file, functions })),
    );
  }

  #warn(reporter: RuleReporter, unused: UnusedAllowance): void {
    // Per name: an entry whose other names were used later is not written again.
    const functions = unused.functions.filter(
      (name) => !this.#warned.has(JSON.stringify([unused.rule, unused.file, name])),
    );
    if (functions.length === 0) return;
    for (const name of functions) this.#warned.add(JSON.stringify([unused.rule, unused.file, name]));
    reporter.writeNotice(
      `blockbuster: allowance never used: ${unused.rule} in ${unused.file} (${functions.join(', ')})`,
      { name: 'UnusedAllowance', rule: unused.rule, file: unused.file, functions },
    );
  }

  [Symbol.dispose](): void {
    this.deactivate();
  }
}

/** An activated BlockBuster for `using`: deactivated when the scope ends, also by an exception. */
export function blockbusterCtx(options?: BlockBusterOptions): BlockBuster {
  return new BlockBuster(options).activate();
}

// Keys that JavaScript machinery probes on any object (await, JSON.stringify).
const PROTOCOL_KEYS = new Set(['then', 'toJSON', 'constructor']);

function moduleList(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list === undefined || !list.every((item): item is string => typeof item === 'string' && item !== '')) {
    throw new TypeError(
      `BlockBuster: ${option} must be a module name or path, or an array of them, got ${describe(value)}`,
    );
  }
  return list;
}

interface ReportingOptions {
  mode: BlockBusterMode;
  warnUnused: boolean;
  /** Where lines go; undefined when nothing is ever written (raise mode without warnUnused). */
  sink: ReporterOptions | undefined;
}

function reportingOptions(options: BlockBusterOptions): ReportingOptions {
  const mode = options.mode ?? 'raise';
  if (mode !== 'raise' && mode !== 'report') {
    throw new TypeError(`BlockBuster: mode must be 'raise' or 'report', got ${describe(mode)}`);
  }
  const warnUnused = options.warnUnused ?? false;
  if (typeof warnUnused !== 'boolean') {
    throw new TypeError(`BlockBuster: warnUnused must be true or false, got ${describe(warnUnused)}`);
  }
  for (const key of ['onBlock', 'maxReportsPerMinute'] as const) {
    if (options[key] !== undefined && mode !== 'report') {
      throw new TypeError(`BlockBuster: ${key} only applies to mode 'report'`);
    }
  }
  for (const key of ['output', 'format'] as const) {
    if (options[key] !== undefined && mode !== 'report' && !warnUnused) {
      throw new TypeError(`BlockBuster: ${key} only applies to mode 'report' or warnUnused: true`);
    }
  }
  const output = options.output ?? 'stderr';
  if (!(
    output === 'stderr' ||
    isValidFd(output) ||
    (typeof output === 'string' && output !== '') ||
    isLogger(output) ||
    isWritable(output)
  )) {
    throw new TypeError(
      `BlockBuster: output must be 'stderr', a file descriptor, a file path, a writable stream ({ write }) or a logger ({ warn, info }), got ${describe(output)}`,
    );
  }
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new TypeError(`BlockBuster: format must be 'text' or 'json', got ${describe(format)}`);
  }
  if (options.onBlock !== undefined && typeof options.onBlock !== 'function') {
    throw new TypeError(`BlockBuster: onBlock must be a function, got ${describe(options.onBlock)}`);
  }
  const maxReportsPerMinute = options.maxReportsPerMinute ?? 10;
  if (typeof maxReportsPerMinute !== 'number') {
    throw new TypeError(`BlockBuster: maxReportsPerMinute must be a number, got ${describe(maxReportsPerMinute)}`);
  }
  if (!Number.isFinite(maxReportsPerMinute) || maxReportsPerMinute <= 0) {
    throw new RangeError(`BlockBuster: maxReportsPerMinute must be a finite number > 0, got ${maxReportsPerMinute}`);
  }
  const sink =
    mode === 'report' || warnUnused ? { output, format, onBlock: options.onBlock, maxReportsPerMinute } : undefined;
  return { mode, warnUnused, sink };
}

function iterableOfStrings(value: unknown): string[] | undefined {
  if (typeof value !== 'object' || value === null || !(Symbol.iterator in value)) return undefined;
  const items = [...(value as Iterable<unknown>)];
  return items.every((item): item is string => typeof item === 'string') ? items : undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  let text: string;
  try {
    text = String(value);
  } catch {
    // A Symbol inside an array, a null-prototype object: String() throws, the message must not.
    text = Object.prototype.toString.call(value);
  }
  return `${text} (${value === null ? 'null' : typeof value})`;
}

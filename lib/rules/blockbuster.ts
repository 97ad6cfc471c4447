import { moduleLoader } from '../apis/builtins';
import { BlockingError, formatFrame, isUserFrame } from '../blocking-error';
import type { OutputFormat, OutputTarget } from '../output';
import {
  boolean,
  callback,
  checkOptionsObject,
  checkOutput,
  oneOf,
  onlyWith,
  optionNaming,
  positiveNumber,
} from '../options';
import { AllowList, type CanBlockIn, ModuleScope } from '../apis/allow';
import { enterSkip, exitSkip, isLoopRunning, isSkipping, skipping } from './context';
import { type ReporterOptions, RuleReporter } from './reporting';
import { captureCallSites, type CallSite, toStackFrame } from '../apis/stack';
import { type CanBlockPredicate, DEFAULT_ALLOWANCES, defaultRules, type RuleSpec } from '../apis/table';
import { type AnyFunction, attachCheck, type CheckHook, detachCheck, type WrappedApi } from '../wrap';

/** `raise` throws the BlockingError at the call; `report` writes it (or calls onBlock) and lets the call run. */
export type BlockBusterMode = 'raise' | 'report';

export interface BlockBusterOptions {
  /** Only calls with a frame in one of these modules (names or paths) are checked; default: all. */
  scannedModules?: string | readonly string[] | undefined;
  /** Modules (names or paths) inside scanned ones whose frames do not count as scanned. */
  excludedModules?: string | readonly string[] | undefined;
  /** `raise` (default) or `report`. */
  mode?: BlockBusterMode | undefined;
  /** Report mode and warnUnused: `'stderr'` (default), an fd, or a file path (appended). */
  output?: OutputTarget | undefined;
  /** Report mode and warnUnused: `text` (default) or `json` (one object per line). */
  format?: OutputFormat | undefined;
  /** Report mode: called with each BlockingError instead of writing a line. */
  onBlock?: ((error: BlockingError) => void) | undefined;
  /** Report mode: lines per rolling minute before the rest are only counted. Default 10. */
  maxReportsPerMinute?: number | undefined;
  /** At deactivate(), write one line per canBlockIn allowance that never let a call through. */
  warnUnused?: boolean | undefined;
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
  #api: WrappedApi | undefined;
  readonly #check: CheckHook = { enter: (api, thisArg, args) => this.#enter(api, thisArg, args), exit: exitSkip };

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
    return this.#api !== undefined;
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
    moduleLoader().syncBuiltinESMExports();
    return this;
  }

  /** Restores the original function (no-op when inactive) and refreshes ESM named exports. */
  deactivate(): this {
    this.#unwrap();
    moduleLoader().syncBuiltinESMExports();
    return this;
  }

  #wrap(): void {
    if (this.#api !== undefined) return;
    if (typeof this.#owner[this.#key] !== 'function') throw new TypeError(`${this.fullName} is not a function`);
    // Frozen or non-configurable: skipped (lib/wrap.ts says so once), the rule stays inactive.
    this.#api = attachCheck(this.#owner, this.#key, this.fullName, this.#check);
  }

  #unwrap(): void {
    if (this.#api === undefined) return;
    detachCheck(this.#api, this.#check);
    this.#api = undefined;
  }

  // Runs before each call of the wrapped API; true when the call runs unchecked-below (exitSkip after it).
  #enter(api: WrappedApi, thisArg: unknown, args: IArguments): boolean {
    // Cheapest first: skip flag, then loop state.
    if (isSkipping() || !isLoopRunning()) return false;
    enterSkip();
    try {
      if (!Reflect.apply(this.canBlockPredicate, thisArg, args)) {
        // Captured from the wrapper itself: each frame between here and the wrapper costs V8 a walk.
        const error = this.#inspect(api.wrapper, captureCallSites(api.wrapper, FIRST_PASS_FRAMES), args);
        // Raise mode throws here; report mode writes the report and lets the call run.
        if (error !== undefined) this.#onBlocked(error);
      }
    } catch (error) {
      exitSkip();
      throw error;
    }
    return true;
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
    const given = checkOptionsObject('BlockBuster', options, OPTION_NAMES);
    const scanned = moduleList(given.scannedModules, 'scannedModules');
    const excluded = moduleList(given.excludedModules, 'excludedModules');
    const reporting = reportingOptions(given);
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
      moduleLoader().syncBuiltinESMExports();
    }
    return this;
  }

  /**
   * Restores every original function; harmless when inactive. With warnUnused, writes one line per
   * unused allowance not written before; then closes the output (a file it opened).
   */
  deactivate(): this {
    for (const rule of Object.values(this.functions)) patchRule(rule, false);
    moduleLoader().syncBuiltinESMExports();
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

const NAMING = optionNaming('BlockBuster');

function reportingOptions(options: BlockBusterOptions): ReportingOptions {
  const mode = oneOf<BlockBusterMode>(NAMING, 'mode', options.mode, ['raise', 'report'], 'raise');
  const warnUnused = boolean(NAMING, 'warnUnused', options.warnUnused, false);
  for (const key of ['onBlock', 'maxReportsPerMinute'] as const) {
    if (options[key] !== undefined && mode !== 'report') onlyWith(NAMING, key, NAMING.assign('mode', 'report'));
  }
  for (const key of ['output', 'format'] as const) {
    if (options[key] !== undefined && mode !== 'report' && !warnUnused) {
      onlyWith(NAMING, key, `${NAMING.assign('mode', 'report')} or ${NAMING.assign('warnUnused', true)}`);
    }
  }
  const output = checkOutput(NAMING, options.output ?? 'stderr');
  const format = oneOf<OutputFormat>(NAMING, 'format', options.format, ['text', 'json'], 'text');
  const onBlock = callback(NAMING, 'onBlock', options.onBlock);
  const maxReportsPerMinute = positiveNumber(NAMING, 'maxReportsPerMinute', options.maxReportsPerMinute, 10, 'reports');
  const sink = mode === 'report' || warnUnused ? { output, format, onBlock, maxReportsPerMinute } : undefined;
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

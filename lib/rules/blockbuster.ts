import { syncBuiltinESMExports } from 'node:module';
import { BlockingError, formatFrame, isUserFrame } from '../blocking-error';
import { AllowList, type CanBlockIn, ModuleScope } from './allow';
import { enterSkip, exitSkip, isLoopRunning, isSkipping, skipping } from './context';
import { captureCallSites, type CallSite, toStackFrame } from './stack';
import { type CanBlockPredicate, DEFAULT_ALLOWANCES, defaultRules, type RuleSpec } from './table';

type AnyFunction = (...args: never[]) => unknown;

export interface BlockBusterOptions {
  /** Only calls with a frame in one of these modules (names or paths) are checked; default: all. */
  scannedModules?: string | readonly string[];
  /** Modules (names or paths) inside scanned ones whose frames do not count as scanned. */
  excludedModules?: string | readonly string[];
}

// Most allow-listed callers are near the top: a short first capture is far cheaper than a full one.
const FIRST_PASS_FRAMES = 4;
const MAX_FRAMES = 100;
const neverCanBlock: CanBlockPredicate = () => false;

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

/** One wrapped blocking function: its name, escape predicate, allow-list and activation state. */
export class BlockBusterFunction {
  static {
    patchRule = (rule, on) => (on ? rule.#wrap() : rule.#unwrap());
  }

  /** How errors name the function: `fs.readFileSync`, `fs.Dir.readSync`, `Atomics.wait`. */
  readonly fullName: string;
  /** Escape by arguments: called with the call's `this` and arguments, `true` lets it block. */
  readonly canBlockPredicate: CanBlockPredicate;
  readonly #owner: Record<string, unknown>;
  readonly #key: string;
  readonly #allowList = new AllowList(defaultAllowList());
  readonly #scope: ModuleScope;
  #original: AnyFunction | undefined;
  #wrapper: AnyFunction | undefined;

  /** @internal Built by BlockBuster from the rule table. */
  constructor(spec: RuleSpec, scope: ModuleScope) {
    this.fullName = spec.name;
    this.canBlockPredicate = spec.canBlock ?? neverCanBlock;
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
    this.#owner[this.#key] = wrapper;
    if (this.#owner[this.#key] !== wrapper) throw new Error(`${this.fullName} could not be replaced`);
    this.#original = original as AnyFunction;
    this.#wrapper = wrapper;
  }

  #unwrap(): void {
    if (this.#wrapper === undefined) return;
    // Someone wrapped ours meanwhile: leave theirs in place; ours passes calls through once inactive.
    if (this.#owner[this.#key] === this.#wrapper) this.#owner[this.#key] = this.#original;
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
          const error = rule.#inspect(wrapper, captureCallSites(wrapper, FIRST_PASS_FRAMES));
          if (error !== undefined) throw error;
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
  #inspect(wrapper: AnyFunction, firstSites: CallSite[]): BlockingError | undefined {
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
    return new BlockingError({
      source: 'rule',
      message: `Blocking call to ${this.fullName}${caller === undefined ? '' : ` at ${formatFrame(caller)}`}`,
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

  constructor(options?: BlockBusterOptions) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(`BlockBuster options must be an object, got ${describe(options)}`);
    }
    for (const key of Object.keys(options ?? {})) {
      if (key !== 'scannedModules' && key !== 'excludedModules') throw new TypeError(`BlockBuster: unknown option "${key}"`);
    }
    const scanned = moduleList(options?.scannedModules, 'scannedModules');
    const excluded = moduleList(options?.excludedModules, 'excludedModules');
    // Resolving module names reads package files: blockbuster's own calls are never checked.
    const scope = skipping(() => new ModuleScope(scanned, excluded));
    const table: Record<string, BlockBusterFunction> = Object.create(null) as Record<string, BlockBusterFunction>;
    for (const spec of defaultRules()) table[spec.name] = new BlockBusterFunction(spec, scope);
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
    const wrapped: BlockBusterFunction[] = [];
    try {
      for (const rule of Object.values(this.functions)) {
        if (rule.activated) continue;
        patchRule(rule, true);
        wrapped.push(rule);
      }
    } catch (error) {
      for (const rule of wrapped.reverse()) patchRule(rule, false);
      throw error;
    } finally {
      syncBuiltinESMExports();
    }
    return this;
  }

  /** Restores every original function; harmless when inactive. */
  deactivate(): this {
    for (const rule of Object.values(this.functions)) patchRule(rule, false);
    syncBuiltinESMExports();
    return this;
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
    throw new TypeError(`BlockBuster: ${option} must be a module name or path, or an array of them, got ${describe(value)}`);
  }
  return list;
}

function iterableOfStrings(value: unknown): string[] | undefined {
  if (typeof value !== 'object' || value === null || !(Symbol.iterator in value)) return undefined;
  const items = [...(value as Iterable<unknown>)];
  return items.every((item): item is string => typeof item === 'string') ? items : undefined;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${String(value)} (${value === null ? 'null' : typeof value})`;
}

// One blockbuster session per test process (or worker): a watchdog for the whole run and the rule set,
// with each block attributed to the test that was running when it happened.
import type { BlockingError } from '../blocking-error';
import { readEnv } from '../config';
import { isOptionError, withCode } from '../errors';
import { ENV_VARIABLES } from '../options';
import { watcherOrWarning } from '../no-watchdog';
import { readableReport } from '../output';
import { BlockBuster } from '../rules';
import { AllowList } from '../apis/allow';
import { createWatcher } from '../watch';
import type { InternalWatcher } from '../watch';
import { excuseOf, runQueueWaitMs } from './evidence';
import type { Excuse, ThreadWindow } from './evidence';
import { ownFs } from '../apis/own-fs';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { writeSync } = ownFs;

/** Where the process is in the run, from blockbuster's point of view. */
type Stage = 'loading' | 'test' | 'between';

interface Recorded {
  error: BlockingError;
  stage: Stage;
}

export interface SessionOptions {
  /** Runner name, for messages. */
  runner: string;
  /** Frames that mean "the runner is loading modules" (jest's transform): not the test's block. */
  isLoaderFrame?: (file: string) => boolean;
}

// What each excuse says in a warning line.
const EXCUSES: Record<Excuse, (runner: string) => string> = {
  'no-sample': () => 'no sample saw any code',
  runner: (runner) => `only ${runner}'s or Node's own code was sampled`,
  loader: (runner) => `${runner} was loading a module`,
  'unknown-caller': () => 'native code whose JavaScript caller is not known',
  starved: () => 'the thread was waiting for a CPU',
};

/** Blocks without evidence in the tests' code: the first is said, the rest counted by kind. */
interface Warnings {
  said: boolean;
  counted: Map<Excuse, number>;
  longestMs: number;
}

const LIVE_LINE_AFTER_MS = 2000;

// The functions that run code under allowBlocking(): their frames on a stack allow it.
const ALLOWED_FRAMES = ['runAllowed', 'awaitAllowed'];

/** The test-runner side of blockbuster; one per process, whatever the runner re-evaluates. */
export class TestSession {
  /** @internal */
  readonly watcher: InternalWatcher | undefined;
  readonly rules: BlockBuster | undefined;
  private readonly runner: string;
  private readonly isLoaderFrame: (file: string) => boolean;
  private readonly allowed = new AllowList();
  private stage: Stage = 'loading';
  private recorded: Recorded[] = [];
  private allowCurrent = false;
  private readonly failOnStartup: boolean;
  // When the stage last changed, and the thread's run-queue wait then: the start of a span holding any later block.
  private mark = threadMark();
  private readonly warnings: Warnings = { said: false, counted: new Map(), longestMs: 0 };

  constructor(options: SessionOptions) {
    this.runner = options.runner;
    this.isLoaderFrame = options.isLoaderFrame ?? (() => false);
    const config = readEnv(process.env, { mode: 'strict', rules: true });
    this.allowed.add({ file: __filename, functions: ALLOWED_FRAMES });
    // Each failing test already shows its report: the live line is for tests that hang.
    const liveReportAfterMs = Math.max(LIVE_LINE_AFTER_MS, 2 * config.watch.thresholdMs);
    this.failOnStartup = config.watch.failOnStartup === true;
    // A team's Windows laptop still runs its tests (rule set only) unless BLOCKBUSTER_REQUIRE_WATCHDOG=1.
    // Start-up blocks come to take() too: the runner loading itself is not said unless failOnStartup.
    this.watcher = watcherOrWarning(
      () =>
        createWatcher(
          { ...config.watch, failOnStartup: true, liveReportAfterMs },
          { fail: (error, atExit) => this.take(error, atExit), naming: ENV_VARIABLES },
        ),
      {
        requiredBy: config.requireWatchdog ? 'BLOCKBUSTER_REQUIRE_WATCHDOG=1' : undefined,
        rules: config.rules,
        siblings: true,
      },
    );
    if (config.rules) {
      // Diagnostics: both detectors write lines and no test fails; strict: the call throws in the test.
      this.rules = new BlockBuster(
        config.watch.mode === 'strict'
          ? {}
          : { mode: 'report', output: config.watch.output, format: config.watch.format },
      );
      for (const rule of Object.values(this.rules.functions)) rule.canBlockIn(__filename, ALLOWED_FRAMES);
    }
    process.on('exit', () => this.atExit());
  }

  /** A test file starts loading: rules on before its code runs, so what it captures is the checking function. */
  fileStarted(): void {
    this.settle();
    this.stage = 'loading';
    this.rules?.activate();
  }

  /** The file's tests are over: the runner's own work after them (results, reports) is not checked. */
  fileEnded(): void {
    this.settle();
    this.rules?.deactivate();
  }

  /** A test starts. Blocks since the last test ended (hooks, the runner) are carried into this one. */
  begin(): void {
    // Hooks registered twice (the helper loaded both as CommonJS and as an ES module) run once.
    if (this.stage === 'test') return;
    this.settle();
    this.stage = 'test';
    this.allowCurrent = false;
  }

  /** The test ends: the error to fail it with, or undefined. Pending reports are taken now. */
  end(): BlockingError | undefined {
    if (this.stage !== 'test') return undefined;
    this.watcher?.flush();
    const errors = this.recorded.map((r) => (r.stage === 'between' ? beforeTheTest(r.error) : r.error));
    this.recorded = [];
    this.stage = 'between';
    this.mark = threadMark();
    if (this.allowCurrent) return undefined;
    return combine(errors);
  }

  /** Wraps a test body (or any function): its blocks and blocking calls are allowed. */
  allowBlocking<F extends (...args: never[]) => unknown>(fn: F): F {
    if (typeof fn !== 'function') throw new TypeError(`allowBlocking(fn): fn must be a function, got ${typeof fn}`);
    const session = this;
    const wrapped = function (this: unknown, ...args: never[]): unknown {
      session.allowCurrent = true;
      return runAllowed(fn, this, args);
    };
    // mocha tells a `done`-callback test by the function's length.
    Object.defineProperty(wrapped, 'length', { value: fn.length });
    return wrapped as unknown as F;
  }

  /** Allows blocking while a frame of `functions` in a file ending with `file` is on the stack (both detectors). */
  allowBlockingIn(file: string, functions: string | readonly string[]): void {
    if (typeof file !== 'string' || file === '')
      throw new TypeError(`allowBlockingIn: file must be a non-empty string, got ${String(file)}`);
    const names = typeof functions === 'string' ? [functions] : functions;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) {
      throw new TypeError(
        `allowBlockingIn: functions must be a function name or an array of names, got ${String(functions)}`,
      );
    }
    this.allowed.add({ file, functions: names });
    if (this.rules) for (const rule of Object.values(this.rules.functions)) rule.canBlockIn(file, names);
  }

  // Moves what happened outside tests on: loading-time blocks are logged, others wait for the next test.
  private settle(): void {
    this.watcher?.flush();
    this.mark = threadMark();
    if (this.stage !== 'loading') return;
    for (const { error } of this.recorded) this.log(error, 'while test files were loading, outside any test');
    this.recorded = [];
  }

  // The watcher's strict-mode failure: recorded against the current stage instead of thrown.
  private take(error: BlockingError, atExit: boolean): boolean {
    if (error.frames.some((f) => this.allowed.matches(f.file, f.functionName))) return true;
    const excuse = excuseOf(error, { window: windowSince(this.mark), isLoaderFrame: this.isLoaderFrame });
    if (excuse !== undefined) {
      // The runner starting up is said only when asked for.
      if (error.phase !== 'startup') this.warn(error, excuse);
      else if (this.failOnStartup) this.log(error, 'while the runner started');
      return true;
    }
    if (atExit) {
      // watch() prints it and fails a clean exit; said to be after the tests when it was.
      if (this.stage === 'between') beforeTheTest(error, 'after the last test ended');
      return false;
    }
    this.recorded.push({ error, stage: this.stage });
    return true;
  }

  // A block without evidence in the tests' code: one line for the first, a count at exit for the rest.
  private warn(error: BlockingError, excuse: Excuse): void {
    const warnings = this.warnings;
    if (!warnings.said) {
      warnings.said = true;
      write(
        `blockbuster: a ${Math.round(error.durationMs ?? 0)} ms block failed no test: ${EXCUSES[excuse](this.runner)} (more are counted at exit)`,
      );
      return;
    }
    warnings.counted.set(excuse, (warnings.counted.get(excuse) ?? 0) + 1);
    warnings.longestMs = Math.max(warnings.longestMs, error.durationMs ?? 0);
  }

  private sayWarningCount(): void {
    const { counted, longestMs } = this.warnings;
    const total = [...counted.values()].reduce((a, b) => a + b, 0);
    if (total === 0) return;
    const kinds = [...counted].map(([excuse, n]) => `${n}: ${EXCUSES[excuse](this.runner)}`).join('; ');
    write(
      `blockbuster: ${total} more block${total === 1 ? '' : 's'} (longest ${Math.round(longestMs)} ms) failed no test: no evidence in the tests' code (${kinds})`,
    );
    counted.clear();
  }

  // Blocks after the last test (after-all hooks, teardown) fail the process, not silently nothing.
  private atExit(): void {
    this.watcher?.flush();
    this.sayWarningCount();
    if (this.recorded.length === 0) return;
    for (const { error } of this.recorded) write(readableReport(beforeTheTest(error, 'after the last test ended')));
    this.recorded = [];
    if (process.exitCode === undefined || Number(process.exitCode) === 0) process.exitCode = 1;
  }

  private log(error: BlockingError, where: string): void {
    write(`blockbuster: ${error.message} (${where}; not a test failure)`);
  }
}

interface ThreadMark {
  atMs: number;
  runQueueMs: number | undefined;
}

function threadMark(): ThreadMark {
  return { atMs: performance.now(), runQueueMs: runQueueWaitMs() };
}

// Blocks reported after a mark began after it: the stage changes only once pending reports are taken.
function windowSince(mark: ThreadMark): ThreadWindow | undefined {
  const runQueueMs = runQueueWaitMs();
  if (runQueueMs === undefined || mark.runQueueMs === undefined) return undefined;
  return { wallMs: performance.now() - mark.atMs, runQueueMs: runQueueMs - mark.runQueueMs };
}

function write(text: string): void {
  try {
    writeSync(2, `${text}\n`);
  } catch {
    // stderr closed: nothing else to tell.
  }
}

// Named for the allow-lists: a call with this frame on its stack may block.
function runAllowed(fn: (...args: never[]) => unknown, thisArg: unknown, args: never[]): unknown {
  const result: unknown = Reflect.apply(fn, thisArg, args);
  return isThenable(result) ? awaitAllowed(result) : result;
}

// Awaiting here keeps this frame in V8's async stack of everything the body does after an await.
async function awaitAllowed(result: PromiseLike<unknown>): Promise<unknown> {
  return await result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function retitle(error: BlockingError, message: string): BlockingError {
  const oldHead = `${error.name}: ${error.message}`;
  error.message = message;
  if (error.stack?.startsWith(oldHead)) error.stack = `${error.name}: ${message}${error.stack.slice(oldHead.length)}`;
  return error;
}

const placed = new WeakSet<BlockingError>();

// Says when a block that no test was running for happened (once per error).
function beforeTheTest(
  error: BlockingError,
  when = 'before this test started: in a hook or between tests',
): BlockingError {
  if (placed.has(error)) return error;
  placed.add(error);
  return retitle(error, `${error.message} [${when}]`);
}

// One failure per test: the longest block, naming how many more there were; none without blocks.
function combine(errors: BlockingError[]): BlockingError | undefined {
  const sorted = [...errors].sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0));
  const [worst, ...rest] = sorted;
  if (worst === undefined || rest.length === 0) return worst;
  const others = rest
    .map((e) => `${Math.round(e.durationMs ?? 0)} ms in ${e.culprit?.functionName || '(anonymous)'}`)
    .join(', ');
  return retitle(
    worst,
    `${worst.message} (+${rest.length} more block${rest.length === 1 ? '' : 's'} in this test: ${others})`,
  );
}

const SESSION = Symbol.for('blockbuster.testSession');

/** The process's session, created on first use; a bad BLOCKBUSTER_* variable throws a coded option error. */
export function session(options: SessionOptions): TestSession {
  const store = globalThis as { [SESSION]?: TestSession };
  store[SESSION] ??= new TestSession(options);
  return store[SESSION];
}

/** The message a runner shows for a bad BLOCKBUSTER_* variable. */
export function configProblem(error: unknown): string | undefined {
  return isOptionError(error) ? `blockbuster: ${withCode(error)}` : undefined;
}

// mocha helper: `--require blockbuster/mocha` (a root hooks plugin). A failing root afterEach hook
// would stop mocha's whole run, so the block fails the runnable (test or hook) it happened in: the
// first root hook wraps mocha's Runnable#run.
import { readableReport } from './output';
import { helperExports, startSession } from './testing/entry';

const current = startSession({ runner: 'mocha' });
// Before the spec files load, so the functions they capture are the checking ones.
current.fileStarted();

type Done = (error?: unknown) => void;
interface RunnableLike {
  run(this: RunnableLike, done: Done): unknown;
}

const PATCHED = Symbol.for('blockbuster.mochaRunnablePatched');

// Runnable.prototype is the object in the hook's prototype chain that owns run().
function runnablePrototype(runnable: object): (RunnableLike & { [PATCHED]?: true }) | undefined {
  for (
    let proto = Object.getPrototypeOf(runnable) as object | null;
    proto !== null;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    if (Object.prototype.hasOwnProperty.call(proto, 'run')) return proto as RunnableLike;
  }
  return undefined;
}

function patch(runnable: object | undefined): void {
  const proto = runnable === undefined ? undefined : runnablePrototype(runnable);
  if (proto === undefined) throw new Error('blockbuster/mocha: cannot find Runnable#run on the running hook');
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const run = proto.run;
  proto.run = function (this: RunnableLike, done: Done): unknown {
    current.begin();
    return run.call(this, (error?: unknown) => {
      const blocked = current.end();
      if (blocked === undefined) return done(error);
      blocked.stack = readableReport(blocked);
      if (error === undefined || error === null) return done(blocked);
      // The runnable failed on its own: that error is the failure, the block is still said.
      process.stderr.write(`${blocked.stack}\n`);
      return done(error);
    });
  };
}

export const mochaHooks = {
  beforeAll(this: { test?: object }): void {
    patch(this.test);
  },
  // The run is over: mocha's reporters may write files synchronously.
  afterAll(): void {
    current.fileEnded();
  },
};

export const { allowBlocking, allowBlockingIn } = helperExports(current);

// jest helper: `setupFilesAfterEnv: ['blockbuster/jest']`. Jest evaluates this file in each test
// file's sandbox; the session itself is loaded by Node's own loader, once per worker process.
import type * as SessionModule from './testing/session';
import type * as EntryModule from './testing/entry';

type ModuleClass = typeof import('node:module');

// Jest hands test code a subclass of Node's Module whose createRequire loads into the sandbox;
// its parent class is Node's own.
function hostModule(): ModuleClass {
  const sandboxed = require('node:module') as ModuleClass;
  const parent = Object.getPrototypeOf(sandboxed) as unknown;
  return typeof parent === 'function' && typeof (parent as Partial<ModuleClass>).createRequire === 'function'
    ? (parent as ModuleClass)
    : sandboxed;
}

const hostRequire = hostModule().createRequire(__filename);
const { startSession, helperExports } = hostRequire('./testing/entry') as typeof EntryModule;

// jest's own module loading (transform, require) inside a test is not the test's block.
const JEST_LOADER = /[\\/]node_modules[\\/](jest-runtime|@jest[\\/]transform)[\\/]/;

type Hook = (fn: () => void) => void;
type Hooks = { beforeEach: Hook; afterEach: Hook; afterAll: Hook };

function jestHooks(): Hooks {
  const scope = globalThis as Partial<Record<keyof Hooks, unknown>>;
  if (
    typeof scope.beforeEach === 'function' &&
    typeof scope.afterEach === 'function' &&
    typeof scope.afterAll === 'function'
  ) {
    return scope as Hooks;
  }
  // injectGlobals: false
  return require('@jest/globals') as Hooks;
}

const current: SessionModule.TestSession = startSession({
  runner: 'jest',
  isLoaderFrame: (file) => JEST_LOADER.test(file),
});
current.fileStarted();
const hooks = jestHooks();
hooks.beforeEach(() => current.begin());
hooks.afterEach(() => {
  const error = current.end();
  if (error !== undefined) throw error;
});
// In band, the runner's own work after the file (results, reports) runs in this process.
hooks.afterAll(() => current.fileEnded());

export const { allowBlocking, allowBlockingIn } = helperExports(current);

// vitest helper core: hooks registered from a setup file, which vitest runs before each test file.
import type { HelperExports } from './entry';
import { helperExports, startSession } from './entry';

type Hook = (fn: () => void) => void;

export interface VitestHooks {
  beforeEach: Hook;
  afterEach: Hook;
  afterAll: Hook;
}

/** Registers the hooks for the test file being collected; returns the helper's exports. */
export function installVitest(hooks: VitestHooks): HelperExports {
  const current = startSession({ runner: 'vitest' });
  current.fileStarted();
  hooks.beforeEach(() => current.begin());
  // Registered first, so it runs after the test file's own afterEach hooks (vitest runs them as a stack).
  hooks.afterEach(() => {
    const error = current.end();
    if (error !== undefined) throw error;
  });
  hooks.afterAll(() => current.fileEnded());
  return helperExports(current);
}

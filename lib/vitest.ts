// vitest helper, CommonJS form (`require('blockbuster/vitest')`): needs vitest's globals
// (`test.globals: true`); `setupFiles: ['blockbuster/vitest']` loads the ES module form instead.
import { installVitest } from './testing/vitest';
import type { VitestHooks } from './testing/vitest';

function globalHooks(): VitestHooks {
  const scope = globalThis as Partial<Record<keyof VitestHooks, unknown>>;
  if (
    typeof scope.beforeEach !== 'function' ||
    typeof scope.afterEach !== 'function' ||
    typeof scope.afterAll !== 'function'
  ) {
    throw new Error(
      "blockbuster/vitest: require() needs vitest's globals (test.globals: true); otherwise load it as setupFiles: ['blockbuster/vitest'] (ES module), inside a vitest run",
    );
  }
  return scope as VitestHooks;
}

export const { allowBlocking, allowBlockingIn } = installVitest(globalHooks());

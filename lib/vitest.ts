// vitest helper, CommonJS form (`require('blockbuster/vitest')`): needs vitest's globals
// (`test.globals: true`); `setupFiles: ['blockbuster/vitest']` loads the ES module form instead.
import { installVitest } from './testing/vitest';
import type { VitestHooks } from './testing/vitest';

function globalHooks(): VitestHooks {
  const scope = globalThis as { beforeEach?: unknown; afterEach?: unknown };
  if (typeof scope.beforeEach !== 'function' || typeof scope.afterEach !== 'function') {
    throw new Error(
      "blockbuster/vitest: require() needs vitest's globals (test.globals: true); otherwise load it as setupFiles: ['blockbuster/vitest'] (ES module), inside a vitest run",
    );
  }
  return { beforeEach: scope.beforeEach as VitestHooks['beforeEach'], afterEach: scope.afterEach as VitestHooks['afterEach'] };
}

export const { allowBlocking, allowBlockingIn } = installVitest(globalHooks());

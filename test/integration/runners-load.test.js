'use strict';
// No false failures in CI: under every runner, with two busy processes competing for the CPUs, tests
// that only wait for a timer never fail (a starved runner, its own code and blocks nobody sampled are
// warnings), while the blocking and sync-I/O tests of the same load still fail by name.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { RUNNERS, linkSelf, runSuite, byTitle, assertBlockingVerdicts } = require('../helpers');

const TIMERS = path.join(RUNNERS, 'timers');
// 5 files of 10 tests per runner: 50 tests, each waiting 200 ms, and the runner's start-up per file
// (a process per file under node:test, a sandbox per file under jest and vitest).
const TIMER_ENV = { FIXTURE_TESTS_PER_FILE: '10', FIXTURE_WAIT_MS: '200' };
// Each suite takes 15-30 s on its own; the other builds sharing the machine can make that minutes.
const TIMEOUT_MS = 300_000;
const TIMER_FILES = { mocha: [1, 2, 3, 4, 5].map((i) => `${i}.spec.js`), 'node-test': [1, 2, 3, 4, 5].map((i) => `${i}.test.mjs`) };
const SUITES = {
  vitest: { config: 'vitest.config.mjs' },
  jest: { config: 'jest.config.js' },
  mocha: { files: TIMER_FILES.mocha },
  'node-test': { files: TIMER_FILES['node-test'] },
};
// At most one test process per file (vitest's forks, node:test; jest's workers are fewer), one for mocha.
const TEST_PROCESSES = { vitest: 5, jest: 5, mocha: 1, 'node-test': 5 };
const BLOCKING = {
  vitest: { config: 'vitest.config.mjs' },
  jest: { config: 'jest.config.js' },
  mocha: { files: ['blocking.spec.js'] },
  'node-test': { files: ['blocking.test.mjs'] },
};

let busy = [];

before(() => {
  linkSelf();
  // Two processes spinning at the runners' own priority: the test processes wait for a CPU.
  busy = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
});

after(() => {
  for (const child of busy) child.kill('SIGKILL');
});

// The four runners at once: more competition for the CPUs, a quarter of the wall time.
describe('under two busy processes', { concurrency: true }, () => {
  for (const [runner, suite] of Object.entries(SUITES)) {
    test(`${runner}: 50 timer-only tests, none fails`, async (t) => {
      const started = Date.now();
      const { code, stderr, results } = await runSuite(runner, { cwd: path.join(TIMERS, runner), env: TIMER_ENV, timeoutMs: TIMEOUT_MS, ...suite });
      t.diagnostic(`${runner}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const failed = results.filter((r) => r.status !== 'passed');
      const summary = `${failed.length} of ${results.length} tests failed: ${failed.map((r) => r.message.split('\n')[0]).join(' | ')}`;
      assert.equal(failed.length, 0, `${summary}\n${stderr}`);
      assert.equal(results.length, 50, stderr);
      assert.equal(code, 0, stderr);
      // Runner start-up is quiet, and warnings are compact: a line and a count per test process at most.
      assert.doesNotMatch(stderr, /during start-up/);
      const warnings = stderr.split('\n').filter((line) => /^blockbuster: .* failed no test: /.test(line));
      assert.ok(warnings.length <= 2 * TEST_PROCESSES[runner], `${warnings.length} warning lines\n${stderr}`);
    });

    test(`${runner}: the blocking and sync-I/O tests still fail by name`, async () => {
      // 10x the threshold in CPU time, as in runners.test.js.
      const env = { BLOCKBUSTER_THRESHOLD_MS: '50', FIXTURE_BLOCK_MS: '500' };
      const { stdout, stderr, results } = await runSuite(runner, { cwd: path.join(RUNNERS, runner), env, timeoutMs: TIMEOUT_MS, ...BLOCKING[runner] });
      assertBlockingVerdicts(byTitle(results), stdout + stderr);
    });
  }
});

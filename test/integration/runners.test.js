'use strict';
// Each runner helper against its real runner: a block fails exactly the test that blocked, a forbidden
// sync call fails its test, the clean and the allowed tests pass; read from the runner's own report.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { RUNNERS, linkSelf, runSuite, byTitle, assertBlockingVerdicts } = require('../helpers');

// Blocks of 10x the threshold in CPU time: the machine is shared with other builds.
const ENV = { BLOCKBUSTER_THRESHOLD_MS: '50', FIXTURE_BLOCK_MS: '500' };

test.before(linkSelf);

test('vitest 4: setupFiles: [blockbuster/vitest]', async () => {
  const { code, stdout, stderr, results } = await runSuite('vitest', { cwd: path.join(RUNNERS, 'vitest'), config: 'vitest.config.mjs', env: ENV });
  assert.equal(code, 1, stderr);
  assertBlockingVerdicts(byTitle(results), stdout + stderr);
});

test('vitest 4, CommonJS form: require(blockbuster/vitest) with globals', async () => {
  const { code, stdout, stderr, results } = await runSuite('vitest', { cwd: path.join(RUNNERS, 'vitest'), config: 'vitest.require.config.mjs', env: ENV });
  assert.equal(code, 1, stderr);
  assertBlockingVerdicts(byTitle(results), stdout + stderr);
});

test('jest 30: setupFilesAfterEnv: [blockbuster/jest]', async () => {
  const { code, stdout, stderr, results } = await runSuite('jest', { cwd: path.join(RUNNERS, 'jest'), config: 'jest.config.js', env: ENV });
  assert.equal(code, 1, stderr);
  assertBlockingVerdicts(byTitle(results), stdout + stderr);
});

test('jest 30, ES module form: import blockbuster/jest (--experimental-vm-modules)', async () => {
  const env = { ...ENV, NODE_OPTIONS: '--experimental-vm-modules' };
  const { code, stdout, stderr, results } = await runSuite('jest', { cwd: path.join(RUNNERS, 'jest'), config: 'jest.esm.config.js', env });
  assert.equal(code, 1, stderr);
  assertBlockingVerdicts(byTitle(results), stdout + stderr);
});

test('mocha: --require blockbuster/mocha', async () => {
  const { code, stderr, results } = await runSuite('mocha', { cwd: path.join(RUNNERS, 'mocha'), files: ['blocking.spec.js'], env: ENV });
  const verdicts = byTitle(results);
  assertBlockingVerdicts(verdicts, stderr);
  assert.equal(code, 2, 'mocha exits with the number of failures');
  // The readable report: the culprit's code frame is in the failure.
  assert.match(verdicts['blocks the loop'].message, />\s*\d+ \|\s+(do used = process\.cpuUsage\(start\);|while \(used\.user)/);
});

test('node:test: node --test --import blockbuster/node-test', async () => {
  const { code, stderr, results } = await runSuite('node-test', { cwd: path.join(RUNNERS, 'node-test'), files: ['blocking.test.mjs'], env: ENV });
  assertBlockingVerdicts(byTitle(results), stderr);
  assert.equal(code, 1, stderr);
});

test('runner start-up is quiet unless BLOCKBUSTER_FAIL_ON_STARTUP=1 (vitest and node:test load after the watcher starts)', async () => {
  // At a 1 ms threshold the runner loading itself always blocks before the loop first turns.
  const env = { FIXTURE_TESTS_PER_FILE: '1', FIXTURE_WAIT_MS: '10', BLOCKBUSTER_THRESHOLD_MS: '1' };
  const suites = { vitest: { config: 'vitest.config.mjs', files: ['1.test.mjs'] }, 'node-test': { files: ['1.test.mjs'] } };
  for (const [runner, suite] of Object.entries(suites)) {
    const cwd = path.join(RUNNERS, 'timers', runner);
    const quiet = await runSuite(runner, { cwd, env, ...suite });
    assert.equal(quiet.results.length, 1, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /during start-up/, runner);
    const said = await runSuite(runner, { cwd, env: { ...env, BLOCKBUSTER_FAIL_ON_STARTUP: '1' }, ...suite });
    assert.match(said.stderr, /blockbuster: Event loop blocked for \d+ ms .*during start-up .*\(while the runner started; not a test failure\)/, runner);
  }
});

/** Runs a node:test fixture; `results` by test name, `stderr` what the test file's process wrote there. */
async function nodeTest(file, env) {
  const out = await runSuite('node-test', { cwd: path.join(RUNNERS, 'node-test'), files: [file], env: { ...ENV, ...env } });
  return { ...out, results: byTitle(out.results) };
}

test('node:test: a block in a hook or in a timer a test left behind fails what the runner was running', async () => {
  const { stdout, stderr, results } = await nodeTest('attribution.test.mjs');
  const context = `${stdout}\n${stderr}`;
  assert.equal(results['has a slow beforeEach'].status, 'failed', context);
  assert.match(results['has a slow beforeEach'].message, /Event loop blocked for \d+ ms in slowHook \(/, context);
  assert.equal(results['leaves a timer behind'].status, 'passed', context);
  assert.equal(results['is running when the timer fires'].status, 'failed', context);
  assert.match(results['is running when the timer fires'].message, /Event loop blocked for \d+ ms in lateWork \(/, context);
  assert.equal(results['runs after all that'].status, 'passed', context);
  assert.equal(results['calls an allowed helper'].status, 'passed', context);
  // Outside any test: said, never silently lost; at load time not a failure, after the last test a failed exit.
  assert.match(stderr, /blockbuster: Event loop blocked for \d+ ms in loadingWork \(.*\) .*\(while test files were loading, outside any test; not a test failure\)/);
  // The syscall evidence may follow the culprit (", in futex": a sample landed in a GC's wait).
  assert.match(stderr, /BlockingError: Event loop blocked for \d+ ms in afterAllWork \(.*\).*\[after the last test ended\]/);
});

test('a helper with a bad BLOCKBUSTER_* variable fails the run, naming it', async () => {
  const { code, stderr, results } = await nodeTest('blocking.test.mjs', { BLOCKBUSTER_MODE: 'loud' });
  assert.notEqual(code, 0);
  assert.match(stderr, /blockbuster: BLOCKBUSTER_MODE must be 'diagnostics' or 'strict', got "loud"/);
  assert.equal(results['stays clean'], undefined, 'no test ran');
});

test('BLOCKBUSTER_MODE=diagnostics: both detectors write lines, no test fails', async () => {
  const { stdout, stderr, results } = await nodeTest('blocking.test.mjs', { BLOCKBUSTER_MODE: 'diagnostics' });
  assert.deepEqual(Object.values(results).map((r) => r.status), ['passed', 'passed', 'passed', 'passed'], stdout);
  assert.match(stderr, /blockbuster: Event loop blocked for \d+ ms in blockTheLoop/);
  assert.match(stderr, /Blocking call to fs\.readFileSync at readFixtureSync/);
});

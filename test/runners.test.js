'use strict';
// Each runner helper against its real runner: a block fails exactly the test that blocked, a forbidden
// sync call fails its test, the clean and the allowed tests pass; read from the runner's own report.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RUNNERS, linkSelf, binOf, run } = require('./runner-helpers');

// Blocks of 10x the threshold: the machine is shared with other builds.
const ENV = { BLOCKBUSTER_THRESHOLD_MS: '100', FIXTURE_BLOCK_MS: '1000' };

test.before(linkSelf);

function tempFile(t, name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-runner-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

/** The checks every runner must pass, given `{ title: { status, message } }` from its report. */
function assertVerdicts(results, output) {
  const context = `${JSON.stringify(results, null, 1)}\n${output}`;
  assert.deepEqual(Object.keys(results).sort(), ['blocks the loop', 'may block when allowed', 'reads a file synchronously after an await', 'stays clean'], context);
  assert.equal(results['blocks the loop'].status, 'failed', context);
  assert.match(results['blocks the loop'].message, /BlockingError: Event loop blocked for \d+ ms in blockTheLoop \(/, context);
  assert.equal(results['reads a file synchronously after an await'].status, 'failed', context);
  assert.match(results['reads a file synchronously after an await'].message, /BlockingError: Blocking call to fs\.readFileSync at readFixtureSync \(/, context);
  assert.equal(results['stays clean'].status, 'passed', context);
  assert.equal(results['may block when allowed'].status, 'passed', context);
}

// vitest and jest write the same JSON shape.
function fromJestLikeJson(report) {
  const results = {};
  for (const file of report.testResults) {
    for (const a of file.assertionResults) results[a.title] = { status: a.status, message: a.failureMessages.join('\n') };
  }
  return results;
}

test('vitest 4: setupFiles: [blockbuster/vitest]', async (t) => {
  const out = tempFile(t, 'vitest.json');
  const cwd = path.join(RUNNERS, 'vitest');
  const { code, stdout, stderr } = await run([binOf('vitest'), 'run', '--config', 'vitest.config.mjs', '--reporter=json', `--outputFile=${out}`], { cwd, env: ENV });
  assert.equal(code, 1, stderr);
  assertVerdicts(fromJestLikeJson(JSON.parse(fs.readFileSync(out, 'utf8'))), stdout + stderr);
});

test('vitest 4, CommonJS form: require(blockbuster/vitest) with globals', async (t) => {
  const out = tempFile(t, 'vitest.json');
  const cwd = path.join(RUNNERS, 'vitest');
  const { code, stdout, stderr } = await run([binOf('vitest'), 'run', '--config', 'vitest.require.config.mjs', '--reporter=json', `--outputFile=${out}`], { cwd, env: ENV });
  assert.equal(code, 1, stderr);
  assertVerdicts(fromJestLikeJson(JSON.parse(fs.readFileSync(out, 'utf8'))), stdout + stderr);
});

test('jest 30: setupFilesAfterEnv: [blockbuster/jest]', async (t) => {
  const out = tempFile(t, 'jest.json');
  const cwd = path.join(RUNNERS, 'jest');
  const { code, stdout, stderr } = await run([binOf('jest'), '--config', 'jest.config.js', '--ci', '--json', `--outputFile=${out}`], { cwd, env: ENV });
  assert.equal(code, 1, stderr);
  assertVerdicts(fromJestLikeJson(JSON.parse(fs.readFileSync(out, 'utf8'))), stdout + stderr);
});

test('jest 30, ES module form: import blockbuster/jest (--experimental-vm-modules)', async (t) => {
  const out = tempFile(t, 'jest.json');
  const cwd = path.join(RUNNERS, 'jest');
  const env = { ...ENV, NODE_OPTIONS: '--experimental-vm-modules' };
  const { code, stdout, stderr } = await run([binOf('jest'), '--config', 'jest.esm.config.js', '--ci', '--json', `--outputFile=${out}`], { cwd, env });
  assert.equal(code, 1, stderr);
  assertVerdicts(fromJestLikeJson(JSON.parse(fs.readFileSync(out, 'utf8'))), stdout + stderr);
});

test('mocha: --require blockbuster/mocha', async () => {
  const cwd = path.join(RUNNERS, 'mocha');
  const { code, stdout, stderr } = await run([binOf('mocha'), '--require', 'blockbuster/mocha', '--reporter', 'json', 'blocking.spec.js'], { cwd, env: ENV });
  const report = JSON.parse(stdout);
  const results = {};
  for (const t of report.tests) {
    results[t.title] = { status: t.err && t.err.message ? 'failed' : 'passed', message: t.err && t.err.stack ? t.err.stack : '' };
  }
  assertVerdicts(results, stderr);
  assert.equal(report.stats.failures, 2, stderr);
  assert.equal(code, 2, 'mocha exits with the number of failures');
  // The readable report: the culprit's code frame is in the failure.
  assert.match(results['blocks the loop'].message, />\s*\d+ \|\s+while \(Date\.now\(\) < end\);/);
});

test('node:test: node --test --import blockbuster/node-test', async () => {
  const cwd = path.join(RUNNERS, 'node-test');
  const { code, stdout, stderr } = await run(
    ['--test', '--import', 'blockbuster/node-test', '--test-reporter=./json-reporter.mjs', 'blocking.test.mjs'],
    { cwd, env: ENV },
  );
  const results = {};
  for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const r = JSON.parse(line);
    if (r.name !== undefined) results[r.name] = { status: r.status, message: r.message ?? '' };
  }
  assertVerdicts(results, stderr);
  assert.equal(code, 1, stderr);
});

/** Runs a node:test fixture; `results` by test name, `stderr` what the test file's process wrote there. */
async function nodeTest(file, env) {
  const cwd = path.join(RUNNERS, 'node-test');
  const out = await run(['--test', '--import', 'blockbuster/node-test', '--test-reporter=./json-reporter.mjs', file], { cwd, env: { ...ENV, ...env } });
  const events = out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const results = Object.fromEntries(events.filter((e) => e.name !== undefined).map((e) => [e.name, e]));
  const stderr = events.filter((e) => e.stderr !== undefined).map((e) => e.stderr).join('') + out.stderr;
  return { ...out, results, stderr };
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
  assert.match(stderr, /BlockingError: Event loop blocked for \d+ ms in afterAllWork \(.*\) .*\[after the last test ended\]/);
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

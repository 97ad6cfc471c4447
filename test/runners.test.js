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
const ENV = { BLOCKBUSTER_THRESHOLD_MS: '50', FIXTURE_BLOCK_MS: '500' };

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

test('jest 30: setupFilesAfterEnv: [blockbuster/jest]', async (t) => {
  const out = tempFile(t, 'jest.json');
  const cwd = path.join(RUNNERS, 'jest');
  const { code, stdout, stderr } = await run([binOf('jest'), '--config', 'jest.config.js', '--ci', '--json', `--outputFile=${out}`], { cwd, env: ENV });
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
    results[r.name] = { status: r.status, message: r.message ?? '' };
  }
  assertVerdicts(results, stderr);
  assert.equal(code, 1, stderr);
});

'use strict';
// unusedAllowances() and warnUnused in real processes: which canBlockIn entries never fired.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runRuleFixture, RULE_FIXTURES } = require('../../helpers');

const fixture = path.join(RULE_FIXTURES, 'unused-allowances.js');
const NEVER_CALLED = { rule: 'fs.statSync', file: fixture, functions: ['neverCalled'] };
const NO_SUCH_FILE = { rule: 'fs.statSync', file: 'no/such/file.js', functions: ['*'] };
const OPEN_LATER = { rule: 'fs.openSync', file: 'src/never.js', functions: ['openLater'] };
const EXISTS_BOTH = { rule: 'fs.existsSync', file: fixture, functions: ['usedInSecondCycle', 'neverEither'] };
const EXISTS_ONE = { rule: 'fs.existsSync', file: fixture, functions: ['neverEither'] };

/** stderr split at the fixture's markers: lines written at the first and at the second deactivate(). */
function sections(stderr) {
  const [, first = '', second = ''] = stderr.split(/^--- (?:first|second) deactivate\n/m);
  return [first, second].map((text) => text.split('\n').filter(Boolean));
}

function assertUsage(report) {
  assert.deepEqual(report.calls, ['ran', 'ran', 'ran'], 'every allowed call ran');
  assert.equal(report.secondCycleCall, 'ran');
  // usedFn let statSync and readFileSync through; '*' and the obj.method name were used too.
  assert.deepEqual(report.beforeDeactivate, [EXISTS_BOTH, NEVER_CALLED, NO_SUCH_FILE]);
  assert.deepEqual(report.afterSecondCycle, [EXISTS_ONE, OPEN_LATER, NEVER_CALLED, NO_SUCH_FILE]);
}

test('warnUnused (text): one line per unused allowance at deactivate(), each written once per instance', () => {
  const { report, status, stderr } = runRuleFixture('unused-allowances.js', { args: ['text'] });
  assert.equal(status, 0, stderr);
  assertUsage(report);
  assert.deepEqual(sections(stderr), [
    [
      `blockbuster: allowance never used: fs.existsSync in ${fixture} (usedInSecondCycle, neverEither)`,
      `blockbuster: allowance never used: fs.statSync in ${fixture} (neverCalled)`,
      'blockbuster: allowance never used: fs.statSync in no/such/file.js (*)',
    ],
    // neverEither was written already; only the allowance added since is new.
    ['blockbuster: allowance never used: fs.openSync in src/never.js (openLater)'],
  ]);
});

test('warnUnused (json): one UnusedAllowance object per line', () => {
  const { report, status, stderr } = runRuleFixture('unused-allowances.js', { args: ['json'] });
  assert.equal(status, 0, stderr);
  assertUsage(report);
  const [first, second] = sections(stderr).map((lines) => lines.map((line) => JSON.parse(line)));
  assert.deepEqual(first, [EXISTS_BOTH, NEVER_CALLED, NO_SUCH_FILE].map((u) => ({ name: 'UnusedAllowance', ...u })));
  assert.deepEqual(second, [{ name: 'UnusedAllowance', ...OPEN_LATER }]);
});

test('without warnUnused nothing is written; unusedAllowances() still answers', () => {
  const { report, status, stderr } = runRuleFixture('unused-allowances.js', { args: ['quiet'] });
  assert.equal(status, 0, stderr);
  assertUsage(report);
  assert.deepEqual(sections(stderr), [[], []]);
});

test('warnUnused with only single rules activated: the output opens at deactivate(); a path that fails then falls back to stderr', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-unused-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const line = 'blockbuster: allowance never used: fs.statSync in src/x.js (neverCalled)';
  const file = path.join(dir, 'unused.log');
  const toFile = runRuleFixture('unused-single-rule.js', { args: [file] });
  assert.equal(toFile.status, 0, toFile.stderr);
  assert.equal(fs.readFileSync(file, 'utf8'), `${line}\n`);
  assert.equal(toFile.report.unused, 1, 'still listed by unusedAllowances() after being written');
  const fallback = runRuleFixture('unused-single-rule.js', { args: [path.join(dir, 'missing-dir', 'unused.log')] });
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.equal(fallback.stderr, `${line}\n`);
});

'use strict';
// Every default rule, in a real process: silent at start-up, throws in the loop, both escapes, restore.
const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { BlockBuster } = require('../../../dist');
const { runRuleFixture } = require('../../helpers');

const names = Object.keys(new BlockBuster().functions);

function sqliteRules() {
  if (!names.some((name) => name.startsWith('sqlite.'))) return [];
  const { DatabaseSync, StatementSync } = process.getBuiltinModule('node:sqlite');
  return [
    ...['open', 'exec', 'applyChangeset', 'loadExtension', 'serialize'].filter((k) => k in DatabaseSync.prototype).map((k) => `sqlite.DatabaseSync.${k}`),
    ...['run', 'get', 'all', 'iterate'].map((k) => `sqlite.StatementSync.${k}`),
  ];
}
let run;
before(() => {
  run = runRuleFixture('every-rule.js');
});

test('the table has every *Sync function of fs and zlib of the running Node, and the listed others', () => {
  const expected = [
    ...Object.keys(fs).filter((k) => k.endsWith('Sync') && typeof fs[k] === 'function').map((k) => `fs.${k}`),
    'fs.realpathSync.native', 'fs.Dir.readSync', 'fs.Dir.closeSync',
    'child_process.execSync', 'child_process.execFileSync', 'child_process.spawnSync',
    ...Object.keys(zlib).filter((k) => k.endsWith('Sync') && typeof zlib[k] === 'function').map((k) => `zlib.${k}`),
    ...['pbkdf2Sync', 'scryptSync', 'hkdfSync', 'generateKeyPairSync', 'generateKeySync', 'generatePrimeSync', 'checkPrimeSync'].map((k) => `crypto.${k}`),
    'Atomics.wait',
    // Present only when node:sqlite loads without a warning (which sqlite.test.js checks per Node line).
    ...sqliteRules(),
  ];
  assert.deepEqual([...names].sort(), [...expected].sort());
  assert.deepEqual(Object.keys(run.report.results).sort(), [...names].sort());
});

describe('each default rule', () => {
  for (const name of names) {
    test(name, () => {
      const r = run.report.results[name];
      assert.notEqual(r.startup, 'blocked', 'silent during start-up');
      assert.equal(r.activated, true);
      assert.equal(r.loop, 'blocked', 'throws BlockingError once the loop runs');
      assert.notEqual(r.escapeByAllowList, 'blocked', 'canBlockIn lets it through');
      if ('escapeByPredicate' in r) assert.notEqual(r.escapeByPredicate, 'blocked', 'its predicate lets it through');
      assert.notEqual(r.afterDeactivate, 'blocked', 'silent after deactivate');
      assert.equal(r.restored, true, 'the original function is back, same identity');
    });
  }
});

test('predicate escapes: writes to stderr and a zero-timeout Atomics.wait run', () => {
  assert.equal(run.report.results['fs.writeSync'].escapeByPredicate, 'ran');
  assert.equal(run.report.results['Atomics.wait'].escapeByPredicate, 'ran');
  // fsync of a pipe fails with EINVAL: what matters is that the call reached the real function.
  assert.notEqual(run.report.results['fs.fsyncSync'].escapeByPredicate, 'blocked');
});

test('the error names the call and the caller, and its stack starts at the call site', () => {
  const { error, fixture } = run.report;
  assert.match(error.message, /^Blocking call to fs\.readFileSync at readConfig \(.*every-rule\.js:\d+:\d+\)$/);
  assert.equal(error.source, 'rule');
  assert.equal(error.blockingCall, 'fs.readFileSync');
  assert.equal(error.culprit.functionName, 'readConfig');
  assert.equal(error.culprit.file, fixture);
  const stack = error.stack.split('\n');
  assert.equal(stack[0], `BlockingError: ${error.message}`);
  assert.match(stack[1], /^ {4}at readConfig \(.*every-rule\.js:\d+:\d+\)$/);
  assert.ok(!/[\\/]dist[\\/]rules[\\/]/.test(error.stack), 'no blockbuster frame in the stack');
});

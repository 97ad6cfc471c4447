'use strict';
// node:sqlite (Node 22.5+): rules only when loading the module prints no warning; they block in the loop.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { isBuiltin } = require('node:module');
const { runRuleFixture } = require('../../helpers');

const [major, minor] = process.versions.node.split('.').map(Number);
const hasSqlite = isBuiltin('node:sqlite');
// Lines measured to load node:sqlite without an ExperimentalWarning (see lib/apis/sqlite.ts).
const loadsQuietly = major >= 26 || (major === 24 && minor >= 21);
const noSqlite = !hasSqlite && `node:sqlite is not in Node ${process.version}`;

const WRAPPED = [
  ...['open', 'exec', 'applyChangeset', 'loadExtension', 'serialize'].map((key) => `sqlite.DatabaseSync.${key}`),
  ...['run', 'get', 'all', 'iterate'].map((key) => `sqlite.StatementSync.${key}`),
];

test(`new BlockBuster() prints no ExperimentalWarning and has sqlite rules only where loading is quiet (${process.version}: ${loadsQuietly ? 'quiet' : 'not'})`, () => {
  const { report, status, stderr } = runRuleFixture('sqlite.js', { args: ['fresh'] });
  assert.equal(status, 0, stderr);
  assert.doesNotMatch(stderr, /ExperimentalWarning/);
  assert.deepEqual(report.warnings, []);
  if (!loadsQuietly) {
    assert.deepEqual(report.rules, [], 'node:sqlite not loaded by the user: no rules, no load');
    return;
  }
  assert.deepEqual(report.rules, WRAPPED.filter((name) => report.methods.includes(name)));
});

function assertRulesWork(report) {
  assert.deepEqual(report.rules, WRAPPED.filter((name) => report.methods.includes(name)));
  for (const core of ['sqlite.DatabaseSync.exec', 'sqlite.StatementSync.run', 'sqlite.StatementSync.get', 'sqlite.StatementSync.all', 'sqlite.StatementSync.iterate']) {
    assert.ok(report.rules.includes(core), core);
  }
  assert.equal(report.wrapped, true, 'prototype methods replaced on activate');
  assert.equal(report.startup, 'ran', 'silent during start-up');
  assert.deepEqual(report.loop, {
    'DatabaseSync.exec': 'blocked',
    'DatabaseSync.open': 'blocked',
    'StatementSync.run': 'blocked',
    'StatementSync.get': 'blocked',
    'StatementSync.all': 'blocked',
    'StatementSync.iterate': 'blocked',
  });
  assert.match(report.error.message, /^Blocking call to sqlite\.DatabaseSync\.exec at insertRow \(.*sqlite\.js:\d+:\d+\)$/);
  assert.equal(report.error.blockingCall, 'sqlite.DatabaseSync.exec');
  assert.equal(report.error.culprit, 'insertRow');
  assert.equal(report.rowsAfterBlockedCalls, 0, 'a blocked call never reaches SQLite');
  assert.equal(report.allowed, 'ran', 'canBlockIn lets it through');
  assert.equal(report.restored, true, 'the original methods are back after deactivate');
  assert.deepEqual(report.afterDeactivate, { v: 'from exec' });
  assert.deepEqual(report.reportMode, { value: { v: 'from exec' }, reported: ['sqlite.StatementSync.get'] });
}

test('node:sqlite loaded by the application first: its sync API blocks in the loop, escapes, restores', { skip: noSqlite }, (t) => {
  const { report, status, stderr } = runRuleFixture('sqlite.js', { args: ['preload'] });
  assert.equal(status, 0, stderr);
  if (report.loaded !== true) return t.skip(`node:sqlite needs --experimental-sqlite on ${process.version}`);
  assertRulesWork(report);
  // Any warning is the application's own load; BlockBuster adds none.
  assert.ok(report.warnings.length <= 1, report.warnings.join('\n'));
});

const QUIET_RUNS = {
  '--no-warnings': { nodeArgs: ['--no-warnings'] },
  'NODE_NO_WARNINGS=1': { env: { NODE_NO_WARNINGS: '1' } },
  '--disable-warning ExperimentalWarning': { nodeArgs: ['--disable-warning', 'ExperimentalWarning'] },
};
for (const [how, options] of Object.entries(QUIET_RUNS)) {
  test(`with ${how} the module is loaded for the rules on any Node that has it`, { skip: noSqlite }, (t) => {
    const { report, status, stderr } = runRuleFixture('sqlite.js', { args: ['fresh'], ...options });
    assert.equal(status, 0, stderr);
    if (report.rules.length === 0 && !loadsQuietly) return t.skip(`node:sqlite needs --experimental-sqlite on ${process.version}`);
    assert.doesNotMatch(stderr, /ExperimentalWarning/);
    assertRulesWork(report);
  });
}

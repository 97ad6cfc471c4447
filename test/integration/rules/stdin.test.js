'use strict';
// Reading stdin synchronously (Python's input()) is a blocking call, on a pipe and on a terminal.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { runRuleFixture, RULE_FIXTURES } = require('../../helpers');

const expectBlockedOnStdin = (report) => {
  for (const call of ['fs.readSync(0)', 'fs.readvSync(0)', 'fs.readFileSync(0)', "fs.readFileSync('/dev/stdin')"]) {
    const rule = call.slice(0, call.indexOf('('));
    assert.match(report[call], new RegExp(`^Blocking call to ${rule.replace('.', '\\.')} on stdin at .*stdin\\.js:\\d+:\\d+$`), call);
  }
  assert.match(report['fs.readFileSync(a file)'], /^Blocking call to fs\.readFileSync at /, 'other reads do not say stdin');
  assert.deepEqual(report.predicates, [false, false, false], 'no escape by arguments for fd 0');
};

test('stdin on a pipe: sync reads of fd 0 and /dev/stdin throw, the message says stdin, nothing is consumed', () => {
  const { report, status, stderr } = runRuleFixture('stdin.js', { input: 'typed by the user\n' });
  assert.equal(status, 0, stderr);
  assert.equal(report.stdinIsTTY, false);
  expectBlockedOnStdin(report);
  assert.equal(report['input after deactivate'], 'typed by the user\n');
});

const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;

test('stdin on a terminal: still blocking (the console escape is for writes only)', { skip: !hasScript && 'needs util-linux script(1) for a pseudo-terminal' }, () => {
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const command = `"${process.execPath}" "${path.join(RULE_FIXTURES, 'stdin.js')}"`;
  const child = spawnSync('script', ['-qec', command, '/dev/null'], { input: '', env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.status, 0, child.stdout + child.stderr);
  const lines = child.stdout.split(/\r?\n/).filter((line) => line.startsWith('{'));
  const report = JSON.parse(lines[lines.length - 1]);
  assert.equal(report.stdinIsTTY, true);
  expectBlockedOnStdin(report);
});

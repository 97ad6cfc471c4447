'use strict';
// mode: 'report' in real processes: one line per block on watch()'s outputs, the call proceeds.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runRuleFixture } = require('../../helpers');

// What the fixture's calls returned: the real values, and the real error of a failing call.
const CALLS = { readReturnedTheFile: true, stat: { value: true }, missing: { error: 'ENOENT' }, afterDeactivate: true };
const callsOf = ({ readReturnedTheFile, stat, missing, afterDeactivate }) => ({ readReturnedTheFile, stat, missing, afterDeactivate });
const reportLines = (text) => text.split('\n').filter((line) => line.startsWith('blockbuster: '));

function tempFile(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-report-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'blocks.log');
}

test('text on stderr: message, code frame and stack per block; each call returns its real value or error', () => {
  const { report, status, stderr } = runRuleFixture('report-mode.js', { args: ['text-stderr'] });
  assert.equal(status, 0, stderr);
  assert.deepEqual(callsOf(report), CALLS);
  assert.equal(report.mode, 'report');
  const lines = reportLines(stderr);
  assert.equal(lines.length, 3, stderr);
  assert.match(lines[0], /^blockbuster: Blocking call to fs\.readFileSync at readConfig \(.*report-mode\.js:\d+:\d+\)$/);
  assert.match(lines[1], /^blockbuster: Blocking call to fs\.statSync at .*report-mode\.js:\d+:\d+$/);
  assert.match(stderr, /^> \d+ \| {3}return fs\.readFileSync\(aFile, 'utf8'\);$/m, 'code frame of the call');
  assert.match(stderr, /^ {4}at readConfig \(.*report-mode\.js:\d+:\d+\)$/m, 'stack lines');
  assert.doesNotMatch(stderr, /state=|threshold=/, 'no watchdog fields on rule reports');
});

test('JSON to a file path: one BlockingError object per line, nothing on stderr', (t) => {
  const file = tempFile(t);
  const { report, status, stderr } = runRuleFixture('report-mode.js', { args: ['json-file', file] });
  assert.equal(status, 0, stderr);
  assert.equal(report.readReturnedTheFile, true);
  assert.deepEqual(reportLines(stderr), []);
  const objects = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(objects.map((o) => o.blockingCall), ['fs.readFileSync', 'fs.statSync', 'fs.statSync']);
  const [first] = objects;
  assert.equal(first.name, 'BlockingError');
  assert.equal(first.source, 'rule');
  assert.match(first.message, /^Blocking call to fs\.readFileSync at readConfig /);
  assert.equal(first.culprit.functionName, 'readConfig');
  assert.equal(first.frames[0].functionName, 'readConfig');
  // The schema's envelope; a rate-limit count is its own line (kind suppressed), not a field.
  assert.equal(first.kind, 'rule');
  assert.equal(first.schemaVersion, 1);
  assert.equal(first.suppressedBefore, undefined);
  assert.ok(!Number.isNaN(Date.parse(first.time)), first.time);
});

test('text to a file descriptor', (t) => {
  const file = tempFile(t);
  const { report, status, stderr } = runRuleFixture('report-mode.js', { args: ['text-fd', file] });
  assert.equal(status, 0, stderr);
  assert.equal(report.readReturnedTheFile, true);
  assert.deepEqual(reportLines(stderr), []);
  const lines = reportLines(fs.readFileSync(file, 'utf8'));
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^blockbuster: Blocking call to fs\.readFileSync at readConfig /);
});

test('onBlock gets each BlockingError instead of a line; its own blocking calls are not checked; if it throws, a line says so and the call still runs', () => {
  const { report, status, stderr } = runRuleFixture('report-mode.js', { args: ['on-block'] });
  assert.equal(status, 0, stderr);
  assert.deepEqual(report.seen, [
    { blockingCall: 'fs.readFileSync', culprit: 'readConfig', isBlockingError: true },
    { blockingCall: 'fs.statSync', culprit: '', isBlockingError: true },
    { blockingCall: 'fs.statSync', culprit: '', isBlockingError: true },
  ]);
  assert.deepEqual(callsOf(report), CALLS);
  assert.deepEqual(reportLines(stderr), ['blockbuster: onBlock threw: Error: onBlock failed on purpose']);
});

test('maxReportsPerMinute: the rest are counted and the count is written at deactivate', () => {
  const { report, status, stderr } = runRuleFixture('report-mode.js', { args: ['rate-limit'] });
  assert.equal(status, 0, stderr);
  assert.equal(report.afterDeactivate, true);
  const lines = reportLines(stderr);
  assert.equal(lines.length, 3, stderr);
  assert.match(lines[0], /fs\.readFileSync/);
  assert.match(lines[1], /fs\.statSync/);
  assert.equal(lines[2], 'blockbuster: 4 more blocks not reported (rate limit 2/min)');
});

test('still active at exit: the count of unreported blocks is written then', () => {
  const { status, stderr } = runRuleFixture('report-mode.js', { args: ['rate-limit-exit'] });
  assert.equal(status, 0, stderr);
  const lines = reportLines(stderr);
  assert.equal(lines.length, 2, stderr);
  assert.equal(lines[1], 'blockbuster: 6 more blocks not reported (rate limit 1/min)');
});

test('a logger that writes synchronously on purpose: raise mode fails the request, report mode serves it and logs', (t) => {
  const raise = runRuleFixture('sync-logger.js', { args: ['raise', tempFile(t)] });
  assert.equal(raise.status, 0, raise.stderr);
  assert.deepEqual(raise.report, { status: 500, body: 'BlockingError', reported: [], log: '' });
  const reportMode = runRuleFixture('sync-logger.js', { args: ['report', tempFile(t)] });
  assert.equal(reportMode.status, 0, reportMode.stderr);
  assert.deepEqual(reportMode.report, { status: 200, body: 'ok', reported: ['fs.writeSync'], log: '{"level":30,"msg":"GET /hello"}\n' });
});

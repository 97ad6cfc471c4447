'use strict';
// The human format: headline, a 3-line code frame, folded frames, colour rules; grouping is bounded.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

const ANSI = /\u001b\[/;

async function human(t, env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-human-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Under heavy load an interrupt can come late and the culprit go unnamed: try again, at most twice.
  let stderr = '';
  for (let attempt = 0; attempt < 3 && !/in loadUsers \(/.test(stderr); attempt++) {
    const run = await runFixture('human.js', [dir], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined, ...env } });
    assert.equal(run.code, 0, run.stderr);
    stderr = run.stderr;
  }
  return stderr;
}

test('headline, 3-line code frame at the culprit, dependency frames folded; no colour into a pipe', async (t) => {
  const stderr = await human(t, {});
  const all = stderr.trimEnd().split('\n');
  const lines = all.slice(all.findIndex((line) => /in loadUsers \(/.test(line)));
  assert.match(lines[0], /^blockbuster: Event loop blocked for \d+ ms in loadUsers \(test\/fixtures\/watchdog\/human\.js:17:\d+\)/);
  assert.match(lines[1], /^ {2}16 \| {3}const end = Date\.now\(\) \+ 200;$/);
  assert.match(lines[2], /^> 17 \| {3}while \(Date\.now\(\) < end\);$/);
  assert.match(lines[3], /^ {5}\| +\^$/);
  assert.match(lines[4], /^ {2}18 \| \}$/);
  assert.match(lines[5], /^ {4}at loadUsers \(test\/fixtures\/watchdog\/human\.js:17:\d+\)$/);
  assert.equal(lines[6], '    … 3 frames in node_modules/fake-framework');
  assert.match(lines[7], /^ {4}at Timeout\._onTimeout \(test\/fixtures\/watchdog\/human\.js:\d+:\d+\)|^ {4}at .*human\.js/);
  assert.match(stderr, /… \d+ frames in node internals/);
  assert.doesNotMatch(stderr, ANSI);
});

test('FORCE_COLOR=1 colours the report; NO_COLOR wins over FORCE_COLOR', async (t) => {
  assert.match(await human(t, { FORCE_COLOR: '1' }), /\u001b\[1;31mblockbuster: Event loop blocked/);
  assert.doesNotMatch(await human(t, { FORCE_COLOR: '1', NO_COLOR: '1' }), ANSI);
});

test('a storm of distinct culprits keeps at most MAX_GROUPS groups in memory, and writes every count', (t) => {
  const { ReportSink, MAX_GROUPS } = require('../../dist/output');
  const { BlockingError } = require('../..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-groups-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'out.log');
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 1e9 });
  const at = (i) => ({ functionName: `f${i}`, file: `/virtual/f${i}.js`, line: 1, column: 1 });
  for (let i = 0; i < 5000; i++) {
    // Each culprit twice in a row: the second is a repeat to count.
    for (let j = 0; j < 2; j++) sink.write(new BlockingError({ source: 'watchdog', message: `blocked in f${i}`, frames: [at(i)], culprit: at(i), durationMs: 30, thresholdMs: 20, state: 'js' }), 1000 + i);
    assert.ok(sink.groupsKept <= MAX_GROUPS, `${sink.groupsKept} groups kept`);
  }
  sink.close();
  const counts = fs.readFileSync(file, 'utf8').split('\n').filter((line) => / and 1 more blocks in f\d+ since /.test(line));
  assert.equal(counts.length, 5000);
});

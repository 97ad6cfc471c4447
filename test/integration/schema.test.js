'use strict';
// One JSON schema for every line: real output of each kind, from real child processes, validated with ajv.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020');
const { runFixture } = require('../helpers');
const { ROOT, run } = require('../helpers');

const schema = require('../../schema/report.schema.json');
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, formats: { 'date-time': ISO_TIME } });
const validate = ajv.compile(schema);

function assertValid(line) {
  assert.ok(validate(line), `${JSON.stringify(line)}\n${ajv.errorsText(validate.errors)}`);
  assert.equal(line.schemaVersion, 1);
  assert.equal(typeof line.hostname, 'string');
  assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 10 * 60_000, line.time);
}

function tempFile(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-schema-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'out.log');
}

test('the schema is versioned: $id names the version every line carries', () => {
  assert.match(schema.$id, /report-v1\.schema\.json$/);
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(schema.properties.kind.enum, ['block', 'rule', 'ongoing', 'suppressed', 'dropped', 'summary']);
});

test('a JSON output file: ongoing (native), block, suppressed, dropped and rule lines all match the schema', async (t) => {
  const file = tempFile(t);
  const { code, stderr } = await runFixture('fleet.js', ['schema', file]);
  assert.equal(code, 0, stderr);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  const kinds = new Set(lines.map((line) => line.kind));
  assert.deepEqual([...kinds].sort(), ['block', 'dropped', 'ongoing', 'rule', 'suppressed']);
  for (const line of lines) assertValid(line);
  const pids = new Set(lines.map((line) => line.pid));
  assert.equal(pids.size, 1, 'native and JS lines carry the same pid');
  const ongoing = lines.find((line) => line.kind === 'ongoing');
  const block = lines.find((line) => line.kind === 'block');
  // The native line has the envelope keys of the JS lines, with the same values.
  for (const key of ['schemaVersion', 'pid', 'hostname', 'threadId']) assert.equal(ongoing[key], block[key], key);
  // Four blocks and the live line share the budget of 2: the live line and one block go out, the
  // other three (and any block a loaded machine adds at this 20 ms threshold) are counted.
  assert.equal(lines.filter((line) => line.kind === 'block').length, 1);
  assert.ok(lines.find((line) => line.kind === 'suppressed').suppressed >= 3, JSON.stringify(lines.filter((l) => l.kind === 'suppressed')));
  assert.equal(lines.find((line) => line.kind === 'rule').blockingCall, 'fs.readFileSync');
});

test('a line the schema must refuse is refused (the validator is not vacuous)', () => {
  assert.equal(validate({ schemaVersion: 1, kind: 'block', time: new Date().toISOString(), pid: 1, hostname: 'h', threadId: 0 }), false);
  assert.equal(validate({ schemaVersion: 2, kind: 'dropped', time: new Date().toISOString(), pid: 1, hostname: 'h', threadId: 0, source: 'watchdog', dropped: 1 }), false);
});

test('BlockingError#toJSON() is exactly the line written', (t) => {
  const { BlockingError } = require('../..');
  const { ReportSink } = require('../../dist/output');
  const file = tempFile(t);
  const frame = { functionName: 'slow', file: '/app/a.js', line: 3, column: 5 };
  const error = new BlockingError({ source: 'watchdog', message: 'Event loop blocked for 60 ms in slow', frames: [frame], culprit: frame, durationMs: 60, thresholdMs: 20, state: 'js' });
  const sink = new ReportSink({ output: file, format: 'json', maxReportsPerMinute: 10 });
  sink.write(error);
  sink.close();
  const written = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(written, JSON.parse(JSON.stringify(error.toJSON())));
  assertValid(written);
});

test('the CLI summary with --format json is one line of kind summary', async () => {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const app = path.join(__dirname, '..', 'fixtures', 'watchdog', 'app.js');
  const { code, stderr } = await run([cli, '--format', 'json', app, 'loop'], { cwd: ROOT, env: { FIXTURE_BLOCK_MS: '300' } });
  assert.equal(code, 0, stderr);
  const objects = stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  const summary = objects.filter((o) => o.kind === 'summary');
  assert.equal(summary.length, 1, stderr);
  assertValid(summary[0]);
  assert.ok(summary[0].blocks >= 1, stderr);
  assert.ok(summary[0].culprits.some((c) => /loopWork|busy|block/i.test(c.culprit)), JSON.stringify(summary[0].culprits));
  for (const o of objects) assertValid(o);
});

test("the native side's own lines at a worker's teardown (a report nobody took, the dropped count) match the schema", async (t) => {
  const file = tempFile(t);
  const { code, stdout, stderr } = await runFixture('fleet.js', ['nativeDropped', file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout.trim()), { workerExit: 0 });
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  for (const line of lines) assertValid(line);
  const atExit = lines.filter((line) => line.kind === 'block');
  assert.equal(atExit.length, 1, JSON.stringify(lines));
  assert.equal(atExit[0].status, 'at-exit');
  assert.match(atExit[0].message, /\(reported at exit\)$/);
  const dropped = lines.filter((line) => line.kind === 'dropped');
  assert.equal(dropped.length, 1, JSON.stringify(lines));
  // Three blocks, a queue of one: at least two dropped (a busy machine may add a block).
  assert.ok(dropped[0].dropped >= 2, JSON.stringify(dropped[0]));
  assert.ok(lines.every((line) => line.threadId > 0 && line.pid === lines[0].pid), 'the worker names itself');
});

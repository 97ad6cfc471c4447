'use strict';
// OpenTelemetry with the real SDKs (in-memory exporters) in a child process; and no @opentelemetry
// module loaded where none is installed.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

const ROOT = path.join(__dirname, '..', '..');

async function otel(many) {
  const { code, stdout, stderr } = await runFixture('fleet.js', ['otel', many], { timeoutMs: 60_000 });
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout.trim().split('\n').pop());
}

test('each report is a WARN log record with semantic-convention attributes', async () => {
  const { records } = await otel(0);
  const record = records.find((r) => r.attributes['code.function.name'] === 'busyLoop');
  assert.ok(record, JSON.stringify(records));
  assert.equal(record.severityNumber, 13);
  assert.equal(record.severityText, 'WARN');
  assert.match(record.body, /^Event loop blocked for \d+ ms in busyLoop/);
  const a = record.attributes;
  assert.match(a['code.file.path'], /fixtures[\\/]watchdog[\\/]fleet\.js$/);
  assert.ok(a['code.line.number'] > 0 && a['code.column.number'] > 0);
  assert.equal(a['thread.id'], 0);
  assert.equal(a['thread.name'], 'main');
  assert.equal(a['exception.type'], 'BlockingError');
  assert.equal(a['exception.message'], record.body);
  assert.ok(a['blockbuster.duration_ms'] >= 100, JSON.stringify(a));
  assert.equal(a['blockbuster.threshold_ms'], 20);
  assert.equal(a['blockbuster.phase'], 'loop');
  assert.ok(['js', 'gc'].includes(a['blockbuster.state']));
});

test('metrics: duration histogram in ms, a counter by culprit capped at 50 (then other), loop-delay gauges', async () => {
  const { points } = await otel(60);
  const duration = points['blockbuster.block.duration'];
  assert.equal(duration.unit, 'ms');
  const count = duration.points.reduce((sum, p) => sum + p.value.count, 0);
  assert.ok(count >= 61, `histogram count ${count}`);
  const blocks = points['blockbuster.blocks'].points;
  const culprits = new Set(blocks.map((p) => p.attributes['blockbuster.culprit']));
  assert.ok(culprits.has('other'), [...culprits].join(', '));
  assert.ok(culprits.size <= 51, `${culprits.size} distinct culprits`);
  assert.ok([...culprits].some((c) => /^busyLoop \(test[\\/]fixtures[\\/]watchdog[\\/]fleet\.js:\d+\)$/.test(c)), [...culprits].join(', '));
  const total = blocks.reduce((sum, p) => sum + p.value, 0);
  assert.equal(total, count, 'every block is counted once');
  const delay = points['blockbuster.event_loop.delay'];
  assert.equal(delay.unit, 'ms');
  assert.deepEqual(delay.points.map((p) => p.attributes['blockbuster.percentile']).sort(), ['max', 'p50', 'p90', 'p99']);
  assert.ok(delay.points.every((p) => p.value > 0));
});

test('without the optional packages installed, require + watch() + a block load no @opentelemetry module', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-no-otel-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'node_modules', 'blockbuster');
  fs.mkdirSync(path.join(copy, 'node_modules'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  for (const binaries of ['build', 'prebuilds']) {
    if (fs.existsSync(path.join(ROOT, binaries))) fs.cpSync(path.join(ROOT, binaries), path.join(copy, binaries), { recursive: true, filter: (src) => !src.includes(`${path.sep}obj.target`) });
  }
  // Only the real dependencies: no @opentelemetry anywhere up from the copy.
  for (const dep of ['node-gyp-build', 'node-addon-api']) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(copy, 'node_modules', dep), 'dir');
  const { code, stdout, stderr } = await runFixture('fleet.js', ['noOtel', copy]);
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout.trim().split('\n').pop());
  assert.equal(result.watched, true);
  assert.deepEqual(result.loaded, []);
  // No SDK registered a provider: it does not even look for the packages.
  assert.deepEqual(result.requested, []);
});

test('installed but no SDK registered: watch() and a block load no @opentelemetry module; a logger provider registered later gets the next report', async () => {
  const { code, stdout, stderr } = await runFixture('fleet.js', ['otelLate'], { timeoutMs: 60_000 });
  assert.equal(code, 0, stderr);
  const { beforeSdk, bodies } = JSON.parse(stdout.trim().split('\n').pop());
  // Loading the API (about 50 modules) for no-op meters cost about 1 MB of heap and woke V8's memory reducer.
  assert.deepEqual(beforeSdk, []);
  // The SDK's own loading is a block too; the busy loop after it is reported to the new provider.
  assert.ok(bodies.some((body) => /^Event loop blocked for \d+ ms in busyLoop/.test(body)), JSON.stringify(bodies));
});

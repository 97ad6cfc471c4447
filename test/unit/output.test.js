'use strict';
// ReportSink (lib/output.ts): the rolling-minute rate limit, suppressed counts, and a failing fd.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ReportSink, threadTag, isValidFd } = require('../../dist/output');
const { BlockingError } = require('../../dist/blocking-error');

function tempFile(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-sink-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'out.log');
}

const error = (n) =>
  new BlockingError({ source: 'watchdog', message: `Event loop blocked for ${n} ms`, frames: [], state: 'js', thresholdMs: 20, durationMs: n });

const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('at most maxReportsPerMinute lines per rolling minute; the count goes with the next line', (t) => {
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 2 });
  assert.equal(sink.write(error(1), 0), true);
  assert.equal(sink.write(error(2), 1_000), true);
  assert.equal(sink.write(error(3), 2_000), false);
  assert.equal(sink.write(error(4), 59_999), false);
  // 60 s after the first line, its slot is free again; the second line's is not yet.
  assert.equal(sink.write(error(5), 60_000), true);
  assert.equal(sink.write(error(6), 60_500), false);
  assert.equal(sink.write(error(7), 61_000), true);
  sink.close();
  const out = lines(file);
  assert.deepEqual(
    out.filter((l) => l.startsWith('blockbuster:')),
    [
      'blockbuster: Event loop blocked for 1 ms [state=js, threshold=20 ms]',
      'blockbuster: Event loop blocked for 2 ms [state=js, threshold=20 ms]',
      'blockbuster: Event loop blocked for 5 ms [state=js, threshold=20 ms] (2 earlier blocks not reported: rate limit)',
      'blockbuster: Event loop blocked for 7 ms [state=js, threshold=20 ms] (1 earlier blocks not reported: rate limit)',
    ],
  );
});

test('close() writes the count still suppressed, once', (t) => {
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 1 });
  sink.write(error(1), 0);
  for (let i = 0; i < 5; i++) sink.write(error(2), 10 + i);
  sink.close();
  assert.deepEqual(lines(file).slice(-1), ['blockbuster: 5 more blocks not reported (rate limit 1/min)']);
});

test('json: a rate-limited count is its own line (kind suppressed), before the next report and at close', (t) => {
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'json', maxReportsPerMinute: 1 });
  sink.write(error(1), 0);
  sink.write(error(2), 1);
  sink.write(error(3), 60_000);
  sink.write(error(4), 60_001);
  sink.close();
  const out = lines(file).map((l) => JSON.parse(l));
  assert.deepEqual(out.map((o) => o.kind), ['block', 'suppressed', 'block', 'suppressed']);
  assert.deepEqual(out.map((o) => o.suppressed), [undefined, 1, undefined, 1]);
  assert.equal(out[2].name, 'BlockingError');
  assert.equal(out[2].durationMs, 3);
  assert.equal(out[1].limitPerMinute, 1);
  // toJSON() is the line: no field is added when it is written.
  assert.equal(out[0].suppressedBefore, undefined);
});

test('a fractional limit works like its floor-plus-one in slots (the check is sentAt >= limit)', (t) => {
  // 1.5: a second line is allowed (1 < 1.5), a third is not (2 >= 1.5).
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 1.5 });
  assert.deepEqual([0, 1, 2].map((now) => sink.write(error(now), now)), [true, true, false]);
  sink.close();
});

test('the rate limiter keeps at most `limit` timestamps whatever the number of writes', (t) => {
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 3 });
  for (let i = 0; i < 100_000; i++) sink.write(error(1), i);
  // Private, but it is the memory bound the storm test relies on.
  assert.ok(sink.sentAt.length <= 3, `sentAt has ${sink.sentAt.length} entries`);
  sink.close();
});

test('writing to a closed fd neither throws nor stops later writes elsewhere', () => {
  const fd = fs.openSync(os.devNull, 'w');
  const sink = new ReportSink({ output: fd, format: 'text', maxReportsPerMinute: 10 });
  fs.closeSync(fd);
  assert.doesNotThrow(() => sink.write(error(1), 0));
  assert.doesNotThrow(() => sink.writeLine('x'));
  assert.doesNotThrow(() => sink.close());
});

test('dropped reports are said in either format', (t) => {
  const file = tempFile(t);
  const text = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 10 });
  text.writeDropped(3);
  text.close();
  const json = new ReportSink({ output: file, format: 'json', maxReportsPerMinute: 10 });
  json.writeDropped(4);
  json.close();
  const [first, second] = lines(file);
  assert.equal(first, 'blockbuster: 3 blocks were not reported (report queue full)');
  const { time, hostname, ...rest } = JSON.parse(second);
  assert.ok(!Number.isNaN(Date.parse(time)) && typeof hostname === 'string');
  assert.deepEqual(rest, { schemaVersion: 1, kind: 'dropped', pid: process.pid, threadId: 0, source: 'watchdog', dropped: 4 });
});

test('threadTag and isValidFd', () => {
  assert.equal(threadTag({ threadId: 0 }), '');
  assert.equal(threadTag({ threadId: 3, threadName: 'resize' }), '[worker 3 "resize"] ');
  assert.equal(threadTag({ threadId: 4 }), '[worker 4] ');
  assert.deepEqual([0, 2, 1.5, -1, '2', NaN, Infinity].map(isValidFd), [true, true, false, false, false, false, false]);
});

test('safeJson: BigInt, cycles, throwing getters and toJSON, proxies, depth, width and length are marked, never thrown', () => {
  const { safeJson } = require('../../dist/schema');
  const request = { id: 12n, list: Array.from({ length: 150 }, (_, i) => i), text: 'x'.repeat(10_000) };
  request.self = request;
  Object.defineProperty(request, 'bad', { enumerable: true, get: () => assert.fail('getter throws') });
  request.badJson = { toJSON: () => assert.fail('toJSON throws') };
  request.proxy = new Proxy({}, { ownKeys: () => assert.fail('ownKeys throws') });
  request.__proto__key = JSON.parse('{"__proto__": 1}');
  let deep = {};
  request.deep = deep;
  for (let i = 0; i < 20; i++) deep = deep.next = {};
  const out = JSON.parse(safeJson({ context: request }));
  assert.equal(out.context.id, '12n');
  assert.equal(out.context.self, '[Circular]');
  assert.equal(out.context.bad, '[Throws]');
  assert.equal(out.context.badJson, '[Throws]');
  assert.equal(out.context.proxy, '[Throws]');
  assert.equal(out.context.__proto__key.__proto__, 1);
  assert.equal(out.context.list.length, 101);
  assert.match(out.context.list[100], /50 more/);
  assert.ok(out.context.text.length < 4200);
  assert.match(JSON.stringify(out.context.deep), /\[Depth\]/);
  // A value shared twice is not a cycle.
  const shared = { a: 1 };
  assert.deepEqual(JSON.parse(safeJson({ x: shared, y: shared })), { x: { a: 1 }, y: { a: 1 } });
});

test('the text line carries the request context, compact, truncated and escaped', (t) => {
  const file = tempFile(t);
  const sink = new ReportSink({ output: file, format: 'text', maxReportsPerMinute: 10 });
  const withContext = (n, context) =>
    new BlockingError({ source: 'watchdog', message: `Event loop blocked for ${n} ms`, frames: [], state: 'js', thresholdMs: 20, durationMs: n, context });
  sink.write(withContext(1, { requestId: 'req-3', route: '/report' }), 0);
  sink.write(withContext(2, 'x'.repeat(500)), 1);
  // A forged log line in a request header stays on its line.
  sink.write(withContext(3, 'id\nblockbuster: fake'), 2);
  sink.close();
  const out = lines(file).filter((l) => l.startsWith('blockbuster:'));
  assert.equal(out[0], 'blockbuster: Event loop blocked for 1 ms [state=js, threshold=20 ms, context={"requestId":"req-3","route":"/report"}]');
  assert.equal(out[1], `blockbuster: Event loop blocked for 2 ms [state=js, threshold=20 ms, context=${'x'.repeat(77)}...]`);
  assert.equal(out.length, 3, JSON.stringify(out));
  assert.match(out[2], /context=id\\nblockbuster: fake\]$/);
});

'use strict';
// The delivery policy (lib/delivery.ts) driven with plain objects, without the addon: where each
// report goes by mode, phase and hooks, how a failing stage is said, and how strict mode fails.
const test = require('node:test');
const assert = require('node:assert/strict');
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Delivery } = require('../../dist/delivery');
const { BlockingError } = require('../../dist/blocking-error');
const { ReportSink } = require('../../dist/output');
const { BLOCK_CHANNEL } = require('../../dist/channels');
const { loadedBinding } = require('../../dist/binding');

const report = (phase = 'loop', ms = 200) =>
  new BlockingError({ source: 'watchdog', message: `Event loop blocked for ${ms} ms in work`, frames: [], state: 'js', thresholdMs: 20, durationMs: ms, phase });

/** A sink that keeps what it was given: ['report' | 'startup' | 'line', text]. */
function recordingSink() {
  const written = [];
  return {
    written,
    write: (error) => void written.push(['report', error.message]),
    writeStartup: (error) => void written.push(['startup', error.message]),
    writeLine: (...lines) => void written.push(...lines.map((line) => ['line', line])),
  };
}

function delivery({ mode = 'diagnostics', onBlock, failOnStartup = false, hooks = {}, telemetry, sink = recordingSink() } = {}) {
  const own = { depth: 0, calls: 0 };
  const ownWork = (work) => {
    own.depth++;
    own.calls++;
    try {
      return work();
    } finally {
      own.depth--;
    }
  };
  const options = { mode, onBlock, failOnStartup, liveReportAfterMs: 40 };
  return { delivery: new Delivery({ options, hooks, sink, telemetry, ownWork }), sink, own };
}

/** Runs `body` with process.nextTick captured: strict mode's throws are returned, not thrown. */
function capturingTicks(body) {
  const ticks = [];
  const original = process.nextTick;
  process.nextTick = (fn) => void ticks.push(fn);
  try {
    body();
  } finally {
    process.nextTick = original;
  }
  return ticks.map((tick) => {
    try {
      tick();
    } catch (thrown) {
      return thrown;
    }
    return undefined;
  });
}

/** Runs `body` and gives back process.exitCode as it left it, restoring the test process's own. */
function exitCodeAfter(before, body) {
  const saved = process.exitCode;
  process.exitCode = before;
  try {
    body();
    return process.exitCode;
  } finally {
    process.exitCode = saved;
  }
}

test('diagnostics: every stage sees the report once: observe, the channel, OpenTelemetry, the output', () => {
  const observed = [];
  const exported = [];
  const published = [];
  const listen = (message) => published.push(message);
  dc.subscribe(BLOCK_CHANNEL, listen);
  try {
    const { delivery: d, sink, own } = delivery({ hooks: { observe: (e) => observed.push(e) }, telemetry: { report: (e) => exported.push(e) } });
    const error = report();
    d.deliver(error, 'now');
    assert.deepEqual(observed, [error]);
    assert.deepEqual(exported, [error]);
    assert.equal(published.length, 1);
    assert.deepEqual(sink.written, [['report', error.message]]);
    assert.equal(own.calls, 1, 'the exporter runs as blockbuster\'s own work');
  } finally {
    dc.unsubscribe(BLOCK_CHANNEL, listen);
  }
});

test('onBlock replaces the output line and runs as own work; one that throws costs neither the report nor the line', () => {
  const seen = [];
  const { delivery: d, sink, own } = delivery({ onBlock: (e) => seen.push([e.message, own.depth]) });
  d.deliver(report(), 'now');
  assert.deepEqual(seen, [['Event loop blocked for 200 ms in work', 1]]);
  assert.deepEqual(sink.written, []);
  const throwing = delivery({
    onBlock: () => {
      throw new Error('callback bug');
    },
  });
  throwing.delivery.deliver(report(), 'now');
  assert.deepEqual(throwing.sink.written, [
    ['line', 'blockbuster: onBlock threw: Error: callback bug'],
    ['report', 'Event loop blocked for 200 ms in work'],
  ]);
});

test('a stage that throws in diagnostics is said, and the later stages still run', () => {
  const { delivery: d, sink } = delivery({
    hooks: {
      observe: () => {
        throw new Error('summary bug');
      },
    },
    telemetry: {
      report: () => {
        throw new Error('exporter bug');
      },
    },
  });
  d.deliver(report(), 'now');
  assert.deepEqual(sink.written, [
    ['line', 'blockbuster: could not deliver a report: Error: summary bug'],
    ['line', 'blockbuster: could not deliver a report: Error: exporter bug'],
    ['report', 'Event loop blocked for 200 ms in work'],
  ]);
});

test('start-up blocks: a start-up line, a failure only in strict mode with failOnStartup', () => {
  for (const [mode, failOnStartup, fails] of [['diagnostics', false, false], ['strict', false, false], ['strict', true, true]]) {
    const taken = [];
    const { delivery: d, sink } = delivery({ mode, failOnStartup, hooks: { fail: (e) => taken.push(e) > 0 } });
    d.deliver(report('startup'), 'now');
    assert.deepEqual(sink.written, fails ? [] : [['startup', 'Event loop blocked for 200 ms in work']], `${mode} ${failOnStartup}`);
    assert.equal(taken.length, fails ? 1 : 0, `${mode} ${failOnStartup}`);
  }
});

test('strict mode: a hook may take the failure; else it is thrown on a tick of its own, or said at exit with exit code 1', () => {
  const taken = [];
  const hooked = delivery({ mode: 'strict', hooks: { fail: (e, atExit) => taken.push(atExit) > 0 } });
  assert.deepEqual(capturingTicks(() => hooked.delivery.deliver(report(), 'now')), []);
  assert.deepEqual(taken, [false]);
  assert.deepEqual(hooked.sink.written, [], 'strict mode writes no line of its own while running');

  const plain = delivery({ mode: 'strict' });
  const error = report();
  const [thrown] = capturingTicks(() => plain.delivery.deliver(error, 'now'));
  assert.equal(thrown, error);
  assert.match(thrown.stack, /^BlockingError: Event loop blocked for 200 ms in work/);

  const atExit = delivery({ mode: 'strict' });
  assert.equal(exitCodeAfter(undefined, () => atExit.delivery.deliver(report(), 'at-exit')), 1);
  assert.match(atExit.sink.written[0][1], /^BlockingError: Event loop blocked for 200 ms in work/);
  assert.equal(exitCodeAfter(3, () => delivery({ mode: 'strict' }).delivery.deliver(report(), 'at-exit')), 3, "a failing host keeps its own exit code");
});

test('a report that could not be built: a line in diagnostics, surfaced in strict mode', () => {
  const diagnostics = delivery();
  diagnostics.delivery.buildFailed(123.4, new Error('no frames'));
  assert.deepEqual(diagnostics.sink.written, [['line', 'blockbuster: could not build the report of a 123 ms block: Error: no frames']]);
  const bug = new Error('no frames');
  assert.deepEqual(capturingTicks(() => delivery({ mode: 'strict' }).delivery.buildFailed(123.4, bug)), [bug]);
});

test('through a real ReportSink: the output rate limit holds and the suppressed count follows', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-delivery-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'out.log');
  const sink = new ReportSink({ output: file, format: 'json', maxReportsPerMinute: 2 });
  const { delivery: d } = delivery({ sink });
  for (let i = 0; i < 5; i++) d.deliver(report('loop', 100 + i), 'now');
  sink.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.deepEqual(
    lines.map(({ kind, durationMs, suppressed }) => ({ kind, durationMs, suppressed })),
    [
      { kind: 'block', durationMs: 100, suppressed: undefined },
      { kind: 'block', durationMs: 101, suppressed: undefined },
      { kind: 'suppressed', durationMs: undefined, suppressed: 3 },
    ],
  );
});

test('no addon was loaded: the policy runs on plain objects', () => {
  assert.equal(loadedBinding(), undefined);
});

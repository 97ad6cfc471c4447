'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { watch } = require('../..');

const cases = [
  [{ thresholdMs: -1 }, RangeError, /option thresholdMs must be a finite number > 0, got -1/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ thresholdMs: 0 }, RangeError, /option thresholdMs must be a finite number > 0, got 0/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ thresholdMs: 0.5 }, RangeError, /option thresholdMs must be at least 1 \(ms\), got 0\.5/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ thresholdMs: 1e14 }, RangeError, /option thresholdMs must be at most 10000000000000 \(ms, about 317 years\), got 100000000000000/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ liveReportAfterMs: 1e14 }, RangeError, /option liveReportAfterMs must be at most 10000000000000/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'liveReportAfterMs'],
  [{ mode: 'strict', abortAfterMs: 1e14 }, RangeError, /option abortAfterMs must be at most 10000000000000/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'abortAfterMs'],
  [{ thresholdMs: '20' }, TypeError, /option thresholdMs must be a number of milliseconds, got the string "20"/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'thresholdMs'],
  [{ thresholdMs: NaN }, RangeError, /option thresholdMs must be a finite number > 0, got NaN/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ thresholdMs: Infinity }, RangeError, /option thresholdMs must be a finite number > 0, got Infinity/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'thresholdMs'],
  [{ mode: 'loud' }, TypeError, /option mode must be 'diagnostics' or 'strict', got the string "loud"/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'mode'],
  [{ onBlock: 42 }, TypeError, /option onBlock must be a function, got number 42/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'onBlock'],
  [{ treshold: 20 }, TypeError, /unknown option "treshold"; expected one of thresholdMs, mode/, 'ERR_BLOCKBUSTER_UNKNOWN_OPTION', 'treshold'],
  [{ output: -3 }, TypeError, /option output must be 'stderr', a file descriptor, a file path, a writable stream \(\{ write \}\) or a logger \(\{ warn, info \}\), got number -3/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'output'],
  [{ output: 99 }, TypeError, /option output: file descriptor 99 is not open \(EBADF\)/, 'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE', 'output'],
  [{ output: { info() {} } }, TypeError, /option output must be .* got a object/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'output'],
  [{ liveReportAfterMs: 'soon' }, TypeError, /option liveReportAfterMs must be a number of milliseconds or false, got the string "soon"/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'liveReportAfterMs'],
  [{ liveReportAfterMs: true }, TypeError, /option liveReportAfterMs must be a number of milliseconds or false, got boolean true/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'liveReportAfterMs'],
  [{ hangReportMs: 100 }, TypeError, /unknown option "hangReportMs"; expected one of .*liveReportAfterMs/, 'ERR_BLOCKBUSTER_UNKNOWN_OPTION', 'hangReportMs'],
  [{ mode: 'strict', hangMs: 500 }, TypeError, /unknown option "hangMs"; expected one of .*abortAfterMs/, 'ERR_BLOCKBUSTER_UNKNOWN_OPTION', 'hangMs'],
  [{ abortAfterMs: 500 }, TypeError, /option abortAfterMs only applies to mode: 'strict'/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'abortAfterMs'],
  [{ mode: 'strict', thresholdMs: 50, abortAfterMs: 10 }, RangeError, /option abortAfterMs must be greater than thresholdMs \(50\), got 10/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'abortAfterMs'],
  [{ mode: 'strict', abortAfterMs: -5 }, RangeError, /option abortAfterMs must be a finite number > 0, got -5/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'abortAfterMs'],
  [{ format: 'xml' }, TypeError, /option format must be 'text' or 'json'/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'format'],
  [{ maxReportsPerMinute: 0 }, RangeError, /option maxReportsPerMinute must be a finite number > 0/, 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', 'maxReportsPerMinute'],
  [{ failOnStartup: 'yes' }, TypeError, /option failOnStartup must be true or false, got the string "yes"/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'failOnStartup'],
  [{ context: { getStore() {} } }, TypeError, /option context must be an AsyncLocalStorage, got a object/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'context'],
  ['fast', TypeError, /options must be an object, got the string "fast"/, 'ERR_BLOCKBUSTER_INVALID_OPTION', 'options'],
];

for (const [options, type, message, code, name] of cases) {
  test(`watch(${JSON.stringify(options) ?? String(options)}) throws ${type.name} ${code}`, () => {
    assert.throws(() => watch(options), (error) => {
      assert.ok(error instanceof type, error.name);
      assert.match(error.message, message);
      assert.equal(error.code, code);
      assert.deepEqual(error.source, { kind: 'option', name });
      return true;
    });
  });
}

test('an output file that cannot be opened names the option', () => {
  assert.throws(() => watch({ output: '/nonexistent-dir/blocks.log' }), {
    message: /option output: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/,
    code: 'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE',
    source: { kind: 'option', name: 'output' },
  });
});

test('a second watch() on the same thread fails clearly; after stop() it works again', () => {
  const first = watch({ thresholdMs: 1000 });
  try {
    assert.throws(() => watch({ thresholdMs: 1000 }), {
      message: /this thread is already watched; stop\(\) the existing watcher first/,
      code: 'ERR_BLOCKBUSTER_ALREADY_WATCHING',
    });
  } finally {
    first.stop();
  }
  const second = watch({ thresholdMs: 1000 });
  assert.equal(second.active, true);
  second.stop();
  assert.equal(second.active, false);
});

test('this exact call works', () => {
  const onBlock = () => {};
  const watcher = watch({ thresholdMs: 20, mode: 'diagnostics', onBlock });
  assert.equal(watcher.thresholdMs, 20);
  assert.equal(watcher.mode, 'diagnostics');
  watcher.stop();
});

test('false turns off both durations', () => {
  for (const options of [{ liveReportAfterMs: false }, { mode: 'strict', abortAfterMs: false }, { abortAfterMs: false }]) {
    const watcher = watch({ thresholdMs: 1000, ...options });
    assert.equal(watcher.active, true, JSON.stringify(options));
    watcher.stop();
  }
});

test('a BlockingError prints as its readable stack: fields are not enumerable, toJSON has them all', () => {
  const { inspect } = require('node:util');
  const { BlockingError } = require('../..');
  const frame = { functionName: 'slow', file: '/app/a.js', line: 3, column: 5 };
  const error = new BlockingError({ source: 'watchdog', message: 'Event loop blocked for 60 ms in slow', frames: [frame], culprit: frame, durationMs: 60, phase: 'startup' });
  assert.deepEqual(Object.keys(error), []);
  assert.equal(inspect(error), 'BlockingError: Event loop blocked for 60 ms in slow\n    at slow (/app/a.js:3:5)');
  assert.equal(error.phase, 'startup');
  assert.equal(error.toJSON().phase, 'startup');
  assert.equal(new BlockingError({ source: 'rule', message: 'm', frames: [] }).phase, 'loop');
});

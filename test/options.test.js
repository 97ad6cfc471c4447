'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { watch } = require('..');

const cases = [
  [{ thresholdMs: -1 }, RangeError, /option thresholdMs must be a finite number > 0, got -1/],
  [{ thresholdMs: 0 }, RangeError, /option thresholdMs must be a finite number > 0, got 0/],
  [{ thresholdMs: 0.5 }, RangeError, /option thresholdMs must be at least 1 \(ms\), got 0\.5/],
  [{ thresholdMs: '20' }, TypeError, /option thresholdMs must be a number of milliseconds, got the string "20"/],
  [{ thresholdMs: NaN }, RangeError, /option thresholdMs must be a finite number > 0, got NaN/],
  [{ thresholdMs: Infinity }, RangeError, /option thresholdMs must be a finite number > 0, got Infinity/],
  [{ mode: 'loud' }, TypeError, /option mode must be 'diagnostics' or 'strict', got the string "loud"/],
  [{ onBlock: 42 }, TypeError, /option onBlock must be a function, got number 42/],
  [{ treshold: 20 }, TypeError, /unknown option "treshold"; expected one of thresholdMs, mode/],
  [{ hangMs: 500 }, TypeError, /option hangMs only applies to mode 'strict'/],
  [{ mode: 'strict', thresholdMs: 50, hangMs: 10 }, RangeError, /option hangMs must be greater than thresholdMs \(50\), got 10/],
  [{ hangReportMs: 'soon' }, TypeError, /option hangReportMs must be a number/],
  [{ output: -3 }, TypeError, /option output must be 'stderr', a file descriptor, a file path, a writable stream \(\{ write \}\) or a logger \(\{ warn, info \}\), got number -3/],
  [{ output: 99 }, TypeError, /option output: file descriptor 99 is not open \(EBADF\)/],
  [{ output: { info() {} } }, TypeError, /option output must be .* got a object/],
  [{ liveReportAfterMs: 'soon' }, TypeError, /option liveReportAfterMs must be a number of milliseconds or false, got the string "soon"/],
  [{ liveReportAfterMs: true }, TypeError, /option liveReportAfterMs must be a number of milliseconds or false, got boolean true/],
  [{ liveReportAfterMs: 100, hangReportMs: 100 }, TypeError, /options liveReportAfterMs and hangReportMs are the same option \(hangReportMs is the old name\); give only liveReportAfterMs/],
  [{ mode: 'strict', abortAfterMs: 500, hangMs: 500 }, TypeError, /options abortAfterMs and hangMs are the same option/],
  [{ abortAfterMs: 500 }, TypeError, /option abortAfterMs only applies to mode 'strict'/],
  [{ mode: 'strict', thresholdMs: 50, abortAfterMs: 10 }, RangeError, /option abortAfterMs must be greater than thresholdMs \(50\), got 10/],
  [{ mode: 'strict', abortAfterMs: -5 }, RangeError, /option abortAfterMs must be a finite number > 0, got -5/],
  [{ format: 'xml' }, TypeError, /option format must be 'text' or 'json'/],
  [{ maxReportsPerMinute: 0 }, RangeError, /option maxReportsPerMinute must be a finite number > 0/],
  [{ failOnStartup: 'yes' }, TypeError, /option failOnStartup must be a boolean, got the string "yes"/],
  [{ context: { getStore() {} } }, TypeError, /option context must be an AsyncLocalStorage, got a object/],
  ['fast', TypeError, /options must be an object, got the string "fast"/],
];

for (const [options, type, message] of cases) {
  test(`watch(${JSON.stringify(options) ?? String(options)}) throws ${type.name}`, () => {
    assert.throws(() => watch(options), (error) => error instanceof type && message.test(error.message));
  });
}

test('an output file that cannot be opened names the option', () => {
  assert.throws(() => watch({ output: '/nonexistent-dir/blocks.log' }), /option output: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/);
});

test('a second watch() on the same thread fails clearly; after stop() it works again', () => {
  const first = watch({ thresholdMs: 1000 });
  try {
    assert.throws(() => watch({ thresholdMs: 1000 }), /this thread is already watched; stop\(\) the existing watcher first/);
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

test('false turns off both durations, under the new names and the old ones', () => {
  for (const options of [{ liveReportAfterMs: false }, { hangReportMs: false }, { mode: 'strict', abortAfterMs: false }, { mode: 'strict', hangMs: false }, { abortAfterMs: false }]) {
    const watcher = watch({ thresholdMs: 1000, ...options });
    assert.equal(watcher.active, true, JSON.stringify(options));
    watcher.stop();
  }
});

test('a BlockingError prints as its readable stack: fields are not enumerable, toJSON has them all', () => {
  const { inspect } = require('node:util');
  const { BlockingError } = require('..');
  const frame = { functionName: 'slow', file: '/app/a.js', line: 3, column: 5 };
  const error = new BlockingError({ source: 'watchdog', message: 'Event loop blocked for 60 ms in slow', frames: [frame], culprit: frame, durationMs: 60, phase: 'startup' });
  assert.deepEqual(Object.keys(error), []);
  assert.equal(inspect(error), 'BlockingError: Event loop blocked for 60 ms in slow\n    at slow (/app/a.js:3:5)');
  assert.equal(error.phase, 'startup');
  assert.equal(error.toJSON().phase, 'startup');
  assert.equal(new BlockingError({ source: 'rule', message: 'm', frames: [] }).phase, 'loop');
});

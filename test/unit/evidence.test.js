'use strict';
// The test session's evidence rule (lib/testing/evidence.ts): which blocks fail a test and which are warnings.
const test = require('node:test');
const assert = require('node:assert/strict');
const { BlockingError } = require('../../dist/blocking-error');
const { excuseOf, isRunnerFile, runQueueWaitMs } = require('../../dist/testing/evidence');

const TEST_FILE = { functionName: 'seedsTheCache', file: '/app/test/cache.test.js', line: 12, column: 5 };
const CIRCUS = { functionName: 'callAsyncCircusFn', file: '/app/node_modules/jest-circus/build/utils.js', line: 1, column: 1 };
const TIMERS = { functionName: 'processTimers', file: 'node:internal/timers', line: 1, column: 1 };
const LIBRARY = { functionName: 'rebuildIndex', file: '/app/node_modules/search-lib/index.js', line: 40, column: 3 };
const TRANSFORM = { functionName: 'transformSource', file: '/app/node_modules/@jest/transform/build/ScriptTransformer.js', line: 1, column: 1 };

function block({ frames = [], culprit, state = 'js', nativeModule, durationMs = 80, thresholdMs = 20, total = 1, cpu }) {
  return new BlockingError({
    source: 'watchdog',
    message: 'Event loop blocked',
    frames,
    culprit,
    state,
    nativeModule,
    durationMs,
    thresholdMs,
    samples: { total, dominant: total },
    cpu,
  });
}

const facts = (window) => ({ window, isLoaderFrame: (file) => /[\\/]node_modules[\\/]@jest[\\/]transform[\\/]/.test(file) });

test('a sample that named the test code is evidence: the test fails', () => {
  assert.equal(excuseOf(block({ frames: [TEST_FILE, CIRCUS], culprit: TEST_FILE }), facts()), undefined);
});

test('a block no sample saw, or saw with no JavaScript, is a warning', () => {
  assert.equal(excuseOf(block({ total: 0 }), facts()), 'no-sample');
  assert.equal(excuseOf(block({ state: 'native' }), facts()), 'no-sample');
});

test("only the runner's or Node's code on the stack is a warning", () => {
  assert.equal(excuseOf(block({ frames: [TIMERS] }), facts()), 'runner');
  assert.equal(excuseOf(block({ frames: [CIRCUS, TIMERS], state: 'gc' }), facts()), 'runner');
});

test('a late stack (native code, its caller unknown) is a warning', () => {
  assert.equal(excuseOf(block({ frames: [CIRCUS, TIMERS], state: 'native' }), facts()), 'unknown-caller');
});

test("a module the test imports is evidence; the same module called by the runner is the runner's", () => {
  assert.equal(excuseOf(block({ frames: [LIBRARY, TIMERS] }), facts()), undefined);
  assert.equal(excuseOf(block({ frames: [LIBRARY, CIRCUS] }), facts()), 'runner');
});

test("an addon the code loaded is evidence; one of the runner's is not", () => {
  const sqlite = '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  assert.equal(excuseOf(block({ state: 'native', nativeModule: sqlite }), facts()), undefined);
  const rollup = '/app/node_modules/@rollup/rollup-linux-x64-gnu/rollup.linux-x64-gnu.node';
  assert.equal(excuseOf(block({ state: 'native', nativeModule: rollup }), facts()), 'no-sample');
});

test("the runner's module loading under a test's require is a warning", () => {
  assert.equal(excuseOf(block({ frames: [TRANSFORM, TEST_FILE], culprit: TEST_FILE }), facts()), 'loader');
});

test('evidence while the thread waited for a CPU is a warning; a real block on a busy machine fails', () => {
  const culprit = { frames: [TEST_FILE], culprit: TEST_FILE };
  // The span holding the block: 70 ms, 60 of them waiting for a CPU, so it ran or slept 10 ms (< 20).
  assert.equal(excuseOf(block(culprit), facts({ wallMs: 70, runQueueMs: 60 })), 'starved');
  assert.equal(excuseOf(block(culprit), facts({ wallMs: 7000, runQueueMs: 6400 })), undefined);
  // The watchdog's own measure wins: it ran 5 ms of the block, or 500 ms of a block stretched to 7 s.
  assert.equal(excuseOf(block({ ...culprit, cpu: { ranMs: 5, ofMs: 80, starved: true } }), facts()), 'starved');
  const stretched = block({ ...culprit, durationMs: 7000, cpu: { ranMs: 500, ofMs: 7000, starved: true } });
  assert.equal(excuseOf(stretched, facts({ wallMs: 7100, runQueueMs: 7090 })), undefined);
  // Sleeping (execSync, Atomics.wait) is the code's own waiting, not starvation.
  assert.equal(excuseOf(block({ ...culprit, cpu: { ranMs: 1, ofMs: 80, starved: false } }), facts()), undefined);
});

test("the runners' own packages, as paths and as URLs", () => {
  for (const file of [
    '/app/node_modules/jest-circus/build/run.js',
    '/app/node_modules/@jest/core/build/index.js',
    'file:///app/node_modules/vitest/dist/chunks/runner.js',
    'file:///app/node_modules/@vitest/runner/dist/index.js',
    '/app/node_modules/tinypool/dist/entry/process.js',
    '/app/node_modules/mocha/lib/runner.js',
    'C:\\app\\node_modules\\mocha\\lib\\runner.js',
    '/app/node_modules/.pnpm/vitest@4.1.12/node_modules/vitest/dist/index.js',
  ]) {
    assert.equal(isRunnerFile(file), true, file);
  }
  for (const file of ['/app/node_modules/jestish/index.js', '/app/test/jest-setup.js', '/app/node_modules/mocha-tools/x.js']) {
    assert.equal(isRunnerFile(file), false, file);
  }
});

test('the run-queue wait is read from the kernel where it says (Linux)', { skip: process.platform !== 'linux' }, () => {
  const before = runQueueWaitMs();
  assert.equal(typeof before, 'number');
  assert.ok(runQueueWaitMs() >= before);
});

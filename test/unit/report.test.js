'use strict';
// buildReport (lib/report.ts) on hand-made raw reports: which sample wins, and what it says.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { buildReport, findBlockingCall } = require('../../dist/report');

const MAIN = { threadId: 0, threadName: undefined };
const USER = '/app/src/work.js';

const frame = (functionName, file = USER, line = 10, column = 3) => ({ functionName, file, line, column });

let nextKey = 1;
// A sample that asked for its own interrupt, which ran `delayMs` later with `frames`.
function sample({ frames = [], delayMs = 0.2, gcMs = 0, vmState = 'js', tracked = false, stackKey, nativeModule, atMs = 20 } = {}) {
  const key = nextKey++;
  return { key, stackKey: stackKey ?? key, atMs, captureDelayMs: delayMs, captureGcMs: gcMs, vmState, inTrackedCall: tracked, nativeModule, frames };
}

function raw(samples, { durationMs = 200, gcMs = 0 } = {}) {
  return { id: 1, durationMs, detectionDelayMs: 20, gcMs, startup: false, samples };
}

test('the largest group of samples names the culprit, with its share when samples disagree', () => {
  const spin = [frame('spin'), frame('handler', USER, 30)];
  const other = [frame('warmUp', USER, 50)];
  const report = buildReport(raw([sample({ frames: other }), sample({ frames: spin }), sample({ frames: spin }), sample({ frames: spin })]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.deepEqual(report.samples, { total: 4, dominant: 3 });
  assert.match(report.message, /^Event loop blocked for 200 ms in spin \(.*work\.js:10:3\) \[3 of 4 samples\]$/);
  // The crossing's sample is kept apart: a short warm-up before the long phase.
  assert.equal(report.firstSample.culprit.functionName, 'warmUp');
  assert.equal(report.state, 'js');
});

test('samples that agree do not print a share', () => {
  const spin = [frame('spin')];
  const report = buildReport(raw([sample({ frames: spin }), sample({ frames: spin })]), 20, MAIN);
  assert.doesNotMatch(report.message, /samples\]/);
  assert.deepEqual(report.samples, { total: 2, dominant: 2 });
});

test('a late interrupt outside a tracked call names no function: the caller may have returned', () => {
  // 60 ms after the request, threshold 20: "late" is a threshold's worth (5-50 ms).
  const report = buildReport(raw([sample({ frames: [frame('afterwards')], delayMs: 60 })]), 20, MAIN);
  assert.equal(report.culprit, undefined);
  assert.equal(report.state, 'native');
  assert.match(report.message, /in native code; the JavaScript function that called it is not known/);
});

test('GC time during the capture delay does not make an interrupt late', () => {
  const report = buildReport(raw([sample({ frames: [frame('spin')], delayMs: 30, gcMs: 28 })]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.equal(report.state, 'js');
});

test('the late bound is clamped to 5..50 ms whatever the threshold', () => {
  // threshold 1000: late from 50 ms; threshold 1: late from 5 ms.
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], delayMs: 49 })]), 1000, MAIN).culprit.functionName, 'spin');
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], delayMs: 51 })]), 1000, MAIN).culprit, undefined);
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], delayMs: 4 })]), 1, MAIN).culprit.functionName, 'spin');
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], delayMs: 6 })]), 1, MAIN).culprit, undefined);
});

test('a tracked call answers a late sample with the API and the stack that called it', () => {
  const s = sample({ frames: [frame('later')], delayMs: 150, tracked: true });
  const lookup = (key) => (key === s.key ? { api: 'fs.readFileSync', frames: [frame('readFileSync', 'node:fs', 453, 20), frame('loadConfig', '/app/src/config.js', 12, 7)] } : undefined);
  const report = buildReport(raw([s]), 20, MAIN, lookup);
  assert.equal(report.blockingCall, 'fs.readFileSync');
  assert.equal(report.culprit.functionName, 'loadConfig');
  assert.equal(report.state, 'native');
  assert.match(report.message, /by fs\.readFileSync in loadConfig \(/);
});

test('the call-site record is not consulted when the sample was not in a tracked call', () => {
  let asked = 0;
  const lookup = () => {
    asked++;
    return { api: 'fs.readFileSync', frames: [frame('loadConfig')] };
  };
  buildReport(raw([sample({ frames: [frame('spin')] })]), 20, MAIN, lookup);
  assert.equal(asked, 0);
});

test('samples that saw nothing cast no vote', () => {
  const seen = sample({ frames: [frame('spin')] });
  // Their interrupt never ran during the block: no frames, no record, no addon.
  const blind = [sample({ delayMs: undefined }), sample({ delayMs: undefined }), sample({ delayMs: undefined })];
  const report = buildReport(raw([seen, ...blind]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.deepEqual(report.samples, { total: 1, dominant: 1 });
});

test('when no sample saw anything the report says so, and when none was taken too', () => {
  const blind = buildReport(raw([sample({ delayMs: undefined }), sample({ delayMs: undefined })]), 20, MAIN);
  assert.equal(blind.culprit, undefined);
  assert.match(blind.message, /in native code \(no JavaScript was on the stack\)/);
  const none = buildReport(raw([], { durationMs: 21 }), 20, MAIN);
  assert.match(none.message, /^Event loop blocked for 21 ms \(it ended as the watchdog looked: no sample was taken\)$/);
  assert.deepEqual(none.samples, { total: 0, dominant: 0 });
  assert.equal(none.firstSample, undefined);
});

test('a later sample shares the stack of the outstanding interrupt it waited on', () => {
  const owner = sample({ frames: [frame('spin')] });
  const follower = sample({ stackKey: owner.key, frames: [] });
  const report = buildReport(raw([owner, follower]), 20, MAIN);
  assert.deepEqual(report.samples, { total: 2, dominant: 2 });
});

test('a named culprit beats a group that names nothing at equal counts, in either order', () => {
  const named = () => sample({ frames: [frame('spin')] });
  const anonymous = () => sample({ frames: [frame('later')], delayMs: 80 });
  for (const samples of [[anonymous(), named()], [named(), anonymous()]]) {
    assert.equal(buildReport(raw(samples), 20, MAIN).culprit.functionName, 'spin');
  }
});

test('an addon on the native stack is named when no JS caller is known', () => {
  const report = buildReport(raw([sample({ delayMs: undefined, nativeModule: '/app/node_modules/x/build/Release/x.node!slow_call' })]), 20, MAIN);
  assert.equal(report.nativeModule, '/app/node_modules/x/build/Release/x.node!slow_call');
  assert.match(report.message, /in native addon .*x\.node!slow_call \(its JavaScript caller is not known\)/);
});

test('GC for half the block or more makes the state gc, except for Atomics.wait', () => {
  const gc = buildReport(raw([sample({ frames: [frame('alloc')] })], { durationMs: 100, gcMs: 50 }), 20, MAIN);
  assert.equal(gc.state, 'gc');
  assert.match(gc.message, /\(mostly garbage collection\)$/);
  const notGc = buildReport(raw([sample({ frames: [frame('alloc')] })], { durationMs: 100, gcMs: 49 }), 20, MAIN);
  assert.equal(notGc.state, 'js');
  const wait = buildReport(raw([sample({ frames: [frame('waitOnAtomics')], vmState: 'atomics-wait', delayMs: 150 })], { durationMs: 100, gcMs: 80 }), 20, MAIN);
  assert.equal(wait.state, 'atomics-wait');
  assert.equal(wait.blockingCall, 'Atomics.wait');
  assert.equal(wait.culprit.functionName, 'waitOnAtomics');
});

test('a signal sample in GC or in external code sets the state', () => {
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], vmState: 'gc' })]), 20, MAIN).state, 'gc');
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], vmState: 'external' })]), 20, MAIN).state, 'native');
});

test('blockbuster\'s own frames are neither shown nor the culprit', () => {
  const own = path.join(__dirname, '..', '..', 'dist', 'call-sites.js');
  const report = buildReport(raw([sample({ frames: [frame('wrapper', own, 1, 1), frame('spin')] })]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.ok(report.frames.every((f) => f.file !== own));
});

test('the thread and duration are carried through', () => {
  const report = buildReport(raw([sample({ frames: [frame('spin')] })], { durationMs: 123.4 }), 20, { threadId: 3, threadName: 'resize' });
  assert.equal(report.threadId, 3);
  assert.equal(report.threadName, 'resize');
  assert.equal(report.durationMs, 123.4);
  assert.equal(report.thresholdMs, 20);
  assert.equal(report.source, 'watchdog');
});

test('findBlockingCall: the node: frame above the culprit, only for synchronous APIs', () => {
  const user = frame('loadConfig');
  assert.equal(findBlockingCall([frame('readFileSync', 'node:fs', 1, 1), user], 1), 'fs.readFileSync');
  assert.equal(findBlockingCall([frame('Object.readFileSync', 'node:fs', 1, 1), user], 1), 'fs.readFileSync');
  assert.equal(findBlockingCall([frame('pbkdf2Sync', 'node:internal/crypto/pbkdf2', 1, 1), user], 1), 'crypto.pbkdf2Sync');
  // An asynchronous API does not block: a late sample may land in any call made after the block.
  assert.equal(findBlockingCall([frame('readFile', 'node:fs', 1, 1), user], 1), undefined);
  assert.equal(findBlockingCall([frame('helper', '/app/x.js', 1, 1), user], 1), undefined);
  assert.equal(findBlockingCall([user], 0), undefined);
});

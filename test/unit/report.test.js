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
function sample({ frames = [], delayMs = 0.2, gcMs = 0, vmState = 'js', tracked = false, stackKey, nativeModule, atMs, ...evidence } = {}) {
  const key = nextKey++;
  return { key, stackKey: stackKey ?? key, atMs, captureDelayMs: delayMs, captureGcMs: gcMs, vmState, inTrackedCall: tracked, nativeModule, signalled: true, movedOn: false, frames, ...evidence };
}

// Samples without a time are spread evenly over the block: each stands for the same time.
function raw(samples, { durationMs = 200, gcMs = 0, ...usage } = {}) {
  const spread = samples.map((s, i) => ({ ...s, atMs: s.atMs ?? (durationMs * (i + 1)) / samples.length }));
  return { id: 1, durationMs, detectionDelayMs: 20, gcMs, startup: false, samples: spread, watchedMs: durationMs, samplingCostMs: 0, ...usage };
}

const counts = (report) => ({ total: report.samples.total, dominant: report.samples.dominant });

test('the largest group of samples names the culprit, with its share when samples disagree', () => {
  const spin = [frame('spin'), frame('handler', USER, 30)];
  const other = [frame('warmUp', USER, 50)];
  const report = buildReport(raw([sample({ frames: other }), sample({ frames: spin }), sample({ frames: spin }), sample({ frames: spin })]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.deepEqual(counts(report), { total: 4, dominant: 3 });
  assert.match(report.message, /^Event loop blocked for 200 ms in spin \(.*work\.js:10:3\) \[75 % of the time\]$/);
  // The crossing's sample is kept apart: a short warm-up before the long phase.
  assert.equal(report.firstSample.culprit.functionName, 'warmUp');
  assert.equal(report.state, 'js');
});

test('samples that agree do not print a share', () => {
  const spin = [frame('spin')];
  const report = buildReport(raw([sample({ frames: spin }), sample({ frames: spin })]), 20, MAIN);
  assert.doesNotMatch(report.message, /of the time\]/);
  assert.deepEqual(counts(report), { total: 2, dominant: 2 });
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
  assert.deepEqual(counts(report), { total: 1, dominant: 1 });
});

test('when no sample saw anything the report says so, and when none was taken too', () => {
  const blind = buildReport(raw([sample({ delayMs: undefined }), sample({ delayMs: undefined })]), 20, MAIN);
  assert.equal(blind.culprit, undefined);
  assert.match(blind.message, /in native code \(no JavaScript was on the stack\)/);
  const none = buildReport(raw([], { durationMs: 21 }), 20, MAIN);
  assert.match(none.message, /^Event loop blocked for 21 ms \(it ended as the watchdog looked: no sample was taken\)$/);
  assert.deepEqual(counts(none), { total: 0, dominant: 0 });
  assert.equal(none.firstSample, undefined);
});

test('a later sample shares the stack of the outstanding interrupt it waited on', () => {
  const owner = sample({ frames: [frame('spin')] });
  const follower = sample({ stackKey: owner.key, frames: [] });
  const report = buildReport(raw([owner, follower]), 20, MAIN);
  assert.deepEqual(counts(report), { total: 2, dominant: 2 });
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

test('a sample that landed in a scavenge does not make a JS block "mostly garbage collection"', () => {
  // Node 20: a 50 ms Date.now() spin allocates (boxed numbers), so scavenges run during it and a
  // signal may land in one. 8 ms of GC in a 54 ms block is not most of it: the spin is JS.
  const report = buildReport(raw([sample({ frames: [frame('spin')], vmState: 'gc' })], { durationMs: 54, gcMs: 8 }), 20, MAIN);
  assert.equal(report.state, 'js');
  assert.equal(report.culprit.functionName, 'spin');
  assert.doesNotMatch(report.message, /garbage collection/);
  const noStack = buildReport(raw([sample({ vmState: 'gc' })], { durationMs: 54, gcMs: 8 }), 20, MAIN);
  assert.notEqual(noStack.state, 'gc');
  assert.doesNotMatch(noStack.message, /garbage collection/);
});

// No signal sample answered (qemu-user before the sampler probed its signal): the wrapper around
// Atomics.wait still knows where the thread was, whether the interrupt came promptly or late.
test('a tracked Atomics.wait makes the state atomics-wait without a signal sample', () => {
  for (const delayMs of [0.5, 150]) {
    const s = sample({ frames: [frame('waitOnAtomics')], vmState: 'unknown', tracked: true, delayMs });
    const lookup = (key) => (key === s.key ? { api: 'Atomics.wait', frames: [frame('waitOnAtomics')] } : undefined);
    const report = buildReport(raw([s]), 20, MAIN, lookup);
    assert.equal(report.state, 'atomics-wait', `interrupt after ${delayMs} ms`);
    assert.equal(report.blockingCall, 'Atomics.wait');
    assert.equal(report.culprit.functionName, 'waitOnAtomics');
  }
});

test('a signal sample in GC or in external code sets the state; GC only with the GC clock behind it', () => {
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], vmState: 'gc' })], { gcMs: 150 }), 20, MAIN).state, 'gc');
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], vmState: 'gc' })]), 20, MAIN).state, 'js');
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

test('shares are by time: a sample stands for the time since the one before it', () => {
  // Ten samples of warmUp 20 ms apart, then five of realWork 160 ms apart (a widened interval).
  const warm = Array.from({ length: 10 }, (_, i) => sample({ frames: [frame('warmUp', USER, 5)], atMs: 20 * (i + 1) }));
  const real = Array.from({ length: 5 }, (_, i) => sample({ frames: [frame('realWork', USER, 9)], atMs: 200 + 160 * (i + 1) }));
  const report = buildReport(raw([...warm, ...real], { durationMs: 1000 }), 20, MAIN);
  assert.equal(report.culprit.functionName, 'realWork');
  assert.equal(report.samples.share, 0.8);
  assert.match(report.message, /in realWork \(.*\) \[80 % of the time\]$/);
});

test('a group of one function speaks for its heaviest line, not its first sample', () => {
  const load = sample({ frames: [frame('require', 'node:internal/modules/helpers'), frame('start', USER, 7)], atMs: 50 });
  const build = [1, 2, 3].map((i) => sample({ frames: [frame('start', USER, 12)], atMs: 50 + 50 * i }));
  const report = buildReport(raw([load, ...build], { durationMs: 200 }), 20, MAIN);
  assert.equal(report.culprit.line, 12);
  assert.ok(!report.frames.some((f) => f.functionName === 'require'));
});

test('a sample whose shared stack was captured after the thread moved on is not credited to it', () => {
  const owner = sample({ frames: [frame('afterwards')], delayMs: 0.5, movedOn: true });
  const moved = sample({ stackKey: owner.key, movedOn: true });
  const report = buildReport(raw([owner, moved, sample({ frames: [frame('spin')] })]), 20, MAIN);
  assert.equal(report.culprit.functionName, 'spin');
  assert.deepEqual(counts(report), { total: 1, dominant: 1 });
});

test('the syscall is evidence: "in clock_nanosleep", "in pread64 on <file>"', () => {
  const sleeping = sample({ delayMs: undefined, signalled: false, syscall: 'clock_nanosleep' });
  const sleep = buildReport(raw([sleeping]), 20, MAIN);
  assert.deepEqual(sleep.syscall, { name: 'clock_nanosleep' });
  assert.equal(sleep.state, 'native');
  assert.match(sleep.message, /^Event loop blocked for 200 ms in clock_nanosleep$/);
  const reading = sample({ delayMs: undefined, syscall: 'pread64', syscallFile: '/var/lib/app.db', nativeModule: '/x/better_sqlite3.node' });
  const read = buildReport(raw([reading]), 20, MAIN);
  assert.match(read.message, /in native addon .*better_sqlite3\.node \(its JavaScript caller is not known\), in pread64 on \/var\/lib\/app\.db$/);
  // On the CPU: no syscall to tell.
  assert.equal(buildReport(raw([sample({ frames: [frame('spin')], syscall: 'running' })]), 20, MAIN).syscall, undefined);
});

test('a syscall is evidence only for the time it stands for: one futex sample in a busy loop is not', () => {
  const spin = (syscall) => sample({ frames: [frame('busyLoop')], syscall });
  const loop = buildReport(raw([...Array.from({ length: 9 }, () => spin('running')), spin('futex')]), 20, MAIN);
  assert.equal(loop.syscall, undefined);
  assert.match(loop.message, /^Event loop blocked for 200 ms in busyLoop \(.*\)$/);
  // Three of four samples asleep in the same call: the sleep is the story.
  const nap = buildReport(raw([spin('clock_nanosleep'), spin('clock_nanosleep'), spin('clock_nanosleep'), spin('running')]), 20, MAIN);
  assert.deepEqual(nap.syscall, { name: 'clock_nanosleep' });
  assert.match(nap.message, /in busyLoop \(.*\), in clock_nanosleep$/);
});

test('a starved thread blames no code, and says how much it ran and what throttled it', () => {
  const spin = () => sample({ frames: [frame('tick')], syscall: 'running' });
  const starved = buildReport(raw([spin(), spin()], { durationMs: 60, ranMs: 6, watchedMs: 60 }), 20, MAIN);
  assert.equal(starved.culprit, undefined);
  assert.deepEqual(starved.frames, []);
  assert.equal(starved.cpu.starved, true);
  assert.match(starved.message, /^Event loop blocked for 60 ms while the thread was starved of CPU, not by its code: it ran 6\.0 of the last 60 ms \(other threads or processes had the CPU\)$/);
  const throttled = buildReport(raw([spin()], { durationMs: 90, ranMs: 4, watchedMs: 90, throttled: { periods: 1, ms: 80 } }), 20, MAIN);
  assert.match(throttled.message, /the cgroup's CPU limit throttled it \(1 periods, 80 ms\)$/);
  // It ran more than a threshold's worth: that code blocked the loop, starved or not.
  const slow = buildReport(raw([spin()], { durationMs: 300, ranMs: 100, watchedMs: 300 }), 20, MAIN);
  assert.equal(slow.culprit.functionName, 'tick');
  // Named, and the reader is told the thread was also kept off the CPU (issue 15 section 5).
  assert.match(slow.message, /^Event loop blocked for 300 ms in tick \(.*\); the thread was starved of CPU: it ran 100 of the last 300 ms \(other threads or processes had the CPU\)$/);
  assert.deepEqual(slow.cpu, { ranMs: 100, ofMs: 300, starved: true });
  // Sleeping in a syscall is the code's own waiting, not starvation.
  const sleeping = sample({ delayMs: undefined, signalled: false, syscall: 'clock_nanosleep' });
  assert.equal(buildReport(raw([sleeping], { durationMs: 500, ranMs: 1, watchedMs: 500 }), 20, MAIN).cpu.starved, false);
});

test('under a cgroup CPU limit, a futex wait is the limit\'s doing: the thread is starved, tick is not blamed', () => {
  // Seen on Node 24 in a cgroup of 10 ms per 100 ms: the loop thread sat in futex (a lock or V8's
  // helper threads, all held back with it) and the block was blamed on tick, "in futex".
  const waiting = () => sample({ frames: [frame('tick')], delayMs: undefined, signalled: false, syscall: 'futex' });
  const cpu = { durationMs: 78, ranMs: 4.8, watchedMs: 77.7, throttled: { periods: 1, ms: 86 } };
  const held = buildReport(raw([waiting(), waiting()], cpu), 20, MAIN);
  assert.equal(held.cpu.starved, true);
  assert.equal(held.culprit, undefined);
  assert.match(held.message, /starved of CPU, not by its code: .*the cgroup's CPU limit throttled it \(1 periods, 86 ms\)$/);
  // Without the limit a futex wait stays the code's own (a lock it waits for is its business).
  const { throttled, ...unlimited } = cpu;
  assert.equal(buildReport(raw([waiting(), waiting()], unlimited), 20, MAIN).cpu.starved, false);
  // A limit that explains little of the time off the CPU does not excuse the wait.
  assert.equal(buildReport(raw([waiting(), waiting()], { ...cpu, throttled: { periods: 1, ms: 10 } }), 20, MAIN).cpu.starved, false);
  // A tracked call's wait (Atomics.wait, a sync API) is the code's own, limit or not.
  const tracked = () => sample({ frames: [frame('tick')], delayMs: undefined, signalled: false, syscall: 'futex', tracked: true });
  assert.equal(buildReport(raw([tracked(), tracked()], cpu), 20, MAIN).cpu.starved, false);
});

test('on a CPU shared with busier processes, a futex wait is the contention\'s doing when the thread waited in the run queue for most of its time off the CPU', () => {
  // Seen on Node 24 in CI (three busy processes on the thread's CPU, no cgroup limit): "Event loop
  // blocked for 33 ms in tick (...), in futex", having run 2.2 of the last 32.7 ms and waited 19.9 ms
  // for a CPU. Its other threads waited for the CPU too: the futex waited on one of them.
  const waiting = () => sample({ frames: [frame('tick')], delayMs: undefined, signalled: false, syscall: 'futex' });
  const cpu = { durationMs: 33, ranMs: 2.24, watchedMs: 32.7, waitedForCpuMs: 19.9 };
  const starved = buildReport(raw([waiting()], cpu), 20, MAIN);
  assert.equal(starved.cpu.starved, true);
  assert.equal(starved.culprit, undefined);
  assert.match(starved.message, /starved of CPU, not by its code: it ran 2\.2 of the last 33 ms and waited 20 ms for a CPU/);
  // A run-queue wait that explains little of the time off the CPU does not excuse the futex wait.
  assert.equal(buildReport(raw([waiting()], { ...cpu, waitedForCpuMs: 5 }), 20, MAIN).cpu.starved, false);
  // A tracked call's wait stays the code's own.
  const tracked = () => sample({ frames: [frame('tick')], delayMs: undefined, signalled: false, syscall: 'futex', tracked: true });
  assert.equal(buildReport(raw([tracked()], cpu), 20, MAIN).cpu.starved, false);
});

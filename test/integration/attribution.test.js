'use strict';
// Naming the right code: native calls V8 cannot interrupt, phases, storms of short calls, pools.
// Each case is a real child process; the assertions name the function and the API or addon.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { runFixture, FIXTURES } = require('../helpers');

const FIXTURE = 'attribution.js';

function only(reports, predicate, what) {
  const matching = reports.filter(predicate);
  assert.equal(matching.length, 1, `expected one report ${what}, got ${JSON.stringify(reports, null, 1)}`);
  return matching[0];
}

const named = (name) => (report) => report.culprit && report.culprit.functionName === name;

test('JSON.parse inside a request handler names the function that called it, not the handler', async () => {
  const { reports, code } = await runFixture(FIXTURE, ['jsonInHandler', 20]);
  assert.equal(code, 0);
  const report = only(reports, named('loadUsers'), 'naming loadUsers');
  assert.equal(report.blockingCall, 'JSON.parse');
  // Parsing 300,000 objects allocates: GC can be more than half of the block.
  assert.ok(['native', 'gc'].includes(report.state), report.state);
  assert.ok(!reports.some(named('renderPage')), 'the caller is not blamed');
});

test('fs.readSync of 64 MB is fs.readSync in readChunk (not the call after it)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-attr-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'big.bin');
  fs.writeFileSync(file, Buffer.alloc(64 * 1024 * 1024, 1));
  const { reports } = await runFixture(FIXTURE, ['readSync', 5, file]);
  const report = only(reports, named('readChunk'), 'naming readChunk');
  assert.equal(report.blockingCall, 'fs.readSync');
});

test('child_process.spawnSync of a slow command names its caller and the API', async () => {
  const { reports } = await runFixture(FIXTURE, ['spawnSync', 20]);
  const report = only(reports, named('runSlow'), 'naming runSlow');
  assert.equal(report.blockingCall, 'child_process.spawnSync');
  assert.equal(report.state, 'native');
  assert.ok(report.durationMs >= 250, `duration ${report.durationMs}`);
});

test('a synchronous native addon is named by addon, function and caller (its exports are tracked while watching)', { timeout: 180_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-addon-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(FIXTURES, 'addon'), dir, { recursive: true });
  // Node-API is ABI-stable: headers of the running Node's own install build it for every line.
  const nodedir = path.resolve(process.execPath, '..', '..');
  execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--nodedir=${nodedir}`], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  const addon = path.join(dir, 'build', 'Release', 'slow_addon.node');
  const { reports } = await runFixture(FIXTURE, ['addon', 20, addon]);
  const report = only(reports, (r) => r.durationMs >= 200, 'of the addon call');
  assert.equal(report.state, 'native');
  assert.match(report.nativeModule, /slow_addon\.node/);
  assert.match(report.message, /^Event loop blocked for \d+ ms by slow_addon spin in queryUsers \(test\/fixtures\/watchdog\/attribution\.js:\d+:\d+\)/);
  assert.equal(report.blockingCall, 'slow_addon spin');
  assert.equal(report.culprit.functionName, 'queryUsers');
});

test('node:sqlite: a long query names the function and the statement method', async (t) => {
  if (!process.getBuiltinModule?.('node:sqlite')) return t.skip(`node:sqlite is not in Node ${process.version}`);
  const { reports } = await runFixture(FIXTURE, ['sqlite', 20]);
  const report = only(reports, named('queryReport'), 'naming queryReport');
  assert.equal(report.blockingCall, 'sqlite.StatementSync.get');
  assert.equal(report.state, 'native');
});

test('a block made of phases names the longest phase and keeps the first sample', async () => {
  const { reports } = await runFixture(FIXTURE, ['twoPhases', 20]);
  const report = only(reports, (r) => r.durationMs >= 300, 'of the two phases');
  assert.equal(report.culprit.functionName, 'hotLoop');
  assert.equal(report.firstSample.culprit.functionName, 'warmUp');
  assert.ok(report.samples.share > 0.5, JSON.stringify(report.samples));
  assert.match(report.message, new RegExp(`in hotLoop \\(.*\\) \\[${Math.round(report.samples.share * 100)} % of the time\\]`));
});

test('a storm of short fs.statSync calls names the loop and the API', async () => {
  const { reports } = await runFixture(FIXTURE, ['statStorm', 20]);
  const report = only(reports, named('statStorm'), 'naming statStorm');
  assert.equal(report.blockingCall, 'fs.statSync');
});

test('a pool worker waiting for work in Atomics.wait is idle; its task is reported, with its thread', async () => {
  const { reports, code } = await runFixture(FIXTURE, ['pool', 20]);
  assert.equal(code, 0);
  // The worker waits 800 ms for its task and again after it: no report may span a wait.
  assert.deepEqual(reports.filter((r) => r.durationMs >= 600).map((r) => r.message), []);
  const report = only(reports, named('resizeImage'), 'naming resizeImage');
  assert.ok(report.durationMs >= 150 && report.durationMs < 600, `the task took 200 ms, reported ${report.durationMs}`);
  assert.ok(report.threadId > 0, `threadId ${report.threadId}`);
  if (process.getBuiltinModule?.('node:worker_threads').threadName !== undefined) assert.equal(report.threadName, 'resize');
});

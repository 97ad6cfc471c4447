'use strict';
// Issue 14.4: a wrapper may fail to record, but never fails the host's call, and watch() never
// throws on targets it cannot wrap (skipped, and said once). Each case a real child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { runFixture } = require('../helpers');

const ROOT = path.join(__dirname, '..', '..');

test("--frozen-intrinsics: none of the host's 200 fs.readFileSync calls throws, watched or checked by the rule set", async () => {
  const { code, stdout, stderr } = await runFixture('never-throws.js', ['frozen-intrinsics'], {
    nodeArgs: ['--frozen-intrinsics'],
    timeoutMs: 120_000,
  });
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.deepEqual(result.watched, { threw: 0 }, stdout);
  assert.ok(result.calls >= 200, stdout);
  assert.deepEqual(result.checked, { threw: 0 }, stdout);
  // Recording still works there: the stack is read from its text when it cannot be structured.
  assert.ok(result.reports > 0, `${stdout}\n${stderr}`);
  assert.ok(result.byCaller > 0, `reads named by their caller: ${stdout}\n${stderr}`);
  assert.equal(result.ruled, 200, stdout);
  assert.match(result.firstRule, /^Blocking call to fs\.readFileSync at readMany \(.*never-throws\.js:\d+:\d+\)$/);
  assert.match(stderr, /BLOCKBUSTER_UNWRAPPABLE.*JSON\.parse/, 'the frozen JSON and Atomics are named once');
  assert.equal(stderr.match(/BLOCKBUSTER_UNWRAPPABLE/g).length, 1, stderr);
  // The live line names the user's code, never blockbuster's own (the recorder's stack capture is
  // slow here, so the samples land in it: it said 'by fs.readFileSync in captureCallSites (dist/...)').
  const headlines = stderr.split('\n').filter((line) => line.includes('Event loop still blocked'));
  assert.ok(headlines.length > 0, stderr);
  const own = ['dist', 'lib', 'esm'].map((dir) => `${path.join(ROOT, dir)}${path.sep}`);
  for (const line of headlines) assert.ok(!own.some((prefix) => line.includes(prefix)), line);
});

test('Object.freeze(fs) before watch(): watch() and activate() do not throw, fs is skipped and said once, the rest is wrapped', async () => {
  const { code, stdout, stderr } = await runFixture('never-throws.js', ['frozen-fs'], { timeoutMs: 120_000 });
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.equal(result.watchError, undefined, stdout);
  assert.equal(result.activateError, undefined, stdout);
  assert.deepEqual(result.calls, { threw: 0 });
  assert.equal(result.fsRuleActive, false, 'a frozen fs is left alone');
  assert.equal(result.zlibWrapped, true, 'what can be wrapped still is');
  assert.equal(stderr.match(/BLOCKBUSTER_UNWRAPPABLE/g)?.length, 1, stderr);
  assert.match(stderr, /cannot wrap fs\.\w+Sync, .*\(frozen or non-configurable\)/);
});

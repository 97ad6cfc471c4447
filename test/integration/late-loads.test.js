'use strict';
// Issue 15.1: under the preload and the CLI, watch() runs before the app loads node:crypto and
// node:child_process; their sync calls are named by caller from the first block, because the
// builtins are wrapped as they load (require, process.getBuiltinModule, and import where the line
// has module.registerHooks). 5 runs each: every one must name the caller.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { registerHooks } = require('node:module');
const { ROOT, linkSelf, run } = require('../helpers');

const DIR = path.join(__dirname, '..', 'fixtures', 'watchdog', 'late-loads');
const CLI = path.join(ROOT, 'dist', 'cli.js');
// Blocks of hundreds of ms against a 50 ms threshold: 10x margins on a shared machine.
const ENV = { BLOCKBUSTER_THRESHOLD_MS: '50' };
const RUNS = 5;

test.before(linkSelf);

function finalLines(stderr) {
  return stderr.split('\n').filter((line) => line.startsWith('blockbuster: Event loop blocked') && !line.includes('still blocked'));
}

const durationOf = (line) => Number(/blocked for (\d+) ms/.exec(line)[1]);

async function assertNamed(args, label) {
  for (let i = 0; i < RUNS; i++) {
    const { code, stderr } = await run(args, { cwd: ROOT, env: ENV });
    assert.equal(code, 0, stderr);
    // Found by content: a starved machine adds blocks of its own (off-CPU time, no code to name).
    const lines = finalLines(stderr);
    const hash = lines.filter((line) => / by crypto\.pbkdf2Sync in hashPassword \(test\/fixtures\/watchdog\/late-loads\/auth[\w-]*\.m?js:\d+:\d+\)/.test(line));
    const migration = lines.filter((line) => / by child_process\.execSync in runMigration \(test\/fixtures\/watchdog\/late-loads\/migrate[\w-]*\.m?js:\d+:\d+\)/.test(line));
    assert.equal(hash.length, 1, `${label}, run ${i + 1}: ${stderr}`);
    assert.equal(migration.length, 1, `${label}, run ${i + 1}: ${stderr}`);
    // The call's block is the one named: no longer block before it went unnamed.
    const before = lines.slice(0, lines.indexOf(hash[0]));
    assert.ok(before.every((line) => durationOf(line) < durationOf(hash[0])), `${label}, run ${i + 1}: ${stderr}`);
  }
}

test('--require blockbuster/register, builtins required after watch()', () =>
  assertNamed(['--require', 'blockbuster/register', path.join(DIR, 'app.js'), 'require'], '--require'));

test('--require blockbuster/register, builtins from process.getBuiltinModule after watch()', () =>
  assertNamed(['--require', 'blockbuster/register', path.join(DIR, 'app.js'), 'getBuiltinModule'], 'getBuiltinModule'));

test('the CLI, builtins required after watch()', () => assertNamed([CLI, '--threshold', '50', path.join(DIR, 'app.js'), 'require'], 'CLI'));

test('--import blockbuster/register, named imports of builtins imported after watch()', { skip: typeof registerHooks !== 'function' && 'this line has no module.registerHooks: see the README' }, () =>
  assertNamed(['--import', 'blockbuster/register', path.join(DIR, 'app.mjs')], '--import'));

test('the app never gets a builtin it did not load', async () => {
  const { code, stdout, stderr } = await run(['--require', 'blockbuster/register', path.join(DIR, 'probe.js')], { cwd: ROOT, env: ENV });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), []);
});

'use strict';
// The preload, `node --require blockbuster/register` and `node --import blockbuster/register`,
// configured by BLOCKBUSTER_* variables; each case a real child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, linkSelf, run } = require('../helpers');

const APP = path.join(__dirname, '..', 'fixtures', 'watchdog', 'app.js');
const APP_MJS = path.join(__dirname, '..', 'fixtures', 'watchdog', 'app.mjs');
// Blocks of 10x the threshold: the machine is shared with other builds.
const BASE = { BLOCKBUSTER_THRESHOLD_MS: '50', FIXTURE_BLOCK_MS: '500' };

test.before(linkSelf);

const required = (args, env) => run(['--require', 'blockbuster/register', APP, ...args], { cwd: ROOT, env: { ...BASE, ...env } });

/** Final report lines (not the live "still blocked" lines) that name `fn`. */
function reportLines(stderr, fn) {
  return stderr.split('\n').filter((l) => l.includes(`in ${fn} (`) && !l.includes('still blocked'));
}

test('--require, diagnostics (default): a loop block is reported and the exit code is untouched', async () => {
  const { code, stderr } = await required(['loop']);
  assert.equal(code, 0, stderr);
  const lines = reportLines(stderr, 'loopWork');
  assert.equal(lines.length, 1, stderr);
  // "[k of n samples]" appears when the watchdog's samples of the block disagree (a loaded machine).
  assert.match(lines[0], /^blockbuster: Event loop blocked for \d+ ms in loopWork \(.*app\.js:\d+:\d+\)( \[\d+ % of the time\])?(; the thread was starved of CPU: [^\]]*\))? \[state=js, threshold=50 ms\]$/);
});

test('--import, strict: the process fails with the readable report, not an object dump', async () => {
  const { code, stderr } = await run(['--import', 'blockbuster/register', APP_MJS], { cwd: ROOT, env: { ...BASE, BLOCKBUSTER_MODE: 'strict' } });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /BlockingError: Event loop blocked for \d+ ms in esmLoopWork \(/);
  assert.match(stderr, /> *\d+ \|\s+while \(Date\.now\(\) < end\);/, 'code frame of the culprit');
  assert.match(stderr, /\n {4}at esmLoopWork \(/);
  assert.doesNotMatch(stderr, /frames: \[|source: 'watchdog'/, 'no dump of the error object');
});

test('one form for a frame\'s file: an ES module\'s culprit is a path, as a CommonJS one is, not a file:// URL', async () => {
  const blocks = (stderr) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((r) => r.kind === 'block');
  const esm = await run(['--import', 'blockbuster/register', APP_MJS], { cwd: ROOT, env: { ...BASE, BLOCKBUSTER_FORMAT: 'json' } });
  const cjs = await required(['loop'], { BLOCKBUSTER_FORMAT: 'json' });
  const esmReport = blocks(esm.stderr).find((r) => r.culprit?.functionName === 'esmLoopWork');
  const cjsReport = blocks(cjs.stderr).find((r) => r.culprit?.functionName === 'loopWork');
  assert.ok(esmReport && cjsReport, esm.stderr + cjs.stderr);
  assert.equal(esmReport.culprit.file, APP_MJS);
  assert.equal(cjsReport.culprit.file, APP);
  assert.ok(esmReport.frames.every((f) => !f.file.startsWith('file:')), JSON.stringify(esmReport.frames));
  // The native live line too (written by the watchdog thread).
  const live = esm.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((r) => r.kind === 'ongoing');
  assert.ok(live, esm.stderr);
  assert.equal(live.culprit.file, APP_MJS);
  assert.ok(live.frames.every((f) => !f.file.startsWith('file:')), JSON.stringify(live.frames));
});

test('start-up is not the loop: a start-up block does not fail strict mode and is one line', async () => {
  const { code, stderr } = await required(['startup'], { BLOCKBUSTER_MODE: 'strict' });
  assert.equal(code, 0, stderr);
  const lines = reportLines(stderr, 'startupWork');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^blockbuster: Event loop blocked for \d+ ms in startupWork \(.*\)( \[\d+ % of the time\])?(; the thread was starved of CPU: .*\))? during start-up \(before the event loop first turned\) \[state=js, threshold=50 ms\]$/);
  const after = stderr.split('\n').slice(stderr.split('\n').indexOf(lines[0]) + 1);
  assert.ok(!after.some((l) => /^\s+at |^> *\d+ \|/.test(l)), `one line, no stack: ${stderr}`);
  // The live line waits 10 times longer for start-up code: a slow start is not a hang.
  assert.doesNotMatch(stderr, /still blocked/);
});

test('start-up with BLOCKBUSTER_FAIL_ON_STARTUP=1 fails strict mode; a loop block after start-up fails it anyway', async () => {
  const startup = await required(['startup'], { BLOCKBUSTER_MODE: 'strict', BLOCKBUSTER_FAIL_ON_STARTUP: '1' });
  assert.equal(startup.code, 1, startup.stderr);
  assert.match(startup.stderr, /BlockingError: Event loop blocked for \d+ ms in startupWork .*during start-up/);
  const both = await required(['startup', 'loop'], { BLOCKBUSTER_MODE: 'strict' });
  assert.equal(both.code, 1, both.stderr);
  assert.match(both.stderr, /BlockingError: Event loop blocked for \d+ ms in loopWork/);
});

test('json output to a file: phase startup and loop, one object per line', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-register-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'blocks.jsonl');
  const { code, stderr } = await required(['startup', 'loop'], { BLOCKBUSTER_OUTPUT: file, BLOCKBUSTER_FORMAT: 'json' });
  assert.equal(code, 0, stderr);
  const reports = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.message);
  const phases = Object.fromEntries(reports.map((r) => [r.culprit.functionName, r.phase]));
  assert.deepEqual(phases, { startupWork: 'startup', loopWork: 'loop' });
});

test('strict mode keeps the host exit code: exit(3) after a block exits 3, exit(0) becomes 1', async () => {
  const three = await required(['loop', 'exit=3'], { BLOCKBUSTER_MODE: 'strict' });
  assert.equal(three.code, 3, three.stderr);
  assert.match(three.stderr, /BlockingError: Event loop blocked for \d+ ms in loopWork/, 'still reported');
  const zero = await required(['loop', 'exit=0'], { BLOCKBUSTER_MODE: 'strict' });
  assert.equal(zero.code, 1, zero.stderr);
  const diagnostics = await required(['loop', 'exit=3']);
  assert.equal(diagnostics.code, 3, diagnostics.stderr);
  const clean = await required(['exit=4'], { BLOCKBUSTER_MODE: 'strict' });
  assert.equal(clean.code, 4, clean.stderr);
});

test('BLOCKBUSTER_RULES=1: a sync call in a callback throws in strict mode, is a line in diagnostics; 0 lets it run', async () => {
  const on = await required(['readSync'], { BLOCKBUSTER_RULES: '1', BLOCKBUSTER_MODE: 'strict' });
  assert.equal(on.code, 1, on.stderr);
  assert.match(on.stderr, /BlockingError: Blocking call to fs\.readFileSync at readConfigSync/);
  const reported = await required(['readSync'], { BLOCKBUSTER_RULES: '1' });
  assert.equal(reported.code, 0, reported.stderr);
  assert.match(reported.stdout, /^read \d+$/m);
  assert.match(reported.stderr, /Blocking call to fs\.readFileSync at readConfigSync/);
  const off = await required(['readSync'], { BLOCKBUSTER_RULES: '0' });
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /^read \d+$/m);
});

test('a worker thread the program starts is watched too (--require and NODE_OPTIONS)', async () => {
  const viaFlag = await required(['worker']);
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  assert.equal(reportLines(viaFlag.stderr, 'workerWork').length, 1, viaFlag.stderr);
  const viaImport = await run(['--import', 'blockbuster/register', APP, 'worker'], { cwd: ROOT, env: BASE });
  assert.equal(reportLines(viaImport.stderr, 'workerWork').length, 1, viaImport.stderr);
  const viaEnv = await run([APP, 'worker'], { cwd: ROOT, env: { ...BASE, NODE_OPTIONS: '--require blockbuster/register' } });
  assert.equal(reportLines(viaEnv.stderr, 'workerWork').length, 1, viaEnv.stderr);
});

for (const [name, value, expected] of [
  ['BLOCKBUSTER_MODE', 'loud', /BLOCKBUSTER_MODE must be 'diagnostics' or 'strict', got "loud"/],
  ['BLOCKBUSTER_THRESHOLD_MS', 'soon', /BLOCKBUSTER_THRESHOLD_MS must be a number of milliseconds > 0, got "soon"/],
  ['BLOCKBUSTER_RULES', 'yes', /BLOCKBUSTER_RULES must be 1 or 0/],
  ['BLOCKBUSTER_FORMAT', 'xml', /BLOCKBUSTER_FORMAT must be 'text' or 'json'/],
  ['BLOCKBUSTER_ABORT_AFTER_MS', '5000', /BLOCKBUSTER_ABORT_AFTER_MS only applies to BLOCKBUSTER_MODE=strict/],
  ['BLOCKBUSTER_OUTPUT', '/nonexistent-dir/blocks.log', /BLOCKBUSTER_OUTPUT: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/],
]) {
  test(`a bad ${name} fails at start, naming it (--require and --import)`, async () => {
    for (const form of ['--require', '--import']) {
      const { code, stderr, stdout } = await run([form, 'blockbuster/register', APP, 'loop'], { cwd: ROOT, env: { ...BASE, [name]: value } });
      assert.equal(code, 9, `${form}: ${stderr}`);
      assert.match(stderr, expected);
      assert.equal(stdout, '', 'the program never ran');
    }
  });
}

test("the program's own watch() takes over from the preload's watcher instead of failing", async () => {
  const { code, stdout, stderr } = await required(['ownWatch', 'loop']);
  assert.equal(code, 0, stderr);
  // Only the loop block is certain: a loaded machine may add a start-up one.
  assert.match(stdout, /^own watcher: loopWork$/m);
  assert.equal(reportLines(stderr, 'loopWork').length, 0, 'reported once, by the program\'s watcher');
});

test('BLOCKBUSTER_ABORT_AFTER_MS in strict mode: a block that never ends is reported and the process aborted', async () => {
  const { code, signal, stderr } = await required(['forever'], { BLOCKBUSTER_MODE: 'strict', BLOCKBUSTER_ABORT_AFTER_MS: '500' });
  assert.ok(signal === 'SIGABRT' || code === 134, `signal ${signal} code ${code}: ${stderr}`);
  assert.match(stderr, /spinForever/);
});

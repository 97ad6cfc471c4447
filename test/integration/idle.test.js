'use strict';
// What an idle watched process pays: the watchdog thread sleeps on the loop's own fd and wakes
// for the loop, not on a clock. Read from outside, per thread, in /proc (Linux).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { FIXTURES } = require('../helpers');

const linux = process.platform === 'linux';

function startIdle(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'idle.js'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('error', reject);
    child.stdout.once('data', () => resolve(child));
  });
}

/** Voluntary context switches (each one a sleep that ended) of the thread named `name`. */
function wakeUps(pid, name) {
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    if (/^Name:\s*(.*)$/m.exec(status)[1] === name) return Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)[1]);
  }
  throw new Error(`no thread named ${name} in ${pid}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('an idle watched process: the watchdog thread sleeps through 5 s (it looked once a second before)', { skip: !linux && 'reads /proc' }, async (t) => {
  const child = await startIdle('watch');
  t.after(() => child.kill('SIGKILL'));
  // Right after the loop last ran the watchdog looks again within 1 s; then it sleeps.
  await sleep(2500);
  const before = wakeUps(child.pid, 'blockbuster');
  await sleep(5000);
  const woke = wakeUps(child.pid, 'blockbuster') - before;
  // Each timed look is one wake-up: 5 before (1 s parks); 0 now, 1 allowed for a stray wake.
  assert.ok(woke <= 1, `the watchdog thread woke ${woke} times in 5 idle seconds`);
});

// What watch() leaves out until a block: the report builder, the human format and source maps
// (blockbuster's own heap), tty and the stream stack under it (Node's). The first report must be as
// whole as when they were loaded up front: culprit, code frame, frames.
const CULPRIT = 'spinInLazyFixture';

function lazyChild(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'idle-lazy.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      resolve({ code, signal, stderr, result: line === undefined ? undefined : JSON.parse(line) });
    });
  });
}

test('watch() loads no report builder, human format, source maps nor tty until a block; the first report is whole', async () => {
  const { code, stderr, result } = await lazyChild();
  assert.equal(code, 0, stderr);
  const lazy = ['report.js', 'human.js', 'source-map.js'];
  assert.deepEqual(result.atWatch.files.filter((f) => lazy.includes(f)), [], 'loaded by require + watch()');
  assert.deepEqual(result.atWatch.builtins.filter((b) => b === 'tty' || b === 'net'), [], 'builtins loaded by require + watch()');
  assert.deepEqual(lazy.filter((f) => !result.afterBlock.files.includes(f)), [], 'loaded for the first report');
  const report = stderr.split('\n').findIndex((l) => l.startsWith('blockbuster: Event loop blocked for') && l.includes(CULPRIT));
  assert.ok(report >= 0, `no report naming ${CULPRIT}:\n${stderr}`);
  const rest = stderr.split('\n').slice(report + 1, report + 8).join('\n');
  assert.match(rest, /^> +\d+ \| +while \(Date\.now\(\) < end\);$/m, `no code frame at the culprit:\n${rest}`);
  assert.match(rest, new RegExp(`^    at ${CULPRIT} \\(`, 'm'), `no frames:\n${rest}`);
});

test('a lazily loaded module that cannot load at the first report costs that report, never the host', async (t) => {
  const root = process.env.BLOCKBUSTER_UNDER_TEST ?? path.join(__dirname, '..', '..');
  const copy = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'blockbuster-lazy-'));
  t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
  for (const entry of ['package.json', 'dist', 'build/Release/blockbuster.node', 'build/config.gypi', 'prebuilds']) {
    if (fs.existsSync(path.join(root, entry))) fs.cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
  }
  // A package replaced under a running process, say: the report builder throws when it is loaded.
  fs.writeFileSync(path.join(copy, 'dist', 'report.js'), "throw new Error('report.js replaced under the running process');\n");
  const { code, signal, stderr, result } = await lazyChild({ BLOCKBUSTER_UNDER_TEST: copy });
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.ok(result !== undefined, 'the host went on after the block');
  assert.match(stderr, /blockbuster: could not build the report of a \d+ ms block: Error: report\.js replaced under the running process/);
});

// V8's memory reducer for small heaps: before any mark-compact, an old generation grown 1 MB over
// its size after bootstrap schedules two "Mark-Compact (reduce)" GCs ~8 s later. A bare server stays
// under it; watch()'s own allocation (the call-site recorder's install above all) takes it over.
// The margin is small: after require('blockbuster'), 50 KB more of short-lived objects stay under
// it and 100 KB cross it, while watch() allocates ~250 KB as it starts. Kept as a todo
// (docs/architecture.md, the idle path).
function gcLinesAfterReady(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--trace-gc', path.join(FIXTURES, 'idle.js'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    setTimeout(() => {
      child.kill('SIGKILL');
      const at = out.indexOf('{"ready":true}');
      if (at < 0) return reject(new Error(`${mode}: never ready`));
      resolve(out.slice(at).split('\n').filter((l) => /: (Scavenge|Mark-Compact|Minor Mark)/.test(l)));
    }, 12_000);
  });
}

test('an idle watched server has no more GCs in the 12 s after watch() than one without', { skip: !linux && 'reads /proc', todo: "the call-site recorder's install takes a bare server over V8's memory-reducer threshold" }, async () => {
  const [none, watched] = await Promise.all([gcLinesAfterReady('none'), gcLinesAfterReady('watch')]);
  assert.ok(watched.length <= none.length, `watched: ${watched.length} GCs (${watched.map((l) => /ms: ([A-Za-z -]+(\(reduce\))?)/.exec(l)?.[1].trim()).join(', ')}); no tool: ${none.length}`);
});

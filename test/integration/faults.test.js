'use strict';
// Faults around the watcher, each in a real child process: a failing onBlock, a failing or stalled
// output, and a storm of short blocks.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { runFixture, FIXTURES } = require('../helpers');

const FIXTURE = 'faults.js';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-faults-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const warnings = (stderr, pattern) => stderr.split('\n').filter((line) => pattern.test(line));

test('diagnostics: an onBlock that throws is said in one line per throw, and later blocks still reach it', async () => {
  const { lines, stderr, code } = await runFixture(FIXTURE, ['throwingOnBlock', 'diagnostics']);
  assert.equal(code, 0, stderr);
  const calls = lines.filter((l) => 'called' in l);
  assert.equal(calls.length, 3, JSON.stringify(lines));
  assert.equal(warnings(stderr, /^blockbuster: onBlock threw: Error: onBlock failed on purpose$/).length, 3, stderr);
  assert.ok(lines.some((l) => l.finished));
});

test(
  'strict: an onBlock that throws surfaces as an uncaught exception (the process fails)',
  async () => {
    const { stderr, code } = await runFixture(FIXTURE, ['throwingOnBlock', 'strict']);
    assert.notEqual(code, 0, stderr);
    assert.match(stderr, /onBlock failed on purpose/);
  },
);

test('a slow onBlock (100 ms of synchronous work) is never re-entered and the process ends cleanly', async () => {
  const { lines, stderr, code } = await runFixture(FIXTURE, ['slowOnBlock', 100, 5], { timeoutMs: 60_000 });
  assert.equal(code, 0, stderr);
  const calls = lines.filter((l) => 'called' in l);
  // The first app block is delivered; nothing is dropped from the native queue.
  assert.ok(calls.length >= 1, JSON.stringify(lines));
  assert.doesNotMatch(stderr, /report queue full/);
  assert.ok(lines.some((l) => l.finished));
});

test(
  "an onBlock that blocks is not reported back to itself forever: its own blocks end with the app's",
  async () => {
    const { lines, code } = await runFixture(FIXTURE, ['slowOnBlock', 100, 5], { timeoutMs: 60_000 });
    assert.equal(code, 0);
    const calls = lines.filter((l) => 'called' in l);
    // 5 app blocks; a 2 s idle tail after them must bring no more calls.
    assert.ok(calls.length <= 6, `${calls.length} onBlock calls for 5 blocks`);
  },
);

test('an output fd closed under the watcher: no crash, the watcher keeps running, the exit code is kept', async (t) => {
  const file = path.join(tempDir(t), 'out.log');
  const { lines, stderr, code } = await runFixture(FIXTURE, ['closedFd', file]);
  assert.equal(code, 5, stderr);
  assert.deepEqual(lines.find((l) => 'active' in l), { active: true });
  // Before the close: written. The block while the fd was closed is lost (EBADF).
  assert.equal(warnings(fs.readFileSync(file, 'utf8'), /^blockbuster: Event loop blocked/).length, 2);
  // The number came back for another file, and the next report went there: the watchdog kept
  // running, and an fd output must stay open for as long as the watcher runs.
  const { fd, reused } = lines.find((l) => 'reused' in l);
  assert.equal(reused, fd);
  assert.equal(warnings(fs.readFileSync(`${file}.other`, 'utf8'), /^blockbuster: Event loop blocked/).length, 1);
});

test(
  'an output fd that fails (EBADF) is said once on stderr',
  async (t) => {
    const file = path.join(tempDir(t), 'out.log');
    const { stderr } = await runFixture(FIXTURE, ['closedFd', file]);
    assert.equal(warnings(stderr, /^blockbuster: .*(EBADF|cannot write)/).length, 1, stderr);
  },
);

// Spawns a fault scenario with fd 3 a socket to this process; `reader` decides what to do with it.
function withFd3(args, reader, { timeoutMs = 60_000, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, FIXTURE), ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    reader(child.stdio[3]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (onStdout) onStdout(stdout, child);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stdout ${stdout.slice(-500)} stderr ${stderr.slice(-500)}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ code, signal, stdout, stderr, lines });
    });
  });
}

test('an output whose reader is gone (EPIPE): no crash, no SIGPIPE, the watcher keeps running, the exit code is kept', async () => {
  const { code, signal, lines, stderr } = await withFd3(['brokenPipe'], (socket) => socket.destroy());
  assert.equal(signal, null);
  assert.equal(code, 5, stderr);
  assert.deepEqual(lines.find((l) => 'active' in l), { active: true });
});

test('an output nobody reads, at the default rate limit: the app is never held up by the watcher\'s writes', async () => {
  // 1000 blocks of 12 ms in ~15 s at 10 lines a minute: a few KB, far below a socket buffer.
  const { lines, code, stderr } = await withFd3(['backpressure', 10], () => {}, { timeoutMs: 120_000 });
  assert.equal(code, 0, stderr);
  assert.ok(lines.some((l) => l.finished));
});

test('an output nobody reads, without a rate limit: the app stalls only once the socket buffer is full (measured)', async () => {
  let stalled;
  const { lines } = await withFd3(
    ['backpressure', 1e9],
    (socket) => {
      socket.pause();
    },
    {
      timeoutMs: 120_000,
      // No progress line for 3 s (a block is 12 ms): the app is held in a write; stop it there.
      onStdout: (stdout, child) => {
        clearTimeout(child.stallTimer);
        child.stallTimer = setTimeout(() => {
          stalled = true;
          child.kill('SIGKILL');
        }, 3000);
      },
    },
  );
  const progress = lines.filter((l) => 'done' in l);
  const done = progress.length ? progress[progress.length - 1].done : 0;
  // Either it finished (the buffer was big enough) or it stalled after many reports, never at once.
  assert.ok(done >= 50, `stalled after ${done} blocks`);
  console.log(`# unread output, no rate limit: ${stalled ? `the app stalled in a write after ${done} blocks` : `finished all ${done} blocks`}`);
});

test('a storm of short blocks for 10 s: memory stays bounded, the watchdog keeps running, suppressed counts are said', { timeout: 120_000 }, async (t) => {
  const file = path.join(tempDir(t), 'storm.jsonl');
  const { lines, code, stderr } = await runFixture(FIXTURE, ['storm', 10, file], { timeoutMs: 110_000 });
  assert.equal(code, 0, stderr);
  const [facts] = lines;
  const rate = facts.blocks / facts.seconds;
  const growth = facts.rssAtEnd - facts.rssAtOneSecond;
  console.log(`# storm: ${facts.blocks} blocks in ${facts.seconds} s (${Math.round(rate)}/s), RSS ${(facts.rssAtOneSecond / 1e6).toFixed(1)} -> ${(facts.rssAtEnd / 1e6).toFixed(1)} MB`);
  // The app blocks back to back; on a quiet 2-core machine that is ~500/s, far less under load.
  assert.ok(rate >= 100, `only ${rate} blocks/s`);
  assert.ok(growth < 30e6, `RSS grew ${growth} bytes during the storm`);
  const out = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const reports = out.filter((o) => o.name === 'BlockingError' && o.message && !o.status);
  const suppressedLine = out.find((o) => typeof o.suppressed === 'number');
  const dropped = out.filter((o) => o.status === 'dropped').reduce((n, o) => n + o.dropped, 0);
  // 10 lines a minute, then the count of the rest at stop(); the watchdog saw many more than 10.
  assert.ok(reports.length >= 10, JSON.stringify(out.map((o) => o.message)));
  assert.ok(suppressedLine && suppressedLine.suppressed > 20, JSON.stringify(suppressedLine));
  console.log(`# storm: ${reports.length} lines, ${suppressedLine.suppressed} suppressed, ${dropped} dropped (queue full)`);
  // After the storm, a new watcher's own thread still writes its live line.
  assert.ok(out.some((o) => o.status === 'ongoing' && /still blocked/.test(o.message)), JSON.stringify(out.slice(-3)));
});

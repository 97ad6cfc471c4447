'use strict';
// Worker pools (issue 15 §6): real piscina pools under the preload. A pool worker parks in
// Atomics.wait between tasks, so its loop does not turn: the task's report must still arrive
// while the pool lives, once, labelled with its thread, and idle parked workers stay quiet.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { runFixture } = require('../helpers');

const REGISTER = path.join(__dirname, '..', '..', 'dist', 'register.js');
const REGISTER_ESM = path.join(__dirname, '..', '..', 'esm', 'register.mjs');
const THRESHOLD_MS = 40;
const TASK_MS = 400;
// How long the pool stays alive after the task, with the main loop idle.
const KEEP_MS = 3500;
// "Within a second" of the block's end, with room for a loaded 2-core machine.
const DELIVERY_BOUND_MS = 1500;

function runPool(args, { format = 'json', env = {}, preload = ['--require', REGISTER] } = {}) {
  return runFixture('pools.js', args, {
    nodeArgs: preload,
    env: { BLOCKBUSTER_THRESHOLD_MS: String(THRESHOLD_MS), BLOCKBUSTER_FORMAT: format, ...env },
  });
}

/** The fixture's events (stdout) by name, and the watchdog's JSON lines (stderr). */
function parse({ stdout, stderr }) {
  const events = {};
  const onBlock = [];
  for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const parsed = JSON.parse(line);
    if (parsed.event) events[parsed.event.name] = parsed.event;
    if (parsed.onBlock) onBlock.push(parsed);
  }
  const lines = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { events, onBlock, blocks: lines.filter((l) => l.kind === 'block'), lines };
}

// Worker lines written from a second after the warm-up (a worker delivers its start-up blocks as it
// first parks, which can be just after the main thread heard back) to the end: a report of an idle
// parked worker would be written while it sits there (a live line), or at its teardown (at-exit).
function whileIdle(lines, events) {
  return lines.filter((r) => r.threadId > 0 && Date.parse(r.time) >= events.warm.at + 1000);
}

const names = (report) => (report.frames ?? []).some((frame) => frame.functionName === 'crunchNumbers');

test('a pool task is reported within a second of its end while the pool lives, once, with its thread', async () => {
  const run = await runPool(['task', TASK_MS, KEEP_MS, 3]);
  assert.equal(run.code, 0, run.stderr);
  const { events, blocks } = parse(run);
  const done = events['task-done'];
  assert.ok(done && events.destroy && events.destroyed, run.stdout);
  const task = blocks.filter(names);
  assert.equal(task.length, 1, `one report of the task, also after destroy and at exit:\n${run.stderr}`);
  const [report] = task;
  assert.equal(report.culprit?.functionName, 'crunchNumbers', report.message);
  assert.equal(report.threadId, done.threadId);
  assert.notEqual(report.status, 'at-exit', report.message);
  assert.ok(report.durationMs >= TASK_MS - 50 && report.durationMs < 3000, `${report.durationMs} ms`);
  const deliveredAt = Date.parse(report.time);
  assert.ok(
    deliveredAt - done.endedAt < DELIVERY_BOUND_MS,
    `delivered ${deliveredAt - done.endedAt} ms after the task ended (destroy came ${events.destroy.at - done.endedAt} ms after it)`,
  );
  // Nothing else from a worker while the pool sat idle.
  const idle = whileIdle(blocks, events).filter((r) => r !== report);
  assert.deepEqual(idle.map((r) => `[worker ${r.threadId}] ${r.message}`), []);
});

test("a pool worker's own onBlock gets the task's report while the pool lives, once (--import preload)", async () => {
  const run = await runPool(['task', TASK_MS, KEEP_MS, 2], { env: { POOL_ON_BLOCK: '1' }, preload: ['--import', REGISTER_ESM] });
  assert.equal(run.code, 0, run.stderr);
  const { events, onBlock, blocks } = parse(run);
  const done = events['task-done'];
  assert.ok(done, run.stdout);
  const task = onBlock.filter((entry) => names(entry.onBlock));
  assert.equal(task.length, 1, run.stdout);
  const [{ onBlock: report, threadId, at }] = task;
  assert.equal(threadId, done.threadId);
  assert.equal(report.threadId, done.threadId);
  assert.equal(report.culprit?.functionName, 'crunchNumbers', report.message);
  assert.ok(at - done.endedAt < DELIVERY_BOUND_MS, `onBlock ran ${at - done.endedAt} ms after the task ended`);
  assert.ok(at < events.destroy.at, 'before the pool was destroyed');
  // onBlock replaces the line: the task is not written as well.
  assert.deepEqual(blocks.filter(names).map((r) => r.message), []);
});

test('idle workers parked in Atomics.wait for work are never reported', async () => {
  const run = await runPool(['idle', 0, 3000, 4], { env: { BLOCKBUSTER_THRESHOLD_MS: '20' } });
  assert.equal(run.code, 0, run.stderr);
  const { events, blocks, lines } = parse(run);
  assert.equal(events.warm?.threads.length, 4, run.stdout);
  const idle = whileIdle(
    lines.filter((r) => r.kind === 'block' || r.kind === 'ongoing'),
    events,
  );
  assert.deepEqual(idle.map((r) => `[worker ${r.threadId}] ${r.message}`), []);
  assert.deepEqual(blocks.filter((r) => r.state === 'atomics-wait' && r.threadId > 0).map((r) => r.message), []);
});

// `[worker N]`, or `[worker N "name"]` where Node gives the worker a non-empty threadName (22 has
// threadName, but a worker without a `name` option has an empty one there).
function labelOf(threadId) {
  const named = process.getBuiltinModule?.('node:worker_threads').threadName !== undefined;
  return new RegExp(`^blockbuster: \\[worker ${threadId}${named ? '( "[^"]*")?' : ''}\\] `);
}

test('text lines carry the worker label: the live line, the report, and the line written at exit', async () => {
  const run = await runPool(['task', TASK_MS, 1000, 2], { format: 'text' });
  assert.equal(run.code, 0, run.stderr);
  const { events } = parse(run);
  const label = labelOf(events['task-done'].threadId);
  const lines = run.stderr.split('\n');
  const live = lines.filter((l) => /Event loop still blocked after \d+ ms in crunchNumbers/.test(l));
  const final = lines.filter((l) => /Event loop blocked for \d+ ms in crunchNumbers/.test(l));
  assert.equal(live.length, 1, run.stderr);
  assert.equal(final.length, 1, run.stderr);
  for (const line of [...live, ...final]) assert.match(line, label);
  // Torn down mid-task (destroy() terminates the worker): the native side writes it, labelled.
  const cut = await runPool(['terminate', 3000, 800, 2], { format: 'text' });
  assert.equal(cut.code, 0, cut.stderr);
  const atExit = cut.stderr.split('\n').filter((l) => /Event loop blocked for \d+ ms in crunchNumbers .*\(reported at exit\)/.test(l));
  assert.equal(atExit.length, 1, cut.stderr);
  assert.match(atExit[0], /^blockbuster: \[worker \d+/);
  assert.match(atExit[0], labelOf(Number(/\[worker (\d+)/.exec(atExit[0])[1])));
});

test('the CLI summary has a row per thread: the task on its worker, idle workers with none', async () => {
  const { spawnSync } = require('node:child_process');
  const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
  const fixture = path.join(__dirname, '..', 'fixtures', 'watchdog', 'pools.js');
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('BLOCKBUSTER_') || key === 'NODE_OPTIONS') delete env[key];
  const run = spawnSync(process.execPath, [cli, '--threshold', String(THRESHOLD_MS), '--', process.execPath, fixture, 'task', TASK_MS, 1000, 3], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const { events } = parse({ stdout: run.stdout, stderr: '' });
  const worker = events['task-done'].threadId;
  assert.match(run.stderr, /^blockbuster summary: \d+ blocks? over 40 ms in 4 watched threads$/m);
  const rows = run.stderr.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+(main|worker \d+)/.test(l));
  for (const id of events.warm.threads) {
    assert.ok(rows.some((row) => new RegExp(`\\s(worker ${id})(\\s|$)`).test(row)), `a row for worker ${id}:\n${run.stderr}`);
  }
  assert.ok(rows.some((row) => /\smain\s/.test(row)), run.stderr);
  const task = rows.filter((row) => /crunchNumbers \(/.test(row));
  assert.equal(task.length, 1, run.stderr);
  assert.match(task[0], new RegExp(`^\\s+1\\s+\\d+\\s+\\d+\\s+worker ${worker}(\\s"[^"]*")?\\s+crunchNumbers \\(`));
});

'use strict';
// "Never change what the host computes": the watchdog must not cut the host's sleeps short. SQLite's
// busy handler counts the sleeps it asked for, so an interrupted sleep shortens its timeout.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

const LOCK_MS = 1200;
const BUSY_TIMEOUT_MS = 3000;

for (const threshold of ['off', 1, 5, 20]) {
  const label = threshold === 'off' ? 'without watch()' : `watched at ${threshold} ms`;
  test(`a write waiting ${LOCK_MS} ms on another process's SQLite lock succeeds ${label}`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-sqlite-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { stdout, code, stderr } = await runFixture('sqlite-lock.js', ['writer', path.join(dir, 'app.db'), threshold, LOCK_MS, BUSY_TIMEOUT_MS]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout.trim().split('\n').pop());
    assert.equal(result.error, undefined, `${result.engine}: the write failed after ${Math.round(result.waitedMs)} ms`);
    assert.ok(result.ok);
    // The write really waited for the lock (the holder started first and held it).
    assert.ok(result.waitedMs >= LOCK_MS / 3, `waited ${result.waitedMs} ms`);
    if (threshold === 'off') return;
    // The syscall the thread slept in is the evidence for the block.
    // The longest block is the busy wait (a start-up block on a loaded machine may come first).
    const block = result.reports.reduce((a, b) => (b.durationMs > (a?.durationMs ?? 0) ? b : a), undefined);
    assert.ok(block && block.durationMs >= LOCK_MS / 3, JSON.stringify(result.reports));
    assert.match(block.syscall?.name ?? '', /nanosleep/, JSON.stringify(block));
    assert.match(block.message, /in (clock_)?nanosleep/);
  });
}

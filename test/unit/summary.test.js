'use strict';
// The CLI summary (lib/summary.ts): its words are its reports' words, and every thread has a row.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { buildReport } = require('../../dist/report');
const { SummaryRecorder, blockedBy, formatSummary, readSummaries } = require('../../dist/summary');

const MAIN = { threadId: 0, threadName: undefined };
const ADDON = '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node';

// A block inside an addon whose JS caller was never sampled: the report names the addon.
function addonReport() {
  const sample = { key: 1, stackKey: 1, atMs: 100, captureDelayMs: undefined, captureGcMs: 0, vmState: 'external', inTrackedCall: false, nativeModule: ADDON, signalled: true, movedOn: false, frames: [] };
  return buildReport({ id: 1, durationMs: 800, detectionDelayMs: 20, gcMs: 0, startup: false, samples: [sample], watchedMs: 800, samplingCostMs: 0 }, 20, MAIN);
}

test('the summary says what the report said: an addon block is not "no JavaScript on the stack"', () => {
  const report = addonReport();
  assert.match(report.message, /in native addon .*better_sqlite3\.node/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-summary-'));
  try {
    const recorder = new SummaryRecorder(dir, 20);
    recorder.record(report);
    recorder.write();
    const text = formatSummary(readSummaries(dir));
    const row = text.split('\n').find((line) => /^\s+1\s+800\s+800\s/.test(line));
    assert.ok(row, text);
    assert.match(row, /main\s+native addon .*better_sqlite3\.node \(its JavaScript caller is not known\)$/);
    assert.doesNotMatch(text, /no JavaScript on the stack/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("blockedBy keeps the report's words and drops only its figures", () => {
  assert.equal(blockedBy({ message: 'Event loop blocked for 152 ms by fs.readFileSync in loadConfig (src/config.js:12:7)' }), 'fs.readFileSync in loadConfig (src/config.js:12:7)');
  assert.equal(blockedBy({ message: 'Event loop blocked for 80 ms in spin (a.js:1:2) [75 % of the time] during start-up (before the event loop first turned)' }), 'spin (a.js:1:2)');
  assert.equal(
    blockedBy({ message: 'Event loop blocked for 77 ms while the thread was starved of CPU, not by its code: it ran 4.4 of the last 77 ms' }),
    blockedBy({ message: 'Event loop blocked for 31 ms while the thread was starved of CPU, not by its code: it ran 2.0 of the last 31 ms' }),
  );
});

test('a row per thread: each worker labelled with its id and name, a thread without blocks included', () => {
  const culprit = (text, ms) => ({ culprit: text, blockingCall: undefined, phase: 'loop', count: 1, totalMs: ms, worstMs: ms });
  const text = formatSummary([
    { pid: 7, threadId: 2, argv: [], thresholdMs: 40, culprits: [culprit('resize (w.js:3:1)', 400)], delayMs: undefined, threadName: 'images' },
    { pid: 7, threadId: 0, argv: [], thresholdMs: 40, culprits: [culprit('main (m.js:1:1)', 90)], delayMs: undefined },
    { pid: 7, threadId: 1, argv: [], thresholdMs: 40, culprits: [], delayMs: undefined },
  ]);
  const rows = text.split('\n').slice(2);
  assert.equal(rows.length, 3, text);
  assert.match(rows[0], /^\s+1\s+90\s+90\s+main\s+main \(m\.js:1:1\)$/);
  assert.match(rows[1], /^\s+0\s+0\s+0\s+worker 1\s+\(no blocks\)$/);
  assert.match(rows[2], /^\s+1\s+400\s+400\s+worker 2 "images"\s+resize \(w\.js:3:1\)$/);
  assert.match(text, /^blockbuster summary: 2 blocks over 40 ms in 3 watched threads$/m);
});

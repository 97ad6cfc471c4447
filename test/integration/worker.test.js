'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('../helpers');

test('a worker that watches itself reports its own block', async () => {
  const { reports, code } = await runFixture('worker.js', ['block']);
  assert.equal(code, 0);
  const named = reports.filter((r) => r.culprit && r.culprit.functionName === 'workerBlock');
  assert.equal(named.length, 1, JSON.stringify(reports));
  assert.equal(named[0].state, 'js');
  assert.ok(named[0].durationMs >= 180);
});

test('terminating a watched worker mid-block joins the watchdog and the process exits', async () => {
  const { lines, code, elapsedMs } = await runFixture('worker.js', ['terminate'], { timeoutMs: 20_000 });
  assert.equal(code, 0);
  assert.ok(lines.some((l) => 'terminated' in l), JSON.stringify(lines));
  assert.ok(elapsedMs < 15_000);
});

'use strict';
// diagnostics_channel: a real subscriber in a child process sees every report, and the live line's
// information for a block that had one, just before that block's report.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('../helpers');

test('blockbuster:ongoing then blockbuster:block for a long block; block alone for a short one and for a rule report', async () => {
  const { code, stdout, stderr } = await runFixture('fleet.js', ['channels']);
  assert.equal(code, 0, stderr);
  const { seen: all, reports } = JSON.parse(stdout.trim().split('\n').pop());
  assert.equal(reports, 2);
  // The fixture's own blocks (800 and 200 ms); a loaded machine may add blocks of its own at this
  // 20 ms threshold (27-93 ms were seen at load 17).
  const seen = all.filter((m) => m.source === 'rule' || m.durationMs >= 150);
  assert.deepEqual(
    seen.map((m) => `${m.channel}${m.source ? `:${m.source}` : ''}`),
    ['ongoing', 'block:watchdog', 'block:watchdog', 'block:rule'],
  );
  const [ongoing, long, short] = seen;
  assert.equal(ongoing.kind, 'ongoing');
  assert.equal(ongoing.durationMs, 400);
  assert.equal(ongoing.culprit, 'busyLoop');
  assert.match(ongoing.message, /^Event loop still blocked after 400 ms in busyLoop \(/);
  assert.ok(long.isError && long.culprit === 'busyLoop' && long.durationMs >= 750, JSON.stringify(long));
  assert.ok(short.durationMs < 400, JSON.stringify(short));
  // The native side wrote the live line itself during the block, as without a subscriber.
  assert.match(stderr, /still blocked after \d+ ms in busyLoop/);
});

test('without a subscriber nothing is built: the report is not even read', () => {
  const dc = require('node:diagnostics_channel');
  const { publishReport } = require('../../dist/channels');
  const read = [];
  // Every property read is recorded: with no subscriber, only hasSubscribers is paid for.
  const report = new Proxy({ durationMs: 500, time: new Date().toISOString(), frames: [] }, { get: (target, key) => (read.push(key), target[key]) });
  publishReport(report, 100);
  assert.deepEqual(read, []);
  const subscriber = () => {};
  dc.subscribe('blockbuster:ongoing', subscriber);
  try {
    publishReport(report, 100);
    assert.ok(read.includes('time') && read.includes('culprit'), `read ${String(read)}`);
  } finally {
    dc.unsubscribe('blockbuster:ongoing', subscriber);
  }
});

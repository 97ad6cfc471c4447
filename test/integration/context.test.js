'use strict';
// watch({ context: als }): the report carries the AsyncLocalStorage value of the request that
// blocked, read during the block, while other requests run.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('../helpers');

const major = Number(process.versions.node.split('.')[0]);
// Node keeps AsyncLocalStorage in the async context frame from 24 on, and on 22 behind a flag.
const nodeArgs = major === 22 ? ['--experimental-async-context-frame'] : [];

test('the report names the request id and route of the request that blocked', async (t) => {
  if (major < 22) return t.skip(`Node ${process.version} keeps no async context frame: context is undefined (README)`);
  const { reports, code } = await runFixture('context.js', [20], { nodeArgs });
  assert.equal(code, 0);
  const blocked = reports.filter((r) => r.culprit && r.culprit.functionName === 'buildReport');
  assert.equal(blocked.length, 1, JSON.stringify(reports, null, 1));
  assert.deepEqual(blocked[0].context, { requestId: 'req-3', route: '/report' });
});

test('without an async context frame the report has no context rather than a wrong one', async (t) => {
  if (major >= 24) return t.skip('Node 24+ always has the async context frame');
  const { reports } = await runFixture('context.js', [20]);
  const blocked = reports.filter((r) => r.culprit && r.culprit.functionName === 'buildReport');
  assert.equal(blocked.length, 1, JSON.stringify(reports, null, 1));
  assert.equal(blocked[0].context, undefined);
});

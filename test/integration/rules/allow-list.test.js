'use strict';
// canBlockIn matching against the stack, in a real process (the loop must be running).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runRuleFixture } = require('../../helpers');

test('allow-list entries match any frame: callers, async callers, methods, deep stacks; suffixes on path segments', () => {
  const { report, status, stderr } = runRuleFixture('allow-list.js');
  assert.equal(status, 0, stderr);
  assert.deepEqual(report, {
    'direct caller': 'ran',
    'caller further down the stack': 'ran',
    'class method named load': 'ran',
    'function assigned to obj.viaAssignment': 'ran',
    'allowed frame 30 frames down': 'ran',
    'suffix must start at a path segment (list.js vs allow-list.js)': 'blocked',
    'function not listed': 'blocked',
    "'*' allows any function of another file": 'ran',
    'async caller awaiting the blocking function': 'ran',
  });
});

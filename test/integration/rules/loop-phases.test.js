'use strict';
// A call counts as blocking once the entry script's synchronous start-up is over.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runRuleFixture } = require('../../helpers');

test('start-up is silent; ticks, microtasks, timers, I/O callbacks and worker callbacks are checked', () => {
  const { report, status, stderr } = runRuleFixture('phases.js');
  assert.equal(status, 0, stderr);
  const expected = {
    'top level': 'ran',
    'module required at start-up': 'ran',
    'process.nextTick': 'blocked',
    'promise continuation': 'blocked',
    queueMicrotask: 'blocked',
    'after await': 'blocked',
    setTimeout: 'blocked',
    setImmediate: 'blocked',
    'I/O callback': 'blocked',
  };
  const { worker, 'exit listener': exitListener, ...main } = report;
  assert.deepEqual(main, expected);
  assert.deepEqual(worker, { ...expected, 'worker message': 'blocked' });
  assert.equal(exitListener, 'ran', "the loop is over in 'exit' listeners");
});

test('node:test bodies are checked, and its coverage collection is allowed', () => {
  const { status, stdout, stderr } = runRuleFixture('runner-bodies.js', { nodeArgs: ['--experimental-test-coverage', '--test-reporter=tap'], json: false });
  assert.equal(status, 0, stdout + stderr);
  assert.match(stdout, /^# pass 3$/m);
  assert.match(stdout, /^# fail 0$/m);
  assert.match(stdout, /# start of coverage report/);
  assert.doesNotMatch(stdout, /Could not report code coverage/);
});

'use strict';
// ES module named imports, scanned/excluded modules, and the skip flag, each in a real process.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runRuleFixture } = require('../../helpers');

test('ESM: named imports of builtins are caught and restored; earlier references are not caught', () => {
  const { report, status, stderr } = runRuleFixture('esm.mjs');
  assert.equal(status, 0, stderr);
  // One form for a frame's file (issue 15): a path, for ES modules as for CommonJS.
  assert.match(report.culpritFile, /^\/.*esm\.mjs$/);
  delete report.culpritFile;
  assert.deepEqual(report, {
    'binding replaced on activate': true,
    'top level of an ES module entry': 'blocked',
    'named import': 'blocked',
    'default import': 'blocked',
    'reference taken before activate': 'ran',
    'allow-list on a file: URL frame': 'ran',
    'binding restored on deactivate': true,
    'named import after deactivate': 'ran',
    'scanned by path, ES module frame': 'blocked',
    'not scanned, ES module frame': 'ran',
  });
});

test('scannedModules and excludedModules decide which calls are checked', () => {
  const { report, status, stderr } = runRuleFixture('scoped.js');
  assert.equal(status, 0, stderr);
  assert.deepEqual(report.byName, {
    'scanned package': 'blocked',
    'other package': 'ran',
    'unscanned caller': 'ran',
    'scanned package called through another': 'blocked',
    'blocking callback called by the scanned package': 'blocked',
  });
  assert.deepEqual(report.byPath, {
    'file in the directory': 'blocked',
    'file in a subdirectory': 'blocked',
    'other package': 'ran',
    'other package called from the directory': 'blocked',
  });
  assert.deepEqual(report.excluded, {
    'excluded file called from outside': 'ran',
    'excluded file called from a scanned one': 'blocked',
    'scanned file': 'blocked',
  });
  assert.match(report.unknownModule, /^Error: scannedModules: cannot find module "no-such-package-blockbuster"/);
});

test('the skip flag covers calls inside an allowed call and nothing scheduled from it', () => {
  const { report, status, stderr } = runRuleFixture('skip.js');
  assert.equal(status, 0, stderr);
  assert.deepEqual(report, {
    'the allowed call': 'ran',
    'blocking call inside the allowed call': 'ran',
    'the same function name calling fs.statSync directly': 'blocked',
    'callback scheduled inside the allowed call': 'blocked',
    'promise continuation scheduled inside the allowed call': 'blocked',
    'after the allowed call returned': 'blocked',
    'after a BlockingError': 'blocked',
    'an allowed call after a BlockingError': 'ran',
  });
});

'use strict';
// The default allowances: Node's loaders for real, every table entry by a fake script at its path.
const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { DEFAULT_ALLOWANCES } = require('../../../dist/apis/table');
const { runRuleFixture } = require('../../helpers');

let report;
before(() => {
  const run = runRuleFixture('allowances.js');
  assert.equal(run.status, 0, run.stderr);
  report = run.report;
});

test("Node's module loaders read files synchronously without a BlockingError", () => {
  assert.deepEqual(report.loader, {
    'require of a .js file in a callback': 'ran',
    'require of a .json file in a callback': 'ran',
    'require.resolve in a callback': 'ran',
    'import() of CommonJS in a callback': 'ran',
    'import() of an ES module in a callback': 'ran',
    'import() of CommonJS re-exports in a callback': 'ran',
    // The loader's allowance covers its own reads, not the module's top-level code.
    'require of a module whose top level blocks': 'blocked',
  });
});

describe('every default allowance entry', () => {
  for (const { tool, entries } of DEFAULT_ALLOWANCES) {
    for (const entry of entries) {
      for (const name of entry.functions) {
        const id = `${tool}: ${entry.file} ${name}`;
        test(id, () => {
          const r = report.results[id];
          assert.equal(r.allowed, 'ran', 'allowed at its path');
          assert.equal(r.otherFile, 'blocked', 'the same code elsewhere is checked');
          if (name !== '*') assert.equal(r.otherFunction, 'blocked', 'another function of the same file is checked');
        });
      }
    }
  }
});

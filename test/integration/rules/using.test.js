'use strict';
// `using scoped = new BlockBuster().activate()`: active in the scope, restored at its end, also on an exception.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ts = require('typescript');
const { runRuleFixture, RULE_FIXTURES } = require('../../helpers');

test('using new BlockBuster().activate() activates for the scope and deactivates at its end, also on throw', (t) => {
  const source = fs.readFileSync(path.join(RULE_FIXTURES, 'using.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  });
  assert.match(outputText, /__disposeResources/, 'TypeScript lowered `using` for Node 20');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-using-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'using.js');
  fs.writeFileSync(file, outputText);
  const { report, status, stderr } = runRuleFixture(file, {
    env: { BLOCKBUSTER_DIST: path.resolve(__dirname, '../../../dist'), BLOCKBUSTER_FIXTURES: RULE_FIXTURES },
  });
  assert.equal(status, 0, stderr);
  assert.deepEqual(report, {
    'inside the scope': 'blocked',
    'active inside the scope': true,
    'restored at scope end': true,
    'error thrown inside the scope': 'BlockingError',
    'restored after an exception': true,
    'after the scope': 'ran',
  });
});

'use strict';
// scripts/bundle-dist.js reads tsc's output with TypeScript's parser: which requires run as a module
// loads, and its code without indentation, template literals untouched.
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const ts = require('typescript');
const { staticRequests, unindented } = require('../../scripts/bundle-dist');

const parse = (text) => ts.createSourceFile('x.js', text, ts.ScriptTarget.Latest, true);

test('the top-level requires of a module are found in each form tsc writes; those inside functions are not', () => {
  const source = parse(
    [
      '"use strict";',
      'var a_1 = require("./a");',
      'const b = __importDefault(require("../b"));',
      'require("./c");',
      'const fs = require("node:fs");',
      'function later() {',
      '    return require("./d");',
      '}',
    ].join('\n'),
  );
  assert.deepEqual(staticRequests(source), ['./a', '../b', './c']);
});

test("indentation goes, except inside a template literal, and the code's values and line numbers stay", () => {
  const text = [
    'function f(x) {',
    '    const plain = `one line ${x}`;',
    '    const usage = `Usage:',
    '    --flag  ${x}',
    '      two spaces more ${`nested',
    '        inner`} tail',
    '  end`;',
    '    if (x)',
    '        return [plain, usage, new Error().stack.split("\\n")[1]];',
    '    return "\\n    not a line";',
    '}',
    'f',
  ].join('\n');
  const out = unindented(parse(text));
  assert.equal(out.split('\n').length, text.split('\n').length);
  assert.ok(out.length < text.length, 'nothing was removed');
  assert.ok(out.includes('\n    --flag'), 'the template literal lost its indentation');
  assert.ok(out.includes('\n        inner`'), 'the nested template literal lost its indentation');
  const [before, after] = [vm.runInNewContext(text), vm.runInNewContext(out)];
  assert.deepEqual([...after(1).slice(0, 2)], [...before(1).slice(0, 2)]);
  assert.equal(after(0), before(0));
  // The same line in the stack; only the column moved.
  assert.equal(after(1)[2].split(':').at(-2), before(1)[2].split(':').at(-2));
});

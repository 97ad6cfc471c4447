'use strict';
// lib/source-map.ts on hand-written maps: mapping, the cases that must leave a frame alone, code frames.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { mapFrame, codeFrame, linesOf, toPath } = require('../../dist/source-map');

// VLQ of one segment [generatedColumn, sourceIndex, originalLine, originalColumn], each value < 16.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const vlq = (n) => B64[n < 0 ? ((-n) << 1) | 1 : n << 1];
const segment = (...values) => values.map(vlq).join('');

// Generated line 1 col 0 -> source line 5 col 2; line 2 (no mapping); line 3 col 4 -> line 9 col 0.
function mapJson(source) {
  const mappings = [segment(0, 0, 4, 2), '', segment(4, 0, 4, -2)].join(';');
  return JSON.stringify({ version: 3, sources: [source], names: [], mappings });
}

function dir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-sm-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const frame = (file, line, column) => ({ functionName: 'f', file, line, column });

test('a sourceMappingURL to a file maps lines and columns to the original', (t) => {
  const d = dir(t);
  const js = path.join(d, 'out.js');
  fs.writeFileSync(js, 'a();\nb();\n    c();\n//# sourceMappingURL=out.js.map\n');
  fs.writeFileSync(path.join(d, 'out.js.map'), mapJson('../src/in.ts'));
  assert.deepEqual(mapFrame(frame(js, 1, 1)), frame(path.resolve(d, '../src/in.ts'), 5, 3));
  assert.deepEqual(mapFrame(frame(js, 3, 5)), frame(path.resolve(d, '../src/in.ts'), 9, 1));
  // file:// URLs (ES modules) are the same file.
  assert.deepEqual(mapFrame(frame(pathToFileURL(js).href, 1, 1)).line, 5);
});

test('an inline base64 map works the same', (t) => {
  const d = dir(t);
  const js = path.join(d, 'inline.js');
  const data = Buffer.from(mapJson('inline.ts')).toString('base64');
  fs.writeFileSync(js, `a();\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${data}\n`);
  assert.deepEqual(mapFrame(frame(js, 1, 1)), frame(path.join(d, 'inline.ts'), 5, 3));
});

test('frames no map applies to are returned as they are', (t) => {
  const d = dir(t);
  const plain = path.join(d, 'plain.js');
  fs.writeFileSync(plain, 'x();\n');
  const broken = path.join(d, 'broken.js');
  fs.writeFileSync(broken, 'x();\n//# sourceMappingURL=broken.js.map\n');
  fs.writeFileSync(path.join(d, 'broken.js.map'), '{ not json');
  const missing = path.join(d, 'missing-map.js');
  fs.writeFileSync(missing, 'x();\n//# sourceMappingURL=nowhere.map\n');
  for (const f of [
    frame(plain, 1, 1),
    frame(broken, 1, 1),
    frame(missing, 1, 1),
    frame(path.join(d, 'absent.js'), 1, 1),
    frame('node:fs', 10, 2),
    frame('relative.js', 1, 1),
    frame('', 0, 0),
    frame(plain, 0, 0),
  ]) {
    assert.deepEqual(mapFrame(f), f, JSON.stringify(f));
  }
});

test('codeFrame: the lines around the frame with a caret under the column', (t) => {
  const d = dir(t);
  const file = path.join(d, 'code.js');
  fs.writeFileSync(file, ['one', 'two', 'three(x)', 'four', 'five'].join('\n'));
  assert.equal(codeFrame(frame(file, 3, 6)), ['  1 | one', '  2 | two', '> 3 | three(x)', '    |      ^', '  4 | four'].join('\n'));
  // At the first line and past the end of the file it stays inside the file.
  assert.match(codeFrame(frame(file, 1, 1)), /^> 1 \| one\n {4}\| \^\n {2}2 \| two$/);
  assert.equal(codeFrame(frame(path.join(d, 'nope.js'), 1, 1)), undefined);
  assert.equal(codeFrame(frame('node:fs', 1, 1)), undefined);
});

test('linesOf caches at most 64 files and still answers for evicted ones', (t) => {
  const d = dir(t);
  const files = Array.from({ length: 70 }, (_, i) => {
    const f = path.join(d, `f${i}.js`);
    fs.writeFileSync(f, `line of ${i}\n`);
    return f;
  });
  for (const f of files) assert.equal(linesOf(frame(f, 1, 1))[0], `line of ${path.basename(f, '.js').slice(1)}`);
  assert.equal(linesOf(frame(files[0], 1, 1))[0], 'line of 0');
});

test('toPath: absolute paths and file URLs only', () => {
  assert.equal(toPath('/a/b.js'), '/a/b.js');
  assert.equal(toPath(pathToFileURL('/a/b c.js').href), '/a/b c.js');
  assert.equal(toPath('node:fs'), undefined);
  assert.equal(toPath('b.js'), undefined);
});

'use strict';
// One escaping rule for text lines on both sides: lib/human.ts visible() and the native
// VisibleText (src/line_writer.cc) show the same strings the same way.
const test = require('node:test');
const assert = require('node:assert/strict');
const { visible, visibleJson } = require('../../dist/human');
const { loadBinding } = require('../../dist/binding');

// [input, as a text line shows it]
const GOLDEN = [
  ['plain name', 'plain name'],
  ['tab\tstays', 'tab\tstays'],
  ['\nblockbuster: FAKE', '\\nblockbuster: FAKE'],
  ['carriage\rreturn', 'carriage\\rreturn'],
  ['nul\u0000byte', 'nul\\x00byte'],
  ['clear \u001b[2J screen', 'clear \\x1b[2J screen'],
  ['osc 8 \u001b]8;;http://x.example\u0007link\u001b]8;;\u0007', 'osc 8 \\x1b]8;;http://x.example\\x07link\\x1b]8;;\\x07'],
  ['del\u007f', 'del\\x7f'],
  ['c1 csi \u009b2J', 'c1 csi \\u009b2J'],
  ['line\u2028separator', 'line\\u2028separator'],
  ['bidi \u202egnp.exe', 'bidi \\u202egnp.exe'],
  ['isolate \u2066x\u2069', 'isolate \\u2066x\\u2069'],
  ['café 日本 😀', 'café 日本 😀'],
  ['back\\slash', 'back\\slash'],
];

test('visible() (JS) escapes control characters by the golden table', () => {
  for (const [input, shown] of GOLDEN) assert.equal(visible(input), shown, JSON.stringify(input));
});

test('the native VisibleText escapes the same strings the same way', () => {
  const binding = loadBinding();
  for (const [input, shown] of GOLDEN) assert.equal(binding.visibleText(input), shown, JSON.stringify(input));
});

test('lone surrogates are escaped in text (JS); a pair is a character', () => {
  assert.equal(visible('a\ud800b'), 'a\\ud800b');
  assert.equal(visible('a\udc00'), 'a\\udc00');
  assert.equal(visible('\ud83d\ude00'), '\ud83d\ude00');
});

test('visibleJson escapes what JSON.stringify leaves raw, and the line parses to the same value', () => {
  const value = { name: 'c1 \u009b del \u007f bidi \u202e sep \u2028 esc \u001b' };
  const line = visibleJson(JSON.stringify(value));
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
  assert.deepEqual(JSON.parse(line), value);
});

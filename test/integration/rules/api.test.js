'use strict';
// The API in-process: bad input, functions lookup, canBlockIn, idempotence, identity, transactions.
// Rules are only active inside synchronous sections here, so the runner itself is never checked.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { BlockBuster } = require('../../../dist');
// Internal: the table and its default allowances are not exported (docs/rules.md lists them).
const { defaultRules, DEFAULT_ALLOWANCES } = require('../../../dist/apis/table');

const originals = () => defaultRules().map((spec) => [spec.name, spec.owner[spec.key]]);
const assertAllOriginal = (before) => {
  for (const [name, fn] of originals()) assert.equal(fn, before.get(name), `${name} is the original function`);
};

test('bad options are TypeErrors naming the option', () => {
  assert.throws(() => new BlockBuster({ scannedModules: 5 }), { name: 'TypeError', message: /scannedModules.*5 \(number\)/ });
  assert.throws(() => new BlockBuster({ excludedModules: [1] }), { name: 'TypeError', message: /excludedModules/ });
  assert.throws(() => new BlockBuster({ scannedModules: [''] }), { name: 'TypeError', message: /scannedModules/ });
  assert.throws(() => new BlockBuster('fs'), { name: 'TypeError', message: /options must be an object/ });
  assert.throws(() => new BlockBuster({ scanedModules: 'x' }), { name: 'TypeError', message: /unknown option "scanedModules"/ });
});

test('report-mode and warnUnused options: wrong types are TypeErrors, bad ranges RangeErrors, naming the option and what was expected', () => {
  const cases = [
    [{ mode: 'throw' }, TypeError, /BlockBuster: option mode must be 'raise' or 'report', got the string "throw"/],
    [{ mode: 'report', output: -1 }, TypeError, /BlockBuster: option output must be 'stderr', a file descriptor, a file path, a writable stream \(\{ write \}\) or a logger \(\{ warn, info \}\), got number -1/],
    [{ mode: 'report', output: '' }, TypeError, /BlockBuster: option output must be/],
    [{ mode: 'report', format: 'xml' }, TypeError, /BlockBuster: option format must be 'text' or 'json', got the string "xml"/],
    [{ mode: 'report', onBlock: 'log' }, TypeError, /BlockBuster: option onBlock must be a function, got the string "log"/],
    [{ mode: 'report', maxReportsPerMinute: '10' }, TypeError, /BlockBuster: option maxReportsPerMinute must be a number of reports, got the string "10"/],
    [{ mode: 'report', maxReportsPerMinute: 0 }, RangeError, /BlockBuster: option maxReportsPerMinute must be a finite number > 0, got 0/],
    [{ mode: 'report', maxReportsPerMinute: Infinity }, RangeError, /maxReportsPerMinute must be a finite number > 0, got Infinity/],
    [{ warnUnused: 'yes' }, TypeError, /BlockBuster: option warnUnused must be true or false, got the string "yes"/],
    [{ onBlock: () => {} }, TypeError, /BlockBuster: option onBlock only applies to mode: 'report'/],
    [{ maxReportsPerMinute: 5 }, TypeError, /BlockBuster: option maxReportsPerMinute only applies to mode: 'report'/],
    [{ output: 'blocks.log' }, TypeError, /BlockBuster: option output only applies to mode: 'report' or warnUnused: true/],
    [{ format: 'json' }, TypeError, /BlockBuster: option format only applies to mode: 'report' or warnUnused: true/],
    [{ mode: 'report', verbose: true }, TypeError, /unknown option "verbose"; expected one of scannedModules, excludedModules, mode, output/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => new BlockBuster(options),
      (error) => {
        assert.ok(error instanceof type && message.test(error.message), error.message);
        // The code says what is wrong; the source names the option (not the mode it depends on).
        assert.equal(error.code, type === RangeError ? 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE' : options.verbose ? 'ERR_BLOCKBUSTER_UNKNOWN_OPTION' : 'ERR_BLOCKBUSTER_INVALID_OPTION');
        const named = Object.keys(options).filter((key) => key !== 'mode' || Object.keys(options).length === 1);
        assert.deepEqual(error.source, { kind: 'option', name: named[0] });
        return true;
      },
      JSON.stringify(options),
    );
  }
  assert.equal(new BlockBuster().mode, 'raise');
  assert.equal(new BlockBuster({ mode: 'report', output: 2, format: 'json', maxReportsPerMinute: 1, onBlock() {} }).mode, 'report');
  assert.equal(new BlockBuster({ warnUnused: true, output: 'stderr', format: 'text' }).mode, 'raise');
});

test('an output file that cannot be opened fails activate(), naming the option; nothing is wrapped', () => {
  const before = new Map(originals());
  for (const options of [{ mode: 'report' }, { warnUnused: true }]) {
    const bb = new BlockBuster({ ...options, output: '/nonexistent-dir/blocks.log' });
    assert.throws(() => bb.activate(), (error) => {
      assert.match(String(error), /^Error: BlockBuster: option output: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/);
      assert.equal(error.code, 'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE');
      return true;
    });
    assert.ok(Object.values(bb.functions).every((rule) => !rule.activated));
    assertAllOriginal(before);
  }
});

test('unusedAllowances(): only canBlockIn entries, with the names that never let a call through', () => {
  const bb = new BlockBuster();
  assert.deepEqual(bb.unusedAllowances(), [], 'the default allowances are never listed');
  bb.functions['fs.readFileSync'].canBlockIn('src/config.ts', ['loadConfig', 'reload']);
  bb.functions['fs.statSync'].canBlockIn('node_modules/tool/', '*');
  assert.deepEqual(bb.unusedAllowances(), [
    { rule: 'fs.readFileSync', file: 'src/config.ts', functions: ['loadConfig', 'reload'] },
    { rule: 'fs.statSync', file: 'node_modules/tool/', functions: ['*'] },
  ]);
});

test('functions[...] with an unknown name is a TypeError naming it', () => {
  const bb = new BlockBuster();
  assert.throws(() => bb.functions['fs.readFileSynk'], { name: 'TypeError', message: /functions\["fs\.readFileSynk"\]/ });
  assert.equal('fs.readFileSynk' in bb.functions, false);
  assert.equal(bb.functions.then, undefined, 'still safe to await or JSON.stringify');
  assert.equal(bb.functions['fs.readFileSync'].fullName, 'fs.readFileSync');
  assert.equal(Object.keys(bb.functions).length, defaultRules().length);
  assert.throws(() => {
    bb.functions['fs.readFileSync'] = null;
  }, TypeError);
});

test('canBlockIn: chainable, a string is one name, bad arguments are TypeErrors naming them', () => {
  const rule = new BlockBuster().functions['fs.readFileSync'];
  const defaults = rule.canBlockFunctions.length;
  assert.equal(defaults, DEFAULT_ALLOWANCES.flatMap((a) => a.entries).length);
  assert.equal(rule.canBlockIn('src/config.ts', 'loadConfig').canBlockIn('src/b.ts', ['a', 'b']).canBlockIn('c.js', new Set(['c'])), rule);
  assert.deepEqual(rule.canBlockFunctions.slice(defaults).map((e) => ({ ...e, functions: [...e.functions] })), [
    { file: 'src/config.ts', functions: ['loadConfig'] },
    { file: 'src/b.ts', functions: ['a', 'b'] },
    { file: 'c.js', functions: ['c'] },
  ]);
  assert.throws(() => rule.canBlockIn(42), { name: 'TypeError', message: /canBlockIn: file .*42 \(number\)/ });
  assert.throws(() => rule.canBlockIn(''), { name: 'TypeError', message: /canBlockIn: file/ });
  assert.throws(() => rule.canBlockIn('a.js', 42), { name: 'TypeError', message: /canBlockIn: functions .*42 \(number\)/ });
  assert.throws(() => rule.canBlockIn('a.js', []), { name: 'TypeError', message: /canBlockIn: functions/ });
  assert.throws(() => rule.canBlockIn('a.js', [1]), { name: 'TypeError', message: /canBlockIn: functions/ });
});

test('activate twice and deactivate when inactive are harmless; deactivate restores identity', () => {
  const before = new Map(originals());
  const bb = new BlockBuster();
  bb.deactivate();
  assertAllOriginal(before);
  try {
    assert.equal(bb.activate(), bb);
    const wrapped = fs.readFileSync;
    assert.notEqual(wrapped, before.get('fs.readFileSync'));
    bb.activate();
    assert.equal(fs.readFileSync, wrapped, 'a second activate does not wrap again');
    assert.ok(Object.values(bb.functions).every((rule) => rule.activated));
    assert.equal(fs.readFileSync.name, 'readFileSync');
    assert.equal(typeof fs.realpathSync.native, 'function', 'properties of a wrapped function stay reachable');
  } finally {
    assert.equal(bb.deactivate(), bb);
  }
  assertAllOriginal(before);
  assert.ok(Object.values(bb.functions).every((rule) => !rule.activated));
  bb.deactivate();
  assertAllOriginal(before);
});

test('a single rule activates and deactivates on its own', () => {
  const before = fs.statSync;
  const rule = new BlockBuster().functions['fs.statSync'];
  try {
    assert.equal(rule.activate(), rule);
    assert.notEqual(fs.statSync, before);
    assert.equal(fs.readFileSync.name, 'readFileSync');
  } finally {
    rule.deactivate();
  }
  assert.equal(fs.statSync, before);
  assert.equal(rule.activated, false);
});

test('activation is transactional: one function that cannot be wrapped undoes the others', (t) => {
  const before = new Map(originals());
  const descriptor = Object.getOwnPropertyDescriptor(crypto, 'checkPrimeSync');
  // A setter that refuses: assignment fails, and the property is not a read-only one to redefine.
  Object.defineProperty(crypto, 'checkPrimeSync', {
    configurable: true,
    enumerable: true,
    get: () => descriptor.value,
    set() {
      throw new TypeError('checkPrimeSync cannot be replaced in this test');
    },
  });
  t.after(() => Object.defineProperty(crypto, 'checkPrimeSync', descriptor));
  const bb = new BlockBuster();
  assert.throws(() => bb.activate(), TypeError);
  assert.ok(Object.values(bb.functions).every((rule) => !rule.activated));
  assertAllOriginal(before);
  assert.equal(zlib.gzipSync, before.get('zlib.gzipSync'));
});

test('two instances share one wrapper per function: the originals come back when both are off, in either order', () => {
  const before = new Map(originals());
  for (const order of [['inner', 'outer'], ['outer', 'inner']]) {
    const instances = { outer: new BlockBuster().activate() };
    const wrapper = fs.readFileSync;
    instances.inner = new BlockBuster().activate();
    assert.equal(fs.readFileSync, wrapper, 'one wrapper for both instances (lib/wrap.ts)');
    instances[order[0]].deactivate();
    assert.equal(fs.readFileSync, wrapper, 'still wrapped while one instance is active');
    assert.ok(instances[order[1]].functions['fs.readFileSync'].activated);
    instances[order[1]].deactivate();
    assertAllOriginal(before);
  }
});

test('activate() returns the instance, which [Symbol.dispose] deactivates (the `using` form)', () => {
  const before = new Map(originals());
  const scoped = new BlockBuster().activate();
  try {
    assert.ok(scoped.functions['fs.readFileSync'].activated);
  } finally {
    scoped[Symbol.dispose]();
  }
  assertAllOriginal(before);
});

test('a test body runs inside the loop: a wrapped call there throws', () => {
  const bb = new BlockBuster().activate();
  let error;
  try {
    fs.statSync(__filename);
  } catch (e) {
    error = e;
  } finally {
    bb.deactivate();
  }
  assert.equal(error?.name, 'BlockingError');
});

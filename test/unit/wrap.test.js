'use strict';
// The one wrapping layer (lib/wrap.ts): a wrapper never changes the call it wraps, both hooks share
// one wrapper, whole descriptors come back, and targets that cannot be wrapped are skipped, not forced.
const test = require('node:test');
const assert = require('node:assert/strict');
const { attachCheck, attachTrack, detachCheck, detachTrack, skippedApiNames } = require('../../dist/wrap');

const noTrack = { enter() {}, exit() {} };

test('a wrapper keeps this, arguments, the return value, the thrown error, name and length', (t) => {
  const thrown = new Error('own');
  const owner = {
    add(a, b) {
      if (a === 'throw') throw thrown;
      return { self: this, args: [...arguments], sum: a + b };
    },
  };
  const original = owner.add;
  const api = attachTrack(owner, 'add', 'owner.add', noTrack);
  t.after(() => detachTrack(api, noTrack));
  assert.notEqual(owner.add, original);
  assert.equal(owner.add.name, 'add');
  assert.equal(owner.add.length, 2);
  const receiver = { add: owner.add };
  const result = receiver.add(1, 2, 3);
  assert.equal(result.self, receiver);
  assert.deepEqual(result.args, [1, 2, 3]);
  assert.equal(result.sum, 3);
  assert.throws(
    () => owner.add('throw'),
    (error) => error === thrown,
  );
});

test('constructors: new semantics, instanceof, subclasses, statics and a call without new', (t) => {
  class Counter {
    static created = 0;
    constructor(start) {
      this.value = start;
      Counter.created++;
    }
    next() {
      return ++this.value;
    }
  }
  const owner = { Counter };
  const api = attachTrack(owner, 'Counter', 'owner.Counter', noTrack);
  const method = attachTrack(Counter.prototype, 'next', 'Counter.next', noTrack);
  t.after(() => {
    detachTrack(api, noTrack);
    detachTrack(method, noTrack);
  });
  const Wrapped = owner.Counter;
  assert.notEqual(Wrapped, Counter);
  const made = new Wrapped(5);
  assert.ok(made instanceof Wrapped && made instanceof Counter);
  assert.equal(Object.getPrototypeOf(made), Counter.prototype);
  assert.equal(made.next(), 6);
  assert.equal(Wrapped.name, 'Counter');
  assert.equal(Wrapped.length, 1);
  assert.equal(Wrapped.created, 1, 'statics read through the wrapper');
  class Sub extends Wrapped {}
  const sub = new Sub(1);
  assert.ok(sub instanceof Sub && sub instanceof Counter);
  assert.throws(() => Wrapped(1), TypeError, 'a class called without new still throws its TypeError');
});

test('one wrapper for both hooks; it goes away when the last hook detaches, restoring the descriptor', () => {
  const calls = [];
  const owner = {};
  const fn = () => 'result';
  // Read-only but configurable (as Node 26 exports some functions).
  Object.defineProperty(owner, 'fn', { value: fn, writable: false, enumerable: false, configurable: true });
  const saved = Object.getOwnPropertyDescriptor(owner, 'fn');
  const track = { enter: () => calls.push('track enter'), exit: () => calls.push('track exit') };
  const check = { enter: () => (calls.push('check enter'), true), exit: () => calls.push('check exit') };
  const tracked = attachTrack(owner, 'fn', 'owner.fn', track);
  const wrapper = owner.fn;
  const checked = attachCheck(owner, 'fn', 'owner.fn', check);
  assert.equal(owner.fn, wrapper, 'the second detector reuses the wrapper');
  assert.equal(tracked, checked);
  assert.equal(owner.fn(), 'result');
  assert.deepEqual(calls, ['check enter', 'track enter', 'track exit', 'check exit']);
  detachTrack(tracked, track);
  assert.equal(owner.fn, wrapper, 'still wrapped for the rule check');
  detachCheck(checked, check);
  assert.deepEqual(Object.getOwnPropertyDescriptor(owner, 'fn'), saved);
});

test('an accessor comes back whole, through its own setter first', () => {
  let stored = function lazy() {
    return 'lazy';
  };
  const owner = {};
  const descriptor = { get: () => stored, set: (value) => (stored = value), enumerable: true, configurable: true };
  Object.defineProperty(owner, 'lazy', descriptor);
  const original = stored;
  const api = attachTrack(owner, 'lazy', 'owner.lazy', noTrack);
  assert.notEqual(owner.lazy, original);
  assert.equal(owner.lazy(), 'lazy');
  detachTrack(api, noTrack);
  assert.equal(owner.lazy, original);
  assert.equal(Object.getOwnPropertyDescriptor(owner, 'lazy').get, descriptor.get);
});

test('someone who wraps over ours keeps theirs; ours then passes calls through', () => {
  const owner = { fn: () => 'original' };
  const api = attachTrack(owner, 'fn', 'owner.fn', noTrack);
  const ours = owner.fn;
  const theirs = (...args) => `theirs(${ours(...args)})`;
  owner.fn = theirs;
  detachTrack(api, noTrack);
  assert.equal(owner.fn, theirs);
  assert.equal(owner.fn(), 'theirs(original)');
});

test('frozen and non-configurable targets are skipped and named, never forced', async () => {
  const frozen = Object.freeze({ fn: () => 1 });
  const fixed = {};
  Object.defineProperty(fixed, 'fn', { value: () => 2, writable: false, configurable: false });
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    assert.equal(attachTrack(frozen, 'fn', 'frozen.fn', noTrack), undefined);
    assert.equal(attachCheck(fixed, 'fn', 'fixed.fn', { enter: () => false, exit() {} }), undefined);
    assert.equal(frozen.fn(), 1);
    assert.equal(fixed.fn(), 2);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(skippedApiNames(), ['frozen.fn', 'fixed.fn']);
  assert.equal(warnings.length, 1, 'said once');
  assert.equal(warnings[0].code, 'BLOCKBUSTER_UNWRAPPABLE');
  assert.match(warnings[0].message, /frozen\.fn, fixed\.fn/);
});

test('a tracking hook that throws never reaches the caller', (t) => {
  const owner = { fn: () => 'ok' };
  const broken = {
    enter() {},
    exit() {
      throw new Error('recorder bug');
    },
  };
  const api = attachTrack(owner, 'fn', 'owner.fn', broken);
  t.after(() => detachTrack(api, broken));
  assert.equal(owner.fn(), 'ok');
});

test("JSON.parse and JSON.stringify get wrappers of their own that behave as V8's; a check still sees the arguments", (t) => {
  const { parse, stringify } = JSON;
  const calls = [];
  const track = { enter: (api) => calls.push(`enter ${api.name}`), exit: (api) => calls.push(`exit ${api.name}`) };
  const apis = [
    attachTrack(JSON, 'parse', 'JSON.parse', track),
    attachTrack(JSON, 'stringify', 'JSON.stringify', track),
  ];
  t.after(() => apis.forEach((api) => detachTrack(api, track)));
  assert.notEqual(JSON.parse, parse);
  assert.deepEqual(
    [JSON.parse.name, JSON.parse.length, JSON.stringify.name, JSON.stringify.length],
    ['parse', 2, 'stringify', 3],
  );
  assert.equal(Object.hasOwn(JSON.parse, 'prototype'), false);
  assert.throws(() => new JSON.parse('1'), TypeError);
  assert.deepEqual(
    JSON.parse('{"a":[1,2]}', (k, v) => (Array.isArray(v) ? v.length : v)),
    { a: 2 },
  );
  assert.equal(JSON.stringify({ a: 1, b: 2 }, ['b'], 1, 'extra'), '{\n "b": 2\n}');
  assert.equal(JSON.stringify(undefined), undefined);
  assert.throws(() => JSON.parse('{'), SyntaxError);
  assert.deepEqual(calls, [
    'enter JSON.parse',
    'exit JSON.parse',
    'enter JSON.stringify',
    'exit JSON.stringify',
    'enter JSON.stringify',
    'exit JSON.stringify',
    'enter JSON.parse',
    'exit JSON.parse',
  ]);
  // A rule set's check on JSON.parse: calls go through the generic path and it sees their arguments.
  const seen = [];
  const check = { enter: (api, self, args) => (seen.push([api.name, [...args]]), false), exit() {} };
  const checked = attachCheck(JSON, 'parse', 'JSON.parse', check);
  t.after(() => detachCheck(checked, check));
  assert.equal(JSON.parse('[3]')[0], 3);
  assert.deepEqual(seen, [['JSON.parse', ['[3]', undefined]]]);
});

test("a JSON.parse that is not V8's (a polyfill) keeps the generic wrapper: this and arguments pass through", (t) => {
  const own = function parse() {
    return { self: this, count: arguments.length };
  };
  const saved = Object.getOwnPropertyDescriptor(JSON, 'parse');
  Object.defineProperty(JSON, 'parse', { ...saved, value: own });
  const api = attachTrack(JSON, 'parse', 'JSON.parse', noTrack);
  t.after(() => {
    detachTrack(api, noTrack);
    Object.defineProperty(JSON, 'parse', saved);
  });
  assert.notEqual(JSON.parse, own);
  const result = JSON.parse('1', null, 'x');
  assert.equal(result.self, JSON);
  assert.equal(result.count, 3);
});

test("an app's Function.prototype.toString that throws never reaches the wrapping of JSON", (t) => {
  const saved = Function.prototype.toString;
  Function.prototype.toString = function () {
    throw new Error('anti-tamper');
  };
  t.after(() => {
    Function.prototype.toString = saved;
  });
  let api;
  assert.doesNotThrow(() => {
    api = attachTrack(JSON, 'stringify', 'JSON.stringify', noTrack);
  });
  Function.prototype.toString = saved;
  t.after(() => detachTrack(api, noTrack));
  assert.notEqual(api, undefined);
  assert.equal(JSON.stringify({ a: 1 }), '{"a":1}');
  assert.equal(Object.hasOwn(JSON.stringify, 'prototype'), false, "V8's JSON.stringify gets its own wrapper still");
});

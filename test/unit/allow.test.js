'use strict';
// The allow-list of the rule set (lib/apis/allow.ts): file and function matching, use marking.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { AllowList, ModuleScope } = require('../../dist/apis/allow');

test('a file pattern matches a script name on a path-segment boundary', () => {
  const list = new AllowList();
  list.add({ file: 'src/config.ts', functions: ['loadConfig'] });
  assert.equal(list.matches('/app/src/config.ts', 'loadConfig'), true);
  assert.equal(list.matches('src/config.ts', 'loadConfig'), true);
  assert.equal(list.matches('/app/src/myconfig.ts', 'loadConfig'), false);
  assert.equal(list.matches('/app/lib/src/config.tsx', 'loadConfig'), false);
  assert.equal(list.matches('/app/src/config.ts', 'loadConfigs'), false);
});

test('a pattern ending in / is a directory anywhere in the path', () => {
  const list = new AllowList();
  list.add({ file: 'node_modules/tsx/', functions: ['*'] });
  assert.equal(list.matches('/app/node_modules/tsx/dist/loader.js', 'anything'), true);
  assert.equal(list.matches('node_modules/tsx/x.js', ''), true);
  assert.equal(list.matches('/app/node_modules/tsx-extra/x.js', 'anything'), false);
  assert.equal(list.matches('/app/my_node_modules/tsx/x.js', 'anything'), false);
});

test('* allows any function of the file, including anonymous ones; a name needs a name', () => {
  const list = new AllowList();
  list.add({ file: 'a.js', functions: ['*'] });
  list.add({ file: 'b.js', functions: ['named'] });
  assert.equal(list.matches('/x/a.js', ''), true);
  assert.equal(list.matches('/x/b.js', ''), false);
  assert.equal(list.matches('/x/b.js', 'named'), true);
});

test('obj.method frames match an allowance naming the method', () => {
  const list = new AllowList();
  list.add({ file: 'c.js', functions: ['load'] });
  assert.equal(list.matches('/x/c.js', 'Config.load'), true);
  assert.equal(list.matches('/x/c.js', 'a.b.load'), true);
  assert.equal(list.matches('/x/c.js', 'load.other'), false);
});

test('node: script names are matched as they are', () => {
  const list = new AllowList();
  list.add({ file: 'node:internal/modules/cjs/loader', functions: ['loadSource'] });
  assert.equal(list.matches('node:internal/modules/cjs/loader', 'loadSource'), true);
  assert.equal(list.matches('node:internal/modules/esm/loader', 'loadSource'), false);
});

test('an empty script name never matches, even for *', () => {
  const list = new AllowList();
  list.add({ file: 'a.js', functions: ['*'] });
  assert.equal(list.matches('', 'anything'), false);
});

test('a base list is consulted after the own entries; only own entries are reported unused', () => {
  const base = new AllowList();
  base.add({ file: 'loader.js', functions: ['load'] });
  const list = new AllowList(base);
  list.add({ file: 'mine.js', functions: ['used', 'unused'] });
  assert.equal(list.matches('/x/loader.js', 'load'), true);
  assert.equal(list.matches('/x/mine.js', 'used'), true);
  assert.deepEqual(list.unused(), [{ file: 'mine.js', functions: ['unused'] }]);
  assert.deepEqual(list.entries.map((e) => e.file), ['loader.js', 'mine.js']);
});

test('entries are copied and frozen: the caller\'s array can change without effect', () => {
  const list = new AllowList();
  const functions = ['a'];
  list.add({ file: 'f.js', functions });
  functions.push('b');
  assert.equal(list.matches('/x/f.js', 'b'), false);
  assert.ok(Object.isFrozen(list.entries[0]) && Object.isFrozen(list.entries[0].functions));
});

test('an any-function verdict cached per script is recomputed after a new * entry', () => {
  const list = new AllowList();
  list.add({ file: 'a.js', functions: ['*'] });
  assert.equal(list.matches('/x/b.js', 'f'), false);
  list.add({ file: 'b.js', functions: ['*'] });
  assert.equal(list.matches('/x/b.js', 'f'), true);
});

test('ModuleScope: a path is that directory or file, on a segment boundary; excluded wins', () => {
  const root = path.resolve('/tmp/scope-app');
  const scope = new ModuleScope([path.join(root, 'src')], [path.join(root, 'src', 'vendor')]);
  assert.equal(scope.scansEverything, false);
  assert.equal(scope.contains(path.join(root, 'src', 'a.js')), true);
  assert.equal(scope.contains(`file://${path.join(root, 'src', 'a.mjs')}`), true);
  assert.equal(scope.contains(path.join(root, 'srcs', 'a.js')), false);
  assert.equal(scope.contains(path.join(root, 'src', 'vendor', 'v.js')), false);
  assert.equal(new ModuleScope([], []).scansEverything, true);
});

test('ModuleScope: a builtin name is its node: prefix; an unknown package names the option', () => {
  const scope = new ModuleScope(['fs'], []);
  assert.equal(scope.contains('node:fs'), true);
  assert.equal(scope.contains('node:fsx'), false);
  assert.throws(() => new ModuleScope(['no-such-package-xyz'], []), /scannedModules: cannot find module "no-such-package-xyz"/);
  assert.throws(() => new ModuleScope([], ['no-such-package-xyz']), /excludedModules: cannot find module "no-such-package-xyz"/);
});

'use strict';
// The JS<->native contract: every value lib/ and src/ share is defined once, in src/contract.h; the
// addon exports it frozen, lib/ reads it from there, and a binary whose contract does not fit this
// copy's JavaScript is refused at load with a message that says why.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const { loadBinding } = require('../../dist/binding');

function deepFrozen(value) {
  return typeof value !== 'object' || value === null || (Object.isFrozen(value) && Object.values(value).every(deepFrozen));
}

test('the addon exports the contract frozen, and its values hold together', () => {
  const { constants } = loadBinding();
  assert.ok(deepFrozen(constants), 'constants and everything in it are frozen');
  const slots = Object.values(constants.flagSlots);
  assert.deepEqual(Object.keys(constants.flagSlots).sort(), ['api', 'depth', 'inAtomicsWait', 'pending', 'trackedKey']);
  assert.equal(new Set(slots).size, slots.length, 'no two slots share a word');
  assert.ok(slots.every((slot) => Number.isInteger(slot) && slot >= 0 && slot * 4 < constants.flagsBytes));
  assert.ok(constants.maxSampleKey >= 1 && constants.maxSampleKey <= 2 ** 31 - 1, 'keys fit an Int32 slot');
  assert.ok(constants.vmStates.includes('atomics-wait') && constants.vmStates.includes('gc'));
  assert.equal(new Set(constants.vmStates).size, constants.vmStates.length);
});

// In a child: lib/ has no copy of the values, so what it builds must follow the binding's.
test("lib/ builds the shared memory and the context holder from the binding's constants", () => {
  const script = `
    const { AsyncLocalStorage } = require('node:async_hooks');
    const { watch } = require(${JSON.stringify(ROOT)});
    const { loadBinding } = require(${JSON.stringify(path.join(ROOT, 'dist', 'binding'))});
    const { CallSiteRecorder } = require(${JSON.stringify(path.join(ROOT, 'dist', 'call-sites'))});
    const als = new AsyncLocalStorage();
    const watcher = watch({ thresholdMs: 50, context: als, onBlock() {} });
    const { constants } = loadBinding();
    const holder = globalThis[Symbol.for(constants.contextHolder.symbol)];
    console.log(JSON.stringify({
      flagsBytes: CallSiteRecorder.FLAGS_BYTES === constants.flagsBytes,
      holderKeys: Object.keys(holder).sort(),
      expected: [constants.contextHolder.storage, constants.contextHolder.slots].sort(),
      storage: holder[constants.contextHolder.storage] === als,
    }));
    watcher.stop();
    console.log(JSON.stringify({ holderGone: globalThis[Symbol.for(constants.contextHolder.symbol)] === undefined }));`;
  const [seen, after] = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(seen.flagsBytes, true);
  assert.deepEqual(seen.holderKeys, seen.expected);
  assert.equal(seen.storage, true);
  assert.equal(after.holderGone, true);
});

// A copy of the real binary, loaded through a hook that changes what it exports: a binary built from
// other sources, as a stale build/ next to newer JavaScript would be.
function loadAltered(t, alter) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-contract-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  // The binary this Node loads (build/ or a line's prebuild), at the same place under the copy.
  loadBinding();
  const binary = path.relative(ROOT, Object.keys(require.cache).find((file) => file.startsWith(ROOT) && file.endsWith('.node')));
  fs.mkdirSync(path.dirname(path.join(root, binary)), { recursive: true });
  fs.copyFileSync(path.join(ROOT, binary), path.join(root, binary));
  const script = `
    const Module = require('node:module');
    const load = Module._extensions['.node'];
    Module._extensions['.node'] = (module, filename) => {
      load(module, filename);
      if (filename.startsWith(${JSON.stringify(root)})) module.exports = (${alter})(module.exports);
    };
    const { findBinding } = require(${JSON.stringify(path.join(ROOT, 'dist', 'binding'))});
    const target = { platform: process.platform, arch: process.arch, libc: 'glibc', abi: Number(process.versions.modules), nodeVersion: process.version };
    try {
      const binding = findBinding(target, ${JSON.stringify(root)});
      console.log(JSON.stringify({ loaded: typeof binding.start === 'function' }));
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message, reason: error.reason }));
    }`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

test('a binary whose contract fits loads (the control for the two below)', (t) => {
  assert.deepEqual(loadAltered(t, '(exports) => exports'), { loaded: true });
});

test('a binary with a VM state this JavaScript does not know is refused at load, saying so', (t) => {
  const result = loadAltered(
    t,
    '(exports) => ({ ...exports, constants: { ...exports.constants, vmStates: [...exports.constants.vmStates, "parking"] } })',
  );
  assert.equal(result.code, 'ERR_BLOCKBUSTER_NO_WATCHDOG');
  assert.match(result.reason, /built from other sources than this copy's JavaScript \(its VM states .*"parking".* are not the ones/);
  assert.match(result.message, /\.node: built from other sources than this copy's JavaScript: its VM states/);
});

test('a binary with overlapping shared-flag slots, or with no contract at all, is refused at load', (t) => {
  const overlap = loadAltered(
    t,
    '(exports) => ({ ...exports, constants: { ...exports.constants, flagSlots: { ...exports.constants.flagSlots, api: exports.constants.flagSlots.depth } } })',
  );
  assert.match(overlap.reason, /its shared-flag slots .* overlap/);
  // A binary from older sources that still reads an option this copy no longer passes.
  const stale = loadAltered(t, "(exports) => ({ ...exports, constants: { ...exports.constants, startOptions: [...exports.constants.startOptions, 'hostname'] } })");
  assert.match(stale.reason, /its start\(\) options .*"hostname".* are not the ones this copy's JavaScript passes/);
  const none = loadAltered(t, '(exports) => ({ ...exports, constants: undefined })');
  assert.match(none.reason, /it exports no JS\/native contract/);
});

// start() reads its options from one table (src/addon.cc): each kind keeps its error text, and a
// number outside what its destination holds is refused before it is converted.
test("start() names the option and what it expects, by kind and by bounds", () => {
  const binding = loadBinding();
  const valid = {
    thresholdMs: 20, liveReportAfterMs: 0, abortAfterMs: 0, outputFd: 2, maxFrames: 16, maxQueued: 1, maxReportsPerMinute: 10,
    json: true, internalFilePrefixes: [], internalFileParts: [], sampleIntervalMs: 20, maxSamples: 5, atomicsWaitIsIdle: false,
    threadTag: '', threadId: 0, pid: process.pid, schemaVersion: 1, sharedFlags: new ArrayBuffer(binding.constants.flagsBytes),
  };
  const cases = [
    [{ thresholdMs: '20' }, 'start(): option thresholdMs must be a number'],
    [{ json: 1 }, 'start(): option json must be a boolean'],
    [{ threadTag: 7 }, 'start(): option threadTag must be a string'],
    [{ internalFileParts: ['a', 3] }, 'start(): option internalFileParts must be an array of strings'],
    [{ thresholdMs: 0 }, 'start(): option thresholdMs must be a number from 1 to 10000000000000'],
    [{ abortAfterMs: Number.NaN }, 'start(): option abortAfterMs must be a number from 0 to 10000000000000'],
    [{ outputFd: -1 }, 'start(): option outputFd must be a number from 0 to 2147483647'],
    [{ sharedFlags: new ArrayBuffer(binding.constants.flagsBytes - 4) }, `start(): option sharedFlags must be an ArrayBuffer of ${binding.constants.flagsBytes} bytes`],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => binding.start({ ...valid, ...change }, () => {}), { name: 'TypeError', message }, JSON.stringify(change));
  }
  assert.equal(binding.isWatching(), false);
});

'use strict';
// The loader picks a binary by platform, arch and libc, and its error names the platform and what to
// do there. The target is injected, so the Windows, musl and macOS answers are checked on this machine.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { findBinding, NO_WATCHDOG } = require('../../dist/binding.js');

/** A package root holding `files` (relative path: contents). */
function packageRoot(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-platforms-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [relative, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    fs.writeFileSync(path.join(dir, relative), contents);
  }
  return dir;
}

function refusal(target, root) {
  try {
    findBinding({ nodeVersion: 'v24.0.0', abi: 137, ...target }, root);
  } catch (error) {
    return error;
  }
  assert.fail('findBinding returned a binding');
}

// Not an ELF: if the loader picks it, the attempt is recorded with the loader's error, not "not found".
const NOT_A_BINARY = 'not a shared object';

test('win32-x64: names the platform and ABI, says where the watchdog runs, suggests no build', (t) => {
  const root = packageRoot(t, { 'prebuilds/linux-x64/blockbuster.abi137.glibc.node': NOT_A_BINARY });
  const error = refusal({ platform: 'win32', arch: 'x64', libc: undefined }, root);
  assert.equal(error.code, NO_WATCHDOG);
  assert.equal(error.code, 'ERR_BLOCKBUSTER_NO_WATCHDOG');
  assert.equal(error.platform, 'win32-x64');
  assert.match(error.message, /^blockbuster: watch\(\) cannot load its native addon in Node v24\.0\.0 \(ABI 137\) on win32-x64\.$/m);
  assert.match(error.message, /native code for Linux and macOS .*no binary ships for win32-x64, and none is compiled there/);
  assert.match(error.message, /prebuilds[\\/]win32-x64[\\/]blockbuster\.abi137\.glibc\.node: not found/);
  assert.match(error.message, /Prebuilt binaries in this package: linux-x64 ABI 137 glibc\./);
  assert.match(error.message, /Still works: require\('blockbuster'\) and the rule set/);
  assert.match(error.message, /Fix: run the watchdog on Linux .* or macOS, for example in WSL or a Linux container/);
  assert.doesNotMatch(error.message, /npm rebuild/, 'no build is suggested where none can work');
  assert.equal(error.reason, 'the watchdog is built for Linux and macOS only');
});

test('linux-arm64 musl: a glibc prebuild is not picked; the fix is the Alpine toolchain and npm rebuild', (t) => {
  const root = packageRoot(t, { 'prebuilds/linux-arm64/blockbuster.abi137.glibc.node': NOT_A_BINARY });
  const error = refusal({ platform: 'linux', arch: 'arm64', libc: 'musl' }, root);
  assert.equal(error.code, NO_WATCHDOG);
  assert.equal(error.platform, 'linux-arm64 musl');
  assert.match(error.message, /on linux-arm64 musl\.$/m);
  assert.match(error.message, /prebuilds[\\/]linux-arm64[\\/]blockbuster\.abi137\.musl\.node: not found/);
  assert.doesNotMatch(error.message, /abi137\.glibc\.node: (?!not found)/, 'the glibc binary was not opened');
  assert.match(error.message, /No prebuilt binary ships for linux-arm64 \(musl\) and none was compiled at install\./);
  assert.match(error.message, /Fix: install python3, make and a C\+\+ compiler \(Alpine: apk add python3 make g\+\+\), then run `npm rebuild blockbuster`/);
});

test('linux-arm64 glibc: the arm64 glibc prebuild of this ABI is the one opened', (t) => {
  const root = packageRoot(t, {
    'prebuilds/linux-arm64/blockbuster.abi137.glibc.node': NOT_A_BINARY,
    'prebuilds/linux-x64/blockbuster.abi137.glibc.node': NOT_A_BINARY,
    'prebuilds/linux-arm64/blockbuster.abi127.glibc.node': NOT_A_BINARY,
  });
  const error = refusal({ platform: 'linux', arch: 'arm64', libc: 'glibc' }, root);
  const tried = error.message.split('\n').filter((line) => line.startsWith('  - '));
  assert.equal(tried.length, 2, error.message);
  assert.match(tried[0], /build[\\/]Release[\\/]blockbuster\.node: not found$/);
  assert.match(tried[1], /prebuilds[\\/]linux-arm64[\\/]blockbuster\.abi137\.glibc\.node: (?!not found)/);
  assert.equal(error.platform, 'linux-arm64 glibc');
});

test('darwin-arm64: builds from source, so the fix is the Xcode tools and npm rebuild', (t) => {
  const root = packageRoot(t, {});
  const error = refusal({ platform: 'darwin', arch: 'arm64', libc: undefined }, root);
  assert.equal(error.platform, 'darwin-arm64');
  assert.match(error.message, /prebuilds[\\/]darwin-arm64[\\/]blockbuster\.abi137\.glibc\.node: not found/);
  assert.match(error.message, /Prebuilt binaries in this package: none\./);
  assert.match(error.message, /Fix: install python3, make and a C\+\+ compiler \(xcode-select --install\), then run `npm rebuild blockbuster`/);
});

test('a prebuild of the right platform but another ABI: the reason names both ABIs', (t) => {
  const root = packageRoot(t, { 'prebuilds/linux-x64/blockbuster.abi127.glibc.node': NOT_A_BINARY });
  const error = refusal({ platform: 'linux', arch: 'x64', libc: 'glibc' }, root);
  assert.equal(error.reason, 'the linux-x64 prebuilds are for Node ABI 127, not 137');
  assert.match(error.message, /The linux-x64 prebuilds in this package are built for Node ABI 127, not 137\./);
});

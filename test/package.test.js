'use strict';
// The packed tarball, installed without install scripts (npm 11's default for dependencies) and so
// without a compiler, works in the Node running this test: npm run test:matrix runs it on every line.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { LINES } = require('../scripts/node-lines');

const TARBALL = process.env.BLOCKBUSTER_TARBALL && path.resolve(process.env.BLOCKBUSTER_TARBALL);
const skip = TARBALL ? false : 'needs BLOCKBUSTER_TARBALL=<packed .tgz> (set by npm run test:matrix)';
const ABI = Number(process.versions.modules);
const PLATFORM = `${process.platform}-${process.arch}`;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let app;

before(() => {
  if (!TARBALL) return;
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-app-'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', TARBALL], { cwd: app, stdio: 'ignore', timeout: 240_000 });
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'package-probe.js'), path.join(app, 'probe.js'));
});

after(() => app && fs.rmSync(app, { recursive: true, force: true }));

/** Runs the probe inside the app with this test's Node; resolves with its one JSON line. */
function probe(scenario) {
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const run = spawnSync(process.execPath, ['probe.js', 'blockbuster', scenario], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `probe ${scenario} exited ${run.status ?? run.signal}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /symbol lookup error/);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

test('the tarball ships one prebuild per supported line and nothing built locally', { skip }, () => {
  const files = execFileSync('tar', ['-tzf', TARBALL], { encoding: 'utf8' }).split('\n');
  for (const { abi } of LINES) {
    assert.ok(files.includes(`package/prebuilds/linux-x64/blockbuster.abi${abi}.glibc.node`), `no ABI ${abi} prebuild in ${TARBALL}`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/build/')), 'build/ must not be packed');
  assert.ok(files.includes('package/dist/index.js') && files.includes('package/dist/index.d.ts'));
  const installed = path.join(app, 'node_modules', 'blockbuster');
  assert.ok(fs.existsSync(path.join(installed, 'dist', 'index.js')), 'installed');
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'nothing was compiled at install');
});

test("watch() names a busy loop's function, state js, from this line's prebuild", { skip }, () => {
  const { reports, mapped } = probe('busy');
  const report = reports.find((r) => r.culprit && r.culprit.functionName === 'spinBusy');
  assert.ok(report, JSON.stringify(reports));
  assert.equal(report.state, 'js');
  assert.ok(report.durationMs >= 150, `durationMs ${report.durationMs}`);
  if (process.platform === 'linux') {
    assert.deepEqual(
      mapped.map((file) => path.relative(fs.realpathSync(app), file)),
      [path.join('node_modules', 'blockbuster', 'prebuilds', PLATFORM, `blockbuster.abi${ABI}.glibc.node`)],
    );
  }
});

test('watch() names the function that called Atomics.wait, state atomics-wait', { skip }, () => {
  const { reports } = probe('atomics');
  const report = reports.find((r) => r.culprit && r.culprit.functionName === 'waitOnAtomics');
  assert.ok(report, JSON.stringify(reports));
  assert.equal(report.state, 'atomics-wait');
  assert.equal(report.blockingCall, 'Atomics.wait');
});

test('BlockBuster: fs.readFileSync in a timer callback throws a BlockingError', { skip }, () => {
  const rule = probe('rules');
  assert.equal(rule.isBlockingError, true, rule.message);
  assert.equal(rule.blockingCall, 'fs.readFileSync');
});

test('ESM: the named exports import from the installed package', { skip }, () => {
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "import { watch, BlockBuster, BlockingError } from 'blockbuster'; console.log([watch, BlockBuster, BlockingError].map((f) => typeof f).join())"],
    { cwd: app, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'function,function,function');
});

test('the tarball ships every entry in both forms, and its bin runs a program under the preload', { skip }, () => {
  const files = execFileSync('tar', ['-tzf', TARBALL], { encoding: 'utf8' }).split('\n');
  for (const entry of ['index', 'register', 'vitest', 'jest', 'mocha', 'node-test']) {
    for (const file of [`esm/${entry}.mjs`, `esm/${entry}.d.mts`, `dist/${entry}.js`, `dist/${entry}.d.ts`]) {
      assert.ok(files.includes(`package/${file}`), `${file} packed`);
    }
  }
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const bin = path.join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'blockbuster.cmd' : 'blockbuster');
  const shell = process.platform === 'win32';
  const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'blockbuster', 'package.json'), 'utf8'));
  const version = spawnSync(bin, ['--version'], { cwd: app, env, encoding: 'utf8', shell });
  assert.equal(version.stdout.trim(), installed.version, version.stderr);
  fs.writeFileSync(path.join(app, 'slow.js'), 'function slowStartup() { const end = Date.now() + 200; while (Date.now() < end); }\nsetTimeout(slowStartup, 20);\n');
  const cli = spawnSync(bin, ['--threshold', '20', 'slow.js'], { cwd: app, env, encoding: 'utf8', shell, timeout: 60_000 });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stderr, /^blockbuster summary: 1 block over 20 ms in 1 watched thread$/m);
  assert.match(cli.stderr, /^\s+1\s+\d+\s+\d+\s+slowStartup \(/m);
});

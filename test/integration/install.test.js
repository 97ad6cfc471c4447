'use strict';
// npm install never fails because of blockbuster: the packed tarball without this line's prebuild and
// without build/, installed with a PATH that holds node, npm and sh but no python, make or compiler.
// The install exits 0 with one notice; the rule set works; watch() names the platform; the preload,
// the CLI and a runner helper warn once and go on, or fail clearly when the watchdog is required.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const ABI = process.versions.modules;
const skip = process.platform === 'win32' ? 'the restricted PATH is built from POSIX symlinks' : false;
const NOTICE = /^blockbuster: the watchdog \(watch\(\)\) is not available on /gm;
const WARNING = /^blockbuster: warning: the watchdog cannot run on /gm;
// node:test passes a file's stderr on as a TAP comment (`# blockbuster: …`).
const RUNNER_WARNING = /blockbuster: warning: the watchdog cannot run on /g;

let work;
let bin;
let app;

/** The environment of a user's shell with only `bin` on PATH: no npm_*, compiler or blockbuster variables of ours. */
function userEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|BLOCKBUSTER_|NODE_OPTIONS$|NODE_TEST_CONTEXT$|CC$|CXX$|PYTHON$)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, PATH: bin, ...extra };
}

function runIn(cwd, command, args, extra) {
  return spawnSync(command, args, { cwd, env: userEnv(extra), encoding: 'utf8', timeout: 240_000 });
}

function count(text, pattern) {
  return (text.match(pattern) || []).length;
}

/** The packed tarball, repacked without this line's prebuild (other lines' stay) and without build/. */
function tarballWithoutThisLine() {
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
    .trim()
    .split('\n')
    .pop();
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', path.join(work, name), '-C', unpacked]);
  const prebuilds = path.join(unpacked, 'package', 'prebuilds', `${process.platform}-${process.arch}`);
  for (const file of fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds) : []) {
    if (file.startsWith(`blockbuster.abi${ABI}.`)) fs.rmSync(path.join(prebuilds, file));
  }
  fs.rmSync(path.join(unpacked, 'package', 'build'), { recursive: true, force: true });
  const tarball = path.join(work, 'blockbuster-no-binary.tgz');
  execFileSync('tar', ['-czf', tarball, '-C', unpacked, 'package']);
  return tarball;
}

function newApp(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  return dir;
}

function install(dir, tarball, flags = []) {
  return runIn(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...flags, tarball]);
}

let installed;
let quietInstall;

before(() => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-install-'));
  bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(npmCli, path.join(bin, 'npm'));
  // npm runs every lifecycle script with `sh -c`.
  fs.symlinkSync(fs.realpathSync('/bin/sh'), path.join(bin, 'sh'));
  const tarball = tarballWithoutThisLine();
  app = newApp('app');
  // --foreground-scripts: npm shows an install script's output only then (or when it fails).
  installed = install(app, tarball, ['--foreground-scripts']);
  quietInstall = install(newApp('quiet-app'), tarball);
  fs.writeFileSync(
    path.join(app, 'app.js'),
    [
      "const { Worker } = require('node:worker_threads');",
      "const { execFileSync } = require('node:child_process');",
      "console.log('app ran');",
      // A worker and a child process with the preload: the warning is still said once.
      "new Worker('setTimeout(() => {}, 10)', { eval: true }).on('exit', () => {",
      "  console.log(execFileSync(process.execPath, ['-e', 'console.log(\"child ran\")'], { encoding: 'utf8' }).trim());",
      "  setTimeout(() => { require('node:fs').readFileSync(__filename); process.exitCode = 3; }, 10);",
      '});',
      '',
    ].join('\n'),
  );
  fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'watchdog', 'package-probe.js'), path.join(app, 'probe.js'));
});

after(() => work && fs.rmSync(work, { recursive: true, force: true }));

test('the restricted PATH has node and npm but no python, make or C++ compiler', { skip }, () => {
  for (const tool of ['node', 'npm', 'sh']) assert.equal(runIn(work, 'sh', ['-c', `command -v ${tool}`]).status, 0, tool);
  for (const tool of ['python3', 'python', 'make', 'g++', 'c++', 'cc', 'gcc', 'clang++']) {
    const found = runIn(work, 'sh', ['-c', `command -v ${tool}`]);
    assert.notEqual(found.status, 0, `${tool} found at ${found.stdout}`);
  }
});

test('npm install exits 0 and prints the notice once: what is missing, what works, how to get the watchdog', { skip }, () => {
  const output = installed.stdout + installed.stderr;
  assert.equal(installed.status, 0, output);
  assert.equal(count(output, NOTICE), 1, output);
  const label = `${process.platform}-${process.arch}`;
  assert.match(output, new RegExp(`not available on ${label}( glibc| musl)?, Node ${process.version.replace(/\./g, '\\.')} \\(ABI ${ABI}\\)`));
  assert.match(output, /cannot be compiled here: python3, make, a C\+\+ compiler \(c\+\+, g\+\+ or clang\+\+\) not found/);
  assert.match(output, /Still works: require\('blockbuster'\) and the rule set/);
  assert.match(output, /To get the watchdog: install python3, make and a C\+\+ compiler .*then run `npm rebuild blockbuster`/);
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'blockbuster', 'dist', 'index.js')), 'the package is installed');
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'blockbuster', 'build')), 'no build was attempted');
  // Without --foreground-scripts (npm's default) the install succeeds the same way.
  assert.equal(quietInstall.status, 0, quietInstall.stdout + quietInstall.stderr);
});

test("require('blockbuster') works, the rule set throws on a sync call, watch() throws the platform error", { skip }, () => {
  const run = runIn(app, 'node', ['probe.js', 'blockbuster', 'no-binary']);
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.deepEqual({ isBlockingError: seen.rule.isBlockingError, blockingCall: seen.rule.blockingCall }, { isBlockingError: true, blockingCall: 'fs.readFileSync' });
  assert.equal(seen.code, 'ERR_BLOCKBUSTER_NO_WATCHDOG');
  assert.match(seen.message, new RegExp(`^blockbuster: watch\\(\\) cannot load its native addon in Node ${process.version.replace(/\./g, '\\.')} \\(ABI ${ABI}\\) on ${process.platform}-${process.arch}`));
  assert.match(seen.message, /Fix: install python3, make and a C\+\+ compiler .*`npm rebuild blockbuster`/);
  assert.deepEqual(seen.opened, [], 'no binary was opened');
});

for (const flag of ['--require', '--import']) {
  test(`node ${flag} blockbuster/register, diagnostics: one warning line; the app's output and exit code are its own`, { skip }, () => {
    const run = runIn(app, 'node', [flag, 'blockbuster/register', 'app.js'], { NODE_OPTIONS: `${flag} blockbuster/register` });
    assert.equal(run.status, 3, run.stderr);
    assert.equal(run.stdout, 'app ran\nchild ran\n');
    assert.equal(count(run.stderr, WARNING), 1, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
    assert.match(run.stderr, /going on without it \(the rule set is off\)\. To get it: install python3, make and a C\+\+ compiler/);
    assert.match(run.stderr, /BLOCKBUSTER_REQUIRE_WATCHDOG=1 makes this an error/);
  });
}

test('diagnostics with BLOCKBUSTER_RULES=1: the rule set still reports the sync call, the app runs on', { skip }, () => {
  const run = runIn(app, 'node', ['--require', 'blockbuster/register', 'app.js'], { BLOCKBUSTER_RULES: '1' });
  assert.equal(run.status, 3, run.stderr);
  assert.equal(run.stdout, 'app ran\nchild ran\n');
  assert.equal(count(run.stderr, WARNING), 1, run.stderr);
  assert.match(run.stderr, /going on with the rule set only/);
  assert.match(run.stderr, /fs\.readFileSync/, 'the rule set reported the call');
});

for (const [label, extra] of [
  ['strict mode', { BLOCKBUSTER_MODE: 'strict' }],
  ['BLOCKBUSTER_REQUIRE_WATCHDOG=1', { BLOCKBUSTER_REQUIRE_WATCHDOG: '1' }],
]) {
  test(`the preload in ${label}: a clear error and a non-zero exit before the app runs`, { skip }, () => {
    const run = runIn(app, 'node', ['--require', 'blockbuster/register', 'app.js'], extra);
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stdout, '', 'the app did not run');
    assert.match(run.stderr, new RegExp(`^blockbuster: the watchdog is required \\(${label === 'strict mode' ? 'strict mode: BLOCKBUSTER_MODE=strict' : 'BLOCKBUSTER_REQUIRE_WATCHDOG=1'}\\) but cannot run on ${process.platform}-${process.arch}`));
    assert.match(run.stderr, /npm rebuild blockbuster/);
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack');
  });
}

test('strict mode with BLOCKBUSTER_REQUIRE_WATCHDOG=0: a warning, and the app runs', { skip }, () => {
  const run = runIn(app, 'node', ['--require', 'blockbuster/register', 'app.js'], { BLOCKBUSTER_MODE: 'strict', BLOCKBUSTER_REQUIRE_WATCHDOG: '0' });
  assert.equal(run.status, 3, run.stderr);
  assert.equal(count(run.stderr, WARNING), 1, run.stderr);
});

test('the CLI: one warning, the program runs with its own exit code, the summary watched no thread', { skip }, () => {
  const run = runIn(app, path.join(app, 'node_modules', '.bin', 'blockbuster'), ['--', 'node', 'app.js']);
  assert.equal(run.status, 3, run.stderr);
  assert.equal(run.stdout, 'app ran\nchild ran\n');
  assert.equal(count(run.stderr, WARNING), 1, run.stderr);
  assert.match(run.stderr, /^blockbuster summary: 0 blocks over \? ms in 0 watched threads$/m);
  const strict = runIn(app, path.join(app, 'node_modules', '.bin', 'blockbuster'), ['--mode', 'strict', '--', 'node', 'app.js']);
  assert.equal(strict.status, 1, strict.stderr);
  assert.match(strict.stderr, /the watchdog is required \(strict mode/);
});

test('node:test helper: one warning for the run (two test-file processes), the rule set fails the blocking test', { skip }, () => {
  const dir = path.join(app, 'tests');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.test.js'), "const test = require('node:test');\ntest('waits', () => new Promise((r) => setTimeout(r, 20)));\n");
  fs.writeFileSync(path.join(dir, 'b.test.js'), "const test = require('node:test');\ntest('reads sync', async () => { await new Promise((r) => setTimeout(r, 5)); require('node:fs').readFileSync(__filename); });\n");
  const run = runIn(app, 'node', ['--test', '--test-reporter=tap', '--import', 'blockbuster/node-test', 'tests/a.test.js', 'tests/b.test.js']);
  const output = run.stdout + run.stderr;
  // The test-file processes agree through a marker file named by the runner's pid: not left behind.
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (name === `blockbuster-no-watchdog-${run.pid}` || name.startsWith(`blockbuster-no-watchdog-${run.pid}-`)) fs.rmSync(path.join(os.tmpdir(), name));
  }
  assert.equal(run.status, 1, output);
  assert.equal(count(output, RUNNER_WARNING), 1, output);
  assert.match(output, /going on with the rule set only/);
  assert.match(output, /^# pass 1$/m, output);
  assert.match(output, /^# fail 1$/m, output);
  assert.match(output, /fs\.readFileSync/);
  const required = runIn(app, 'node', ['--test', '--import', 'blockbuster/node-test', 'tests/a.test.js'], { BLOCKBUSTER_REQUIRE_WATCHDOG: '1' });
  assert.notEqual(required.status, 0, required.stdout + required.stderr);
  assert.match(required.stdout + required.stderr, /the watchdog is required \(BLOCKBUSTER_REQUIRE_WATCHDOG=1\)/);
});

// The headers of the Node running this test (an official build's own include/, or the system's /usr).
const NODEDIR = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
const HEADERS = fs.existsSync(path.join(NODEDIR, 'include', 'node', 'node_version.h'));
const TOOLCHAIN = ['python3', 'make', 'g++'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
const skipBuild = skip || (!HEADERS && `no headers for ${process.version} next to ${process.execPath}`) || (!TOOLCHAIN && 'needs python3, make and g++');

test('with a toolchain: the install compiles the addon and watch() names a busy loop from it; a failing build is a notice with the compiler error', { skip: skipBuild }, () => {
  const buildApp = newApp('build-app');
  // This line's node first, then the machine's tools.
  const toolchainEnv = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, npm_config_nodedir: NODEDIR };
  const tarball = path.join(work, 'blockbuster-no-binary.tgz');
  const built = runIn(buildApp, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], toolchainEnv);
  const output = built.stdout + built.stderr;
  assert.equal(built.status, 0, output);
  assert.match(output, new RegExp(`^blockbuster: compiled the watchdog for ${process.platform}-${process.arch}`, 'm'));
  assert.equal(count(output, NOTICE), 0, output);
  fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'watchdog', 'package-probe.js'), path.join(buildApp, 'probe.js'));
  const busy = runIn(buildApp, 'node', ['probe.js', 'blockbuster', 'busy'], toolchainEnv);
  assert.equal(busy.status, 0, busy.stderr);
  const { reports, mapped } = JSON.parse(busy.stdout.trim().split('\n').pop());
  assert.ok(reports.some((r) => r.culprit && r.culprit.functionName === 'spinBusy'), JSON.stringify(reports));
  assert.deepEqual(mapped.map((file) => path.relative(fs.realpathSync(buildApp), file)), [path.join('node_modules', 'blockbuster', 'build', 'Release', 'blockbuster.node')]);

  // The source no longer compiles: `npm rebuild` (what the notice tells a user to run) still exits 0.
  const installed = path.join(buildApp, 'node_modules', 'blockbuster');
  fs.rmSync(path.join(installed, 'build'), { recursive: true, force: true });
  fs.appendFileSync(path.join(installed, 'src', 'addon.cc'), '\nthis_does_not_compile;\n');
  const rebuilt = runIn(buildApp, 'npm', ['rebuild', 'blockbuster', '--foreground-scripts'], toolchainEnv);
  const rebuildOutput = rebuilt.stdout + rebuilt.stderr;
  assert.equal(rebuilt.status, 0, rebuildOutput);
  assert.equal(count(rebuildOutput, NOTICE), 1, rebuildOutput);
  assert.match(rebuildOutput, /compiling it failed: node-gyp rebuild failed \(exit 1\)\.\n {2}Last lines of the build:\n/);
  assert.match(rebuildOutput, /^ {4}\| .*addon\.cc:\d+:\d+: error: .*this_does_not_compile/m, 'the compiler error is shown');
  assert.match(rebuildOutput, /To get the watchdog: fix what the build says above/);
  const probe = runIn(buildApp, 'node', ['probe.js', 'blockbuster', 'no-binary'], toolchainEnv);
  assert.equal(JSON.parse(probe.stdout.trim().split('\n').pop()).code, 'ERR_BLOCKBUSTER_NO_WATCHDOG', probe.stderr);
});

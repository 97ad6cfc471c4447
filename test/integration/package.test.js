'use strict';
// The package as a consumer gets it, in two tarballs:
// - the one npm run test:matrix packs with every line's prebuild, installed without install scripts
//   (npm 11's default for dependencies) and so without a compiler, run in the Node running this
//   test (the matrix runs it on every line);
// - one packed here: the license, the source maps, and a TypeScript consumer type-checked against
//   the shipped declarations (with and without @types/node).
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { LINES } = require('../../scripts/node-lines');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the tarball test:matrix packed, with its prebuilds', () => {
  const TARBALL = process.env.BLOCKBUSTER_TARBALL && path.resolve(process.env.BLOCKBUSTER_TARBALL);
  const skip = TARBALL ? false : 'needs BLOCKBUSTER_TARBALL=<packed .tgz> (set by npm run test:matrix)';
  const ABI = Number(process.versions.modules);
  const PLATFORM = `${process.platform}-${process.arch}`;

  let app;

  before(() => {
    if (!TARBALL) return;
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-app-'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', TARBALL], { cwd: app, stdio: 'ignore', timeout: 240_000 });
    fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'watchdog', 'package-probe.js'), path.join(app, 'probe.js'));
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
    // The summary's row: count, total, worst, thread, culprit.
  assert.match(cli.stderr, /^\s+1\s+\d+\s+\d+\s+main\s+slowStartup \(/m);
  });
});

describe('a tarball packed here', () => {
  const ROOT = path.join(__dirname, '..', '..');
  const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

  let work;
  let tarball;
  let files;
  let app;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-packaging-'));
    // --ignore-scripts: dist/ is already compiled by npm test; prepare would only compile it again.
    const name = execFileSync(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop();
    tarball = path.join(work, name);
    files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'ignore', timeout: 240_000 });
  });

  after(() => work && fs.rmSync(work, { recursive: true, force: true }));

  test('the tarball ships the MIT LICENSE', () => {
    assert.ok(files.includes('package/LICENSE'), files.join('\n'));
    const text = fs.readFileSync(path.join(app, 'node_modules', 'blockbuster', 'LICENSE'), 'utf8');
    assert.match(text, /^MIT License\n\nCopyright \(c\) 2026 the blockbuster authors\n/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'blockbuster', 'package.json'), 'utf8')).license, 'MIT');
  });

  test(
    'every source a shipped dist/*.js.map names is in the tarball',
    () => {
      const missing = [];
      for (const map of files.filter((f) => f.endsWith('.js.map'))) {
        const { sources } = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'blockbuster', map.slice('package/'.length)), 'utf8'));
        for (const source of sources) {
          const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(map), source));
          if (!files.includes(shipped)) missing.push(`${map} -> ${shipped}`);
        }
      }
      assert.deepEqual(missing, []);
    },
  );

  // Uses the three public names the README shows, strictly typed; no Node globals of its own.
  const CONSUMER = `import { watch, BlockBuster, BlockingError } from 'blockbuster';
  import type { WatchOptions, Watcher, BlockState } from 'blockbuster';

  const seen: number[] = [];
  const options: WatchOptions = { thresholdMs: 20, mode: 'strict', onBlock: (error: BlockingError) => { seen.push(error.durationMs ?? 0); } };
  const watcher: Watcher = watch(options);
  const bb = new BlockBuster({ mode: 'report', output: 'stderr', maxReportsPerMinute: 5 });
  bb.functions['fs.readFileSync'].canBlockIn('src/config.ts', ['loadConfig']).canBlockIn('src/cache.ts', 'warmUp');
  bb.activate();
  const error = new BlockingError({ source: 'rule', message: 'x', frames: [] });
  const state: BlockState | undefined = error.state;
  bb.deactivate();
  watcher.stop();
  export { state, seen };
  `;

  // Type-checks the consumer with the repository's tsc; `types` null = @types/node available.
  function typecheck(name, compilerOptions) {
    const dir = path.join(app, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
    fs.mkdirSync(path.join(dir, 'no-types'));
    const config = { compilerOptions: { strict: true, noEmit: true, ...compilerOptions }, files: ['consumer.ts'] };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const run = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const errors = run.stdout.split('\n').filter((l) => /error TS\d+/.test(l)).map((l) => l.replace(/^.*node_modules\/blockbuster\//, '').replace(/\(\d+,\d+\)/, ''));
    return { status: run.status, errors, output: run.stdout + run.stderr };
  }

  const WITH_NODE_TYPES = { typeRoots: [path.join(ROOT, 'node_modules', '@types')], types: ['node'] };
  const WITHOUT_NODE_TYPES = { typeRoots: ['./no-types'], types: [] };

  for (const [label, moduleOptions] of [
    ['commonjs', { module: 'commonjs', target: 'es2022' }],
    ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' }],
  ]) {
    test(`a TypeScript consumer (${label}) type-checks against the shipped declarations with @types/node`, () => {
      const { status, output } = typecheck(`with-${label}`, { ...moduleOptions, ...WITH_NODE_TYPES });
      assert.equal(status, 0, output);
    });
  }

  test('without @types/node the shipped declarations do not type-check: they import node:async_hooks (and need Disposable)', () => {
    // Documented requirement: consumers need @types/node (or skipLibCheck). What breaks, exactly:
    const esnext = typecheck('without-esnext', { module: 'commonjs', target: 'es2022', lib: ['esnext'], ...WITHOUT_NODE_TYPES });
    assert.notEqual(esnext.status, 0);
    assert.deepEqual(esnext.errors, ["dist/options.d.ts: error TS2307: Cannot find module 'node:async_hooks' or its corresponding type declarations."], esnext.output);
    // With an older lib, Disposable comes only from @types/node (or lib esnext.disposable).
    const es2022 = typecheck('without-es2022', { module: 'commonjs', target: 'es2022', lib: ['es2022'], ...WITHOUT_NODE_TYPES });
    assert.ok(es2022.errors.some((e) => /Cannot find name 'Disposable'/.test(e)), es2022.output);
    // skipLibCheck hides it (the AsyncLocalStorage option becomes `any`).
    const skipped = typecheck('without-skiplibcheck', { module: 'commonjs', target: 'es2022', lib: ['esnext'], skipLibCheck: true, ...WITHOUT_NODE_TYPES });
    assert.equal(skipped.status, 0, skipped.output);
  });
});

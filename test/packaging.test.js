'use strict';
// The packed tarball as a consumer gets it: the license, the source maps, and a TypeScript consumer
// type-checked against the shipped declarations (with and without @types/node).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

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
  assert.deepEqual(esnext.errors, ["dist/watch.d.ts: error TS2307: Cannot find module 'node:async_hooks' or its corresponding type declarations."], esnext.output);
  // With an older lib, Disposable comes only from @types/node (or lib esnext.disposable).
  const es2022 = typecheck('without-es2022', { module: 'commonjs', target: 'es2022', lib: ['es2022'], ...WITHOUT_NODE_TYPES });
  assert.ok(es2022.errors.some((e) => /Cannot find name 'Disposable'/.test(e)), es2022.output);
  // skipLibCheck hides it (the AsyncLocalStorage option becomes `any`).
  const skipped = typecheck('without-skiplibcheck', { module: 'commonjs', target: 'es2022', lib: ['esnext'], skipLibCheck: true, ...WITHOUT_NODE_TYPES });
  assert.equal(skipped.status, 0, skipped.output);
});

'use strict';
// The packed tarball installs without a compiler or install scripts (npm 11's default for
// dependencies) and the prebuild it carries catches a real block.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack + install --ignore-scripts loads the prebuild and reports a block', { timeout: 300_000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-pack-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync(npm, ['run', 'prebuild'], { cwd: ROOT, stdio: 'ignore' });
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }));
  const files = packed[0].files.map((f) => f.path);
  assert.ok(files.some((f) => /^prebuilds\/[^/]+\/blockbuster\.abi\d+\..*node$/.test(f)), `no ABI-tagged prebuild in ${files}`);
  assert.ok(!files.some((f) => f.startsWith('build/')), 'build/ must not be packed');
  assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'));
  for (const entry of ['index', 'register', 'vitest', 'jest', 'mocha', 'node-test']) {
    assert.ok(files.includes(`esm/${entry}.mjs`) && files.includes(`esm/${entry}.d.mts`), `esm/${entry} packed`);
  }

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', path.join(dir, packed[0].filename)], { cwd: app, stdio: 'ignore' });
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'blockbuster', 'build')), 'nothing was compiled');

  fs.writeFileSync(
    path.join(app, 'main.mjs'),
    `import { watch } from 'blockbuster';
function slowStartup() { const end = Date.now() + 200; while (Date.now() < end); }
const watcher = watch({ thresholdMs: 20, onBlock: (e) => console.log(JSON.stringify(e.toJSON())) });
setTimeout(() => { slowStartup(); setTimeout(() => watcher.stop(), 50); }, 20);
`,
  );
  const run = spawnSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
  assert.equal(run.status, 0, run.stderr);
  const reports = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.ok(reports.some((r) => r.culprit && r.culprit.functionName === 'slowStartup'), run.stdout);

  // The bin is installed and runs the program under the preload.
  const bin = path.join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'blockbuster.cmd' : 'blockbuster');
  const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8', shell: process.platform === 'win32' });
  assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version, version.stderr);
  const cli = spawnSync(bin, ['--threshold', '20', 'main.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' }, shell: process.platform === 'win32' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stderr, /^blockbuster summary: \d+ blocks? over 20 ms in 1 watched thread$/m);
});

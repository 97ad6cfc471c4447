#!/usr/bin/env node
'use strict';
// npm run test:matrix: builds every line's prebuild, packs the tarball once, then runs the whole
// test suite under each line's own node with BLOCKBUSTER_TARBALL set (so the tarball tests run too).
//   node scripts/test-matrix.js [--lines 20,24] [--tarball <packed .tgz>]   (--tarball: skip build and pack)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LINES, ensureLine, selectLines } = require('./node-lines');

const ROOT = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const LINE_TIMEOUT_MS = 15 * 60_000;

function parseArgs(argv) {
  const options = { lines: undefined, linesGiven: false, tarball: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--lines') [options.lines, options.linesGiven] = [value(), true];
    else if (flag === '--tarball') options.tarball = value() ?? '';
    else throw new Error(`test:matrix: unknown argument ${JSON.stringify(argv[i])}; usage: test-matrix.js [--lines 20,24] [--tarball file.tgz]`);
  }
  if (options.tarball !== undefined && !fs.existsSync(options.tarball || '')) {
    throw new Error(`test:matrix: --tarball ${JSON.stringify(options.tarball)} does not exist`);
  }
  return { lines: selectLines(options.lines, options.linesGiven), tarball: options.tarball && path.resolve(options.tarball) };
}

/** The same files as `npm test`: every *.test.js / *.test.mjs under test/ but test/runners/, sorted. */
function testFiles(dir = 'test') {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const relative = path.posix.join(dir, entry.name);
      // Fixture suites that test/runners.test.js runs under vitest, jest and mocha.
      if (relative === 'test/runners') return [];
      if (entry.isDirectory()) return testFiles(relative);
      return /\.test\.m?js$/.test(entry.name) ? [relative] : [];
    })
    .sort();
}

function run(command, args, options) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`test:matrix: ${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  return result;
}

/** Builds each line's prebuild on its own (one failing line does not stop the others), then packs once. */
function buildAndPack(lines, workDir) {
  const failedBuilds = new Set();
  // Every line rebuilt: start clean so nothing stale from an older run is packed.
  if (lines.length === LINES.length) fs.rmSync(path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true, force: true });
  for (const line of lines) {
    const built = spawnSync(process.execPath, [path.join(__dirname, 'prebuild.js'), '--lines', line.version], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) failedBuilds.add(line.version);
  }
  const packed = run(npm, ['pack', '--json', '--pack-destination', workDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  return { tarball: path.join(workDir, JSON.parse(packed.stdout)[0].filename), failedBuilds };
}

/** Runs the suite under one line; returns its counts from the TAP summary. */
function runLine(line, files, tarball, workDir) {
  const tap = path.join(workDir, `${line.version}.tap`);
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const started = Date.now();
  console.log(`\n=== Node ${line.version} (ABI ${line.abi}): ${line.bin}`);
  const result = spawnSync(
    line.bin,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    { cwd: ROOT, env: { ...env, BLOCKBUSTER_TARBALL: tarball }, stdio: 'inherit', timeout: LINE_TIMEOUT_MS },
  );
  const summary = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (name) => Number((new RegExp(`^# ${name} (\\d+)$`, 'm').exec(summary) || [])[1] ?? NaN);
  const counts = { passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') };
  // A runner that crashed, timed out or printed no summary is a failure even with no failed test.
  if (result.status !== 0 || Number.isNaN(counts.passed + counts.failed)) {
    counts.passed = Number.isNaN(counts.passed) ? 0 : counts.passed;
    counts.failed = Math.max(Number.isNaN(counts.failed) ? 0 : counts.failed, 1);
  }
  return { ...counts, exit: result.status ?? result.signal, seconds: (Date.now() - started) / 1000 };
}

function main() {
  const { lines, tarball: given } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-matrix-'));
  try {
    const resolved = lines.map((line) => ensureLine(line.version, { log: (m) => console.log(m) }));
    const { tarball, failedBuilds } = given ? { tarball: given, failedBuilds: new Set() } : buildAndPack(resolved, workDir);
    const files = testFiles();
    const results = resolved.map((line) =>
      failedBuilds.has(line.version)
        ? { line, passed: 0, failed: 1, skipped: 0, exit: 'prebuild failed', seconds: 0 }
        : { line, ...runLine(line, files, tarball, workDir) },
    );
    console.log(`\n=== test:matrix: ${files.length} test files, tarball ${path.basename(tarball)}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const { line, passed, failed, skipped, exit, seconds } of results) {
      const verdict = failed === 0 ? 'ok  ' : 'FAIL';
      console.log(`${verdict} Node ${line.version} (ABI ${line.abi}): ${passed} passed, ${failed} failed, ${skipped} skipped, exit ${exit}, ${seconds.toFixed(0)} s`);
    }
    const passed = results.reduce((sum, r) => sum + r.passed, 0);
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(error.message);
  // The last line stays the summary even when the matrix could not run.
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
}

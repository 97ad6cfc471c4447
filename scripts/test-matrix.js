#!/usr/bin/env node
'use strict';
// npm run test:matrix: builds every line's prebuild (linux-x64 and linux-arm64), packs the tarball
// once, then runs the whole test suite under each line's own x64 node with BLOCKBUSTER_TARBALL set
// (so the tarball tests run too), and the arm64 suite (test/integration/arm64.test.js) against each line's
// official arm64 node under qemu-user.
//   node scripts/test-matrix.js [--lines 20,24] [--arch x64,arm64] [--tarball <packed .tgz>]
//   (--tarball: skip build and pack)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LINES, ensureLine, selectLines, selectArches } = require('./node-lines');
const { testFiles } = require('./test-files');

const ROOT = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const LINE_TIMEOUT_MS = 15 * 60_000;
// The arm64 smoke suite: a few emulated processes per line.
const ARM64_SUITE = 'test/integration/arm64.test.js';
const ARM64_TIMEOUT_MS = 6 * 60_000;

function parseArgs(argv) {
  const options = { lines: undefined, linesGiven: false, arches: undefined, archesGiven: false, tarball: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--lines') [options.lines, options.linesGiven] = [value(), true];
    else if (flag === '--arch') [options.arches, options.archesGiven] = [value(), true];
    else if (flag === '--tarball') options.tarball = value() ?? '';
    else throw new Error(`test:matrix: unknown argument ${JSON.stringify(argv[i])}; usage: test-matrix.js [--lines 20,24] [--arch x64,arm64] [--tarball file.tgz]`);
  }
  if (options.tarball !== undefined && !fs.existsSync(options.tarball || '')) {
    throw new Error(`test:matrix: --tarball ${JSON.stringify(options.tarball)} does not exist`);
  }
  return {
    lines: selectLines(options.lines, options.linesGiven),
    arches: selectArches(options.arches, options.archesGiven),
    tarball: options.tarball && path.resolve(options.tarball),
  };
}

function run(command, args, options) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`test:matrix: ${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  return result;
}

const buildKey = (line) => `${line.arch}:${line.version}`;

/**
 * Builds each line's prebuild per architecture on its own (one failing build does not stop the
 * others), then packs once. Returns the failed builds and the seconds each architecture took.
 */
function buildAndPack(lines, arches, workDir) {
  const failedBuilds = new Set();
  const buildSeconds = {};
  for (const arch of arches) {
    const started = Date.now();
    // Every line rebuilt: start clean so nothing stale from an older run is packed.
    if (lines.length === LINES.length) fs.rmSync(path.join(ROOT, 'prebuilds', `linux-${arch}`), { recursive: true, force: true });
    for (const line of lines) {
      const args = [path.join(__dirname, 'prebuild.js'), '--lines', line.version, '--arch', arch];
      const built = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
      if (built.status !== 0) failedBuilds.add(buildKey({ ...line, arch }));
    }
    buildSeconds[arch] = (Date.now() - started) / 1000;
  }
  const packed = run(npm, ['pack', '--json', '--pack-destination', workDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  return { tarball: path.join(workDir, JSON.parse(packed.stdout)[0].filename), failedBuilds, buildSeconds };
}

/**
 * Runs test files under one line; returns their counts from the TAP summary. x64: the whole suite
 * in that line's node. arm64: the arm64 suite in this node, driving that line's arm64 node.
 */
function runLine(line, files, tarball, workDir) {
  const tap = path.join(workDir, `${line.arch}-${line.version}.tap`);
  const { NODE_TEST_CONTEXT: _ignored, BLOCKBUSTER_ARM64_NODE: _unset, ...env } = process.env;
  const started = Date.now();
  const arm64 = line.arch === 'arm64';
  console.log(`\n=== Node ${line.version} (ABI ${line.abi}) ${label(line)}: ${[line.command, ...line.commandArgs].join(' ')}`);
  const result = spawnSync(
    arm64 ? process.execPath : line.bin,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    {
      cwd: ROOT,
      env: { ...env, BLOCKBUSTER_TARBALL: tarball, ...(arm64 && { BLOCKBUSTER_ARM64_NODE: line.bin }) },
      stdio: 'inherit',
      timeout: arm64 ? ARM64_TIMEOUT_MS : LINE_TIMEOUT_MS,
    },
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

function label(line) {
  return line.arch === 'arm64' && process.arch !== 'arm64' ? 'linux-arm64 under qemu' : `linux-${line.arch}`;
}

function main() {
  const { lines, arches, tarball: given } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-matrix-'));
  try {
    const resolved = arches.flatMap((arch) => lines.map((line) => ensureLine(line.version, { arch, log: (m) => console.log(m) })));
    const { tarball, failedBuilds, buildSeconds } = given
      ? { tarball: given, failedBuilds: new Set(), buildSeconds: {} }
      : buildAndPack(lines, arches, workDir);
    const files = testFiles();
    const results = resolved.map((line) =>
      failedBuilds.has(buildKey(line))
        ? { line, passed: 0, failed: 1, skipped: 0, exit: 'prebuild failed', seconds: 0 }
        : { line, ...runLine(line, line.arch === 'arm64' ? [ARM64_SUITE] : files, tarball, workDir) },
    );
    console.log(`\n=== test:matrix: ${files.length} test files, tarball ${path.basename(tarball)}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const arch of arches) {
      const testSeconds = results.filter((r) => r.line.arch === arch).reduce((sum, r) => sum + r.seconds, 0);
      const build = buildSeconds[arch] === undefined ? '' : `build ${buildSeconds[arch].toFixed(0)} s, `;
      console.log(`linux-${arch}: ${build}tests ${testSeconds.toFixed(0)} s${arch === 'arm64' ? ` (${ARM64_SUITE})` : ''}`);
    }
    for (const { line, passed, failed, skipped, exit, seconds } of results) {
      const verdict = failed === 0 ? 'ok  ' : 'FAIL';
      console.log(`${verdict} Node ${line.version} (ABI ${line.abi}) ${label(line)}: ${passed} passed, ${failed} failed, ${skipped} skipped, exit ${exit}, ${seconds.toFixed(0)} s`);
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

'use strict';
// The CLI: `blockbuster [options] -- node app.js` and `blockbuster app.js`, each a real child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, cleanEnv, run } = require('../helpers');

const CLI = path.join(ROOT, 'dist', 'cli.js');
const APP = path.join(__dirname, '..', 'fixtures', 'watchdog', 'app.js');
// Blocks of 10x the threshold: the machine is shared with other builds.
const ENV = { FIXTURE_BLOCK_MS: '500' };

const cli = (args, options = {}) => run([CLI, ...args], { cwd: ROOT, env: ENV, ...options });

/** The summary's row for a culprit: { count, totalMs, worstMs }. */
function summaryRow(stderr, fn) {
  const row = stderr.split('\n').find((l) => new RegExp(`^\\s+\\d+\\s+\\d+\\s+\\d+\\s+.*\\b${fn} \\(`).test(l));
  if (row === undefined) return undefined;
  const [count, totalMs, worstMs] = row.trim().split(/\s+/).map(Number);
  return { count, totalMs, worstMs, row };
}

test('--help and --version', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: blockbuster \[options\] -- <command>/);
  assert.match(help.stdout, /--threshold <ms>/);
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test('an unknown flag or a bad value exits 2 naming it; the program never runs', async () => {
  for (const [args, expected] of [
    [['--frob', APP, 'loop'], /Unknown option '--frob'/],
    [['--threshold', 'soon', APP, 'loop'], /option --threshold must be a number of milliseconds > 0, got "soon"/],
    [['--mode', 'loud', APP, 'loop'], /option --mode must be 'diagnostics' or 'strict', got "loud"/],
    [['--format', 'xml', APP, 'loop'], /option --format must be 'text' or 'json', got "xml"/],
    [['--abort-after', '1000', APP, 'loop'], /option --abort-after only applies to --mode strict/],
    [['--mode', 'strict', '--abort-after', '10', APP, 'loop'], /option --abort-after must be greater than --threshold \(20\), got 10/],
    [['--threshold', '50'], /no program to run/],
    [['--output', '/nonexistent-dir/blocks.log', APP, 'loop'], /option --output: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/],
  ]) {
    const { code, stderr, stdout } = await cli(args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, expected);
    assert.equal(stdout, '');
  }
});

test('short form: blocks reported, summary by culprit with count, total and worst, loop delay', async () => {
  const { code, stderr } = await cli(['--threshold', '50', APP, 'startup', 'loop', 'worker']);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^blockbuster summary: 3 blocks over 50 ms in 2 watched threads$/m);
  for (const fn of ['startupWork', 'loopWork', 'workerWork']) {
    const row = summaryRow(stderr, fn);
    assert.ok(row, `${fn} in the summary: ${stderr}`);
    assert.equal(row.count, 1);
    assert.ok(row.worstMs >= 450 && row.worstMs < 5000 && row.totalMs === row.worstMs, row.row);
  }
  assert.match(summaryRow(stderr, 'startupWork').row, /\[start-up\]$/);
  const delay = /loop delay \(pid \d+, \d+ samples at 10 ms\): p50 ([\d.]+) ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max ([\d.]+) ms/.exec(stderr);
  assert.ok(delay, stderr);
  assert.ok(Number(delay[2]) >= 450, `the 500 ms block shows in the max delay: ${delay[0]}`);
});

test('-- node app.js: the exit code passes through; --mode strict fails a clean exit', async () => {
  const three = await cli(['--threshold', '50', '--', 'node', APP, 'loop', 'exit=3']);
  assert.equal(three.code, 3, three.stderr);
  assert.equal(summaryRow(three.stderr, 'loopWork').count, 1, three.stderr);
  const strict = await cli(['--threshold', '50', '--mode', 'strict', '--', 'node', APP, 'loop']);
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /BlockingError: Event loop blocked for \d+ ms in loopWork/);
  const clean = await cli(['--threshold', '50', '--no-summary', APP, 'exit=0']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.doesNotMatch(clean.stderr, /summary/);
});

test('a command that cannot be started exits 127, naming it', async () => {
  const { code, stderr } = await cli(['--', 'blockbuster-no-such-command-here', 'x']);
  assert.equal(code, 127, stderr);
  assert.match(stderr, /blockbuster: cannot run "blockbuster-no-such-command-here": spawn blockbuster-no-such-command-here ENOENT/);
});

test('--rules --mode strict: a sync call in a callback fails the program', async () => {
  // The rule set's failure, not the watchdog's: a threshold no noise on a loaded machine reaches.
  const { code, stderr } = await cli(['--rules', '--mode', 'strict', '--threshold', '2000', APP, 'readSync']);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /BlockingError: Blocking call to fs\.readFileSync at readConfigSync/);
});

test('stdin and stdout pass through', async () => {
  const child = spawn(process.execPath, [CLI, '--no-summary', APP, 'echo'], { cwd: ROOT, env: cleanEnv(ENV), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stdin.end('hello blockbuster\n');
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.equal(stdout, 'HELLO BLOCKBUSTER\n');
});

/** Starts the CLI on a waiting program and sends `signal` to the CLI once the program is ready. */
function signalWhenReady(args, signal) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(ENV), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('ready\n') && !child.signalled) {
        child.signalled = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit after ${signal}: ${stdout} ${stderr}`));
    }, 30_000);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
}

test('signals are forwarded: SIGTERM ends the program and the CLI the same way, with the summary', async () => {
  const { code, signal, stderr } = await signalWhenReady(['--threshold', '50', APP, 'loop', 'wait'], 'SIGTERM');
  assert.equal(signal, 'SIGTERM', `code ${code}: ${stderr}`);
  assert.match(stderr, /^blockbuster summary: \d+ blocks? over 50 ms in 1 watched thread$/m);
});

test('signals are forwarded: a program that handles SIGINT itself exits as it chooses', async () => {
  const { code, signal, stdout, stderr } = await signalWhenReady([APP, 'onSigint', 'wait'], 'SIGINT');
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /got SIGINT/);
});

'use strict';
// The tests' one helpers module: real child processes (a fixture, a test runner on a fixture suite)
// and what they printed, read back.
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
// test/fixtures/<area>: the watchdog's programs, the rule set's, and the suites run under each runner.
const FIXTURES = path.join(__dirname, 'fixtures', 'watchdog');
const RULE_FIXTURES = path.join(__dirname, 'fixtures', 'rules');
const RUNNERS = path.join(__dirname, 'fixtures', 'runners');

/** Runs node with `args`; resolves { code, signal, stdout, stderr, elapsedMs }, rejects on timeout. */
function spawnNode(args, { cwd, env, timeoutMs, onStderr }) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (onStderr) onStderr(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} timed out after ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/**
 * Runs test/fixtures/watchdog/<file> with `args`; besides what spawnNode gives, `lines` (the JSON lines it
 * printed on stdout) and `reports` (their `report` members).
 */
async function runFixture(file, args = [], { timeoutMs = 30_000, env, onStderr, nodeArgs = [] } = {}) {
  const result = await spawnNode([...nodeArgs, path.join(FIXTURES, file), ...args.map(String)], {
    env: { ...process.env, ...env },
    timeoutMs,
    onStderr,
  });
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  return { ...result, lines, reports: lines.filter((line) => line.report).map((line) => line.report) };
}

/**
 * The fixtures import `blockbuster/...` the way a user's project does, from node_modules (mocha
 * resolves --require from its own location, so package self-reference is not enough).
 */
function linkSelf() {
  const link = path.join(ROOT, 'node_modules', 'blockbuster');
  try {
    fs.lstatSync(link);
  } catch {
    fs.symlinkSync('..', link, 'junction');
  }
}

/** A runner's executable, found like Node finds the package (not on PATH). */
function binOf(pkg, name = pkg) {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin[name]);
}

/** The environment of a child: no BLOCKBUSTER_* nor node:test context of ours leaks in. */
function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('BLOCKBUSTER_') || key === 'NODE_TEST_CONTEXT') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** A runner (or any node command) in a clean environment: { code, signal, stdout, stderr }. */
function run(args, { cwd, env, timeoutMs = 120_000 } = {}) {
  return spawnNode(args, { cwd, env: cleanEnv(env), timeoutMs });
}

// vitest and jest write the same JSON shape.
function fromJestLikeJson(file) {
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  return report.testResults.flatMap((result) =>
    result.assertionResults.map((a) => ({ title: a.title, status: a.status, message: a.failureMessages.join('\n') })),
  );
}

/**
 * Runs a runner (vitest, jest, mocha, node-test) with its blockbuster helper on the fixture suite in
 * `cwd` (`config` for vitest and jest; `files` for mocha and node:test, a filter for vitest). `results` lists each test's
 * title, status and failure message; `stderr` holds what the test processes wrote there.
 */
async function runSuite(runner, { cwd, env, config, files = [], timeoutMs }) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'blockbuster-suite-'));
  const out = path.join(dir, 'report.json');
  try {
    const args = {
      vitest: [binOf('vitest'), 'run', '--config', config, '--reporter=json', `--outputFile=${out}`, ...files],
      jest: [binOf('jest'), '--config', config, '--ci', '--json', `--outputFile=${out}`],
      // mocha's 2 s timeout: a busy machine stretches the blocks' wall time.
      mocha: [binOf('mocha'), '--require', 'blockbuster/mocha', '--timeout', '60000', '--reporter', 'json', ...files],
      'node-test': ['--test', '--import', 'blockbuster/node-test', `--test-reporter=${NODE_TEST_REPORTER}`, ...files],
    }[runner];
    const result = await run(args, { cwd, env, timeoutMs });
    let results;
    let { stderr } = result;
    if (runner === 'vitest' || runner === 'jest') {
      results = fs.existsSync(out) ? fromJestLikeJson(out) : [];
    } else if (runner === 'mocha') {
      results = JSON.parse(result.stdout).tests.map((t) => ({
        title: t.title,
        status: t.err && t.err.message ? 'failed' : 'passed',
        message: t.err && t.err.stack ? t.err.stack : '',
      }));
    } else {
      const events = result.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      results = events.filter((e) => e.name !== undefined).map((e) => ({ title: e.name, status: e.status, message: e.message ?? '' }));
      stderr = events.filter((e) => e.stderr !== undefined).map((e) => e.stderr).join('') + stderr;
    }
    return { ...result, stderr, results };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const NODE_TEST_REPORTER = path.join(RUNNERS, 'node-test', 'json-reporter.mjs');

/**
 * The verdicts on the blocking fixture (test/fixtures/runners/<runner>/blocking.test.*) every runner must give,
 * from `{ title: { status, message } }`.
 */
function assertBlockingVerdicts(results, output) {
  const assert = require('node:assert/strict');
  const context = `${JSON.stringify(results, null, 1)}\n${output}`;
  assert.deepEqual(Object.keys(results).sort(), ['blocks the loop', 'may block when allowed', 'reads a file synchronously after an await', 'stays clean'], context);
  assert.equal(results['blocks the loop'].status, 'failed', context);
  assert.match(results['blocks the loop'].message, /BlockingError: Event loop blocked for \d+ ms in blockTheLoop \(/, context);
  assert.equal(results['reads a file synchronously after an await'].status, 'failed', context);
  assert.match(results['reads a file synchronously after an await'].message, /BlockingError: Blocking call to fs\.readFileSync at readFixtureSync \(/, context);
  assert.equal(results['stays clean'].status, 'passed', context);
  assert.equal(results['may block when allowed'].status, 'passed', context);
}

/** `{ title: { status, message } }` from runSuite's results (titles unique in the suite). */
function byTitle(results) {
  return Object.fromEntries(results.map(({ title, status, message }) => [title, { status, message }]));
}


/** GETs `url` and parses its body as JSON (a DevTools or Prometheus HTTP API). */
function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(error);
          }
        });
      })
      .on('error', reject);
  });
}

// A fixture is a plain process even when this test runs under `node --test`.
function withoutTestRunnerContext(env) {
  const { NODE_TEST_CONTEXT: _ignored, ...rest } = env;
  return rest;
}

/**
 * Runs test/fixtures/rules/<name> (or an absolute path) to its end, synchronously; `report` is its
 * JSON report (the last stdout line) unless `json` is false.
 */
function runRuleFixture(name, { args = [], nodeArgs = [], cwd, env, json = true, input } = {}) {
  const file = path.isAbsolute(name) ? name : path.join(RULE_FIXTURES, name);
  const child = spawnSync(process.execPath, [...nodeArgs, file, ...args], {
    cwd,
    input,
    env: { ...withoutTestRunnerContext(process.env), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (!json) return { status: child.status, stdout: child.stdout, stderr: child.stderr };
  const lines = child.stdout.trim().split('\n');
  let report;
  try {
    report = JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`${name} printed no report (status ${child.status}):\n${child.stdout}\n${child.stderr}`);
  }
  return { report, status: child.status, stdout: child.stdout, stderr: child.stderr };
}

module.exports = {
  getJson,
  RULE_FIXTURES,
  runRuleFixture,
  ROOT,
  FIXTURES,
  RUNNERS,
  runFixture,
  run,
  linkSelf,
  binOf,
  cleanEnv,
  runSuite,
  byTitle,
  assertBlockingVerdicts,
};

'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const FIXTURES = path.join(__dirname, 'fixtures');

// A fixture is a plain process even when this test runs under `node --test`.
function withoutTestRunnerContext(env) {
  const { NODE_TEST_CONTEXT: _ignored, ...rest } = env;
  return rest;
}

/** Runs a fixture in a fresh Node process; `report` is its JSON report (the last stdout line). */
function runFixture(name, { args = [], nodeArgs = [], cwd, env, json = true, input } = {}) {
  const file = path.isAbsolute(name) ? name : path.join(FIXTURES, name);
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

module.exports = { runFixture, FIXTURES };

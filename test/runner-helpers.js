'use strict';
// Runs a test runner on a fixture suite in a real child process and reads its machine-readable report.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const RUNNERS = path.join(__dirname, 'runners');

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

function run(args, { cwd, env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

module.exports = { ROOT, RUNNERS, linkSelf, binOf, cleanEnv, run };

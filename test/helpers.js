'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const FIXTURES = path.join(__dirname, 'fixtures');

/** Runs a fixture in a real child process; resolves with its exit, output and parsed JSON lines. */
function runFixture(file, args = [], { timeoutMs = 30_000, env, onStderr, nodeArgs = [] } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, path.join(FIXTURES, file), ...args.map(String)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (onStderr) onStderr(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${file} ${args.join(' ')} timed out after ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      resolve({
        code,
        signal,
        stdout,
        stderr,
        elapsedMs: Date.now() - started,
        lines,
        reports: lines.filter((line) => line.report).map((line) => line.report),
      });
    });
  });
}

module.exports = { runFixture, FIXTURES };

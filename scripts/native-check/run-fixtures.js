#!/usr/bin/env node
'use strict';
// Runs the lifecycle, worker and block fixtures of a staged package copy (one whose
// build/Release/blockbuster.node is an instrumented binary) under a wrapper command, and checks
// each one's exit. Shared by scripts/check-asan.sh and scripts/check-valgrind.sh.
//   node run-fixtures.js --pkg <dir> --profile asan|valgrind [--wrap "valgrind ..."] [--only name,...]
// The sanitizer's own verdict (its logs) is read by the calling script; this file checks that
// each fixture ran to its expected end, so a crash or a hang under the tool is a failure too.
const { spawn } = require('node:child_process');
const path = require('node:path');

function parseArgs(argv) {
  const args = { wrap: [], only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (flag === '--pkg') args.pkg = path.resolve(value);
    else if (flag === '--profile') args.profile = value;
    else if (flag === '--wrap') args.wrap = value.split(' ').filter(Boolean);
    else if (flag === '--only') args.only = new Set(value.split(','));
    else throw new Error(`run-fixtures: unknown argument ${flag}`);
  }
  if (!args.pkg || !args.profile) throw new Error('run-fixtures: --pkg and --profile are required');
  return args;
}

// [name, fixture, args, expected exit]. Counts are small under valgrind (node runs ~20-50x slower).
function cases(profile) {
  const slow = profile === 'valgrind';
  const ok = { code: 0 };
  return [
    ['cycles', 'lifecycle.js', ['cycles', slow ? 20 : 300], ok, ['--expose-gc']],
    ['reenter', 'lifecycle.js', ['reenter'], ok],
    ['stopInBlock', 'lifecycle.js', ['stopInBlock'], ok],
    ['workers', 'lifecycle.js', ['workers', slow ? 2 : 4], ok],
    ['terminate', 'lifecycle.js', ['terminate', slow ? 6 : 30], ok],
    ['exitInBlock', 'lifecycle.js', ['exitInBlock'], { code: 7 }],
    ['forkAndCluster', 'lifecycle.js', ['forkAndCluster'], ok],
    ['worker-block', 'worker.js', ['block'], ok],
    ['worker-terminate', 'worker.js', ['terminate'], ok],
    ['block-busy', 'block.js', ['busy'], ok],
    ['block-exec', 'block.js', ['exec'], ok],
    ['block-atomics', 'block.js', ['atomics'], ok],
    ['block-json', 'block.js', ['json', slow ? 100 : 20], ok],
    ['block-atExit', 'block.js', ['atExit'], ok],
    ['block-storm', 'block.js', ['storm'], ok],
    ['block-stopTwice', 'block.js', ['stopTwice'], ok],
    // A strict-mode block is thrown as an uncaught exception: exit code 1 by design.
    ['block-strict', 'block.js', ['strict'], { code: 1 }],
  ].map(([name, fixture, args, expect, nodeArgs = []]) => ({ name, fixture, args, expect, nodeArgs }));
}

function runOne(args, c) {
  const timeoutMs = args.profile === 'valgrind' ? 600_000 : 120_000;
  const file = path.join(args.pkg, 'test', 'fixtures', 'watchdog', c.fixture);
  const command = [...args.wrap, process.execPath, ...c.nodeArgs, file, ...c.args.map(String)];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const pass = signal === null && code === c.expect.code;
      resolve({ ...c, code, signal, seconds, pass, stdout, stderr });
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const list = cases(args.profile).filter((c) => !args.only || args.only.has(c.name));
  let failed = 0;
  for (const c of list) {
    const result = await runOne(args, c);
    const status = result.pass ? 'ok  ' : 'FAIL';
    console.log(`${status} ${c.name} (${c.fixture} ${c.args.join(' ')}): exit ${result.code ?? result.signal}, expected ${c.expect.code}, ${result.seconds} s`);
    if (!result.pass) {
      failed++;
      console.log(`  stderr (tail): ${result.stderr.slice(-2000).replace(/\n/g, '\n  ')}`);
    }
  }
  console.log(`fixtures: ${list.length - failed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main();

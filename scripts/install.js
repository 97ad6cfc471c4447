#!/usr/bin/env node
'use strict';
// npm's install step: use the binary that fits this Node, else compile one where that can work, else
// say once what is missing and what still works. It always exits 0: the rule set needs no binary, and a
// failed install script would roll back the whole package and the app's install with it.
// Plain JavaScript with no dependencies: in a git checkout it runs before dist/ is compiled.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const BUILT = path.join(ROOT, 'build', 'Release', 'blockbuster.node');
const BUILD_TIMEOUT_MS = 15 * 60_000;
const TAIL_LINES = 25;

// The same target as lib/binding.ts: platform, CPU, C library (Linux) and Node ABI.
function currentTarget() {
  let libc;
  if (process.platform === 'linux') {
    let header;
    try {
      header = process.report.getReport().header;
    } catch {
      // No report available: assume the common case.
    }
    libc = header === undefined || header.glibcVersionRuntime ? 'glibc' : 'musl';
  }
  const label = `${process.platform}-${process.arch}${libc ? ` ${libc}` : ''}`;
  return { platform: process.platform, arch: process.arch, libc, abi: process.versions.modules, label };
}

// Loaded in a child: a binary for another Node can end the process that opens it (undefined symbol).
function loads(file) {
  if (!fs.existsSync(file)) return false;
  const check = `process.stdout.write(String(require(${JSON.stringify(file)}).abi))`;
  // Without NODE_OPTIONS: a preload there (npx blockbuster -- npm install) is not the check.
  const env = { ...process.env, NODE_OPTIONS: '' };
  const run = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8', env, timeout: 60_000 });
  return run.status === 0 && run.stdout === process.versions.modules;
}

function fittingBinary(target) {
  const prebuilt = path.join(
    ROOT,
    'prebuilds',
    `${target.platform}-${target.arch}`,
    `blockbuster.abi${target.abi}.${target.libc || 'glibc'}.node`,
  );
  return [BUILT, prebuilt].find(loads);
}

function onPath(name) {
  if (path.isAbsolute(name)) return fs.existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function firstOnPath(names) {
  for (const name of names) {
    const found = name && onPath(name);
    if (found) return found;
  }
  return undefined;
}

// node-gyp as a command: ours (a devDependency in a checkout), npm's own (set for every lifecycle script), or PATH's.
// Not an app's: its node-gyp may be too old for this Node.
function nodeGypCommand() {
  const own = path.join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(own)) return [process.execPath, own];
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && fs.existsSync(npmGyp)) return npmGyp.endsWith('.js') ? [process.execPath, npmGyp] : [npmGyp];
  const onPathGyp = onPath('node-gyp');
  return onPathGyp ? [onPathGyp] : undefined;
}

/** What a source build needs and is not here; empty when a build can be tried. */
function missingTools() {
  const missing = [];
  const python = firstOnPath([process.env.npm_config_python, process.env.PYTHON, 'python3', 'python']);
  if (!python) missing.push('python3');
  if (!onPath('make')) missing.push('make');
  const cxx = (process.env.CXX || '').split(' ')[0];
  if (!firstOnPath([cxx, 'c++', 'g++', 'clang++'])) missing.push('a C++ compiler (c++, g++ or clang++)');
  if (process.platform === 'darwin' && spawnSync('xcode-select', ['-p']).status !== 0) {
    missing.push('the Xcode command line tools');
  }
  if (!nodeGypCommand()) missing.push('node-gyp');
  return missing;
}

function toolchainHint(target) {
  if (target.platform === 'darwin') return 'xcode-select --install';
  if (target.libc === 'musl') return 'Alpine: apk add python3 make g++';
  return 'Debian/Ubuntu: apt-get install python3 make g++';
}

function build() {
  const [command, ...args] = nodeGypCommand();
  const run = spawnSync(command, [...args, 'rebuild'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout || ''}${run.stderr || ''}${run.error ? `\n${run.error.message}` : ''}`;
  return { status: run.status, signal: run.signal, output };
}

// The compiler's and node-gyp's errors, without gyp's long list of what it ran.
function tail(output) {
  const lines = output
    .trimEnd()
    .split('\n')
    .filter((line) => !line.startsWith('gyp info'));
  return lines.slice(-TAIL_LINES).map((line) => `    | ${line}`);
}

function notice(target, why, { detail = [], howTo }) {
  const lines = [
    `blockbuster: the watchdog (watch()) is not available on ${target.label}, Node ${process.version} (ABI ${target.abi}): ${why}.`,
    ...detail,
    "  Still works: require('blockbuster') and the rule set (BlockBuster); the preload, the CLI and the test-runner helpers go on with the rule set and say once that the watchdog is off.",
    `  To get the watchdog: ${howTo}`,
    '  The install itself succeeded: this is a notice, not an error.',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

function main() {
  const target = currentTarget();
  const fromSource = /^(true|1|blockbuster)$/.test(process.env.npm_config_build_from_source || '');
  if (!fromSource && fittingBinary(target)) return;
  if (target.platform !== 'linux' && target.platform !== 'darwin') {
    return notice(target, `no binary ships for ${target.platform}, and the source is written for Linux and macOS`, {
      howTo:
        'the watchdog runs on Linux (x64 and arm64 glibc are prebuilt) and macOS (compiled at install); on Windows use WSL or a Linux container.',
    });
  }
  const missing = missingTools();
  if (missing.length > 0) {
    const toolchain = missing.some((tool) => tool !== 'node-gyp');
    return notice(target, `no prebuilt binary fits, and it cannot be compiled here: ${missing.join(', ')} not found`, {
      howTo: toolchain
        ? `install python3, make and a C++ compiler (${toolchainHint(target)}), then run \`npm rebuild blockbuster\`.`
        : 'run `npm rebuild blockbuster` (npm brings its own node-gyp).',
    });
  }
  const result = build();
  if (result.status === 0 && loads(BUILT)) {
    process.stderr.write(`blockbuster: compiled the watchdog for ${target.label}, Node ${process.version}.\n`);
    return undefined;
  }
  const how =
    result.status === 0
      ? 'it built, but the binary does not load'
      : `node-gyp rebuild failed (${result.signal || `exit ${result.status}`})`;
  return notice(target, `no prebuilt binary fits, and compiling it failed: ${how}`, {
    detail: ['  Last lines of the build:', ...tail(result.output)],
    howTo: 'fix what the build says above (a newer C++ compiler: C++20 is needed), then run `npm rebuild blockbuster`.',
  });
}

try {
  main();
} catch (error) {
  process.stderr.write(
    `blockbuster: the install check failed unexpectedly (${error && error.message}); the rule set still works, and \`npm rebuild blockbuster\` retries it.\n`,
  );
}
process.exitCode = 0;

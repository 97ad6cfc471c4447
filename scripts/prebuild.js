#!/usr/bin/env node
'use strict';
// npm run prebuild: one stripped linux-x64 glibc binary per supported Node line, each compiled
// against that line's own headers, then loaded by that line's own node to prove it.
//   node scripts/prebuild.js [--lines 20,24]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { LINES, ensureLine, selectLines } = require('./node-lines');

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

function parseArgs(argv) {
  let lines;
  let given = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--lines') [lines, given] = [argv[++i], true];
    else if (arg.startsWith('--lines=')) [lines, given] = [arg.slice('--lines='.length), true];
    else throw new Error(`prebuild: unknown argument ${JSON.stringify(arg)}; usage: prebuild.js [--lines 20,22,24,26]`);
  }
  return { lines: selectLines(lines, given) };
}

function prebuildFile(abi) {
  return path.join(OUT_DIR, `blockbuster.abi${abi}.glibc.node`);
}

// A copy of the sources to build in, so build/Release (npm test's binary) is untouched. It sits
// inside the repository so prebuildify's final rename stays on one filesystem and node_modules resolves.
function stagingDir() {
  fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'build', 'prebuild-'));
  fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
  for (const file of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  return dir;
}

function build(line, staging) {
  fs.rmSync(prebuildFile(line.abi), { force: true });
  // npm's own config says nodedir=/usr and would win over --nodedir: the env var is what node-gyp reads.
  const env = { ...process.env, npm_config_nodedir: line.nodedir };
  const prebuildify = require.resolve('prebuildify/bin.js', { paths: [ROOT] });
  const args = [prebuildify, '--strip', '--tag-libc', '--no-napi', '--target', `node@${line.version}`, '--out', ROOT];
  console.log(`prebuild: Node ${line.version} (ABI ${line.abi}) against ${line.nodedir}/include/node`);
  const run = spawnSync(process.execPath, args, { cwd: staging, env, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`prebuild: prebuildify failed for Node ${line.version} (exit ${run.status ?? run.signal})`);
  // Prove which headers were used: node-gyp records them in the generated makefile and config.
  const makefile = fs.readFileSync(path.join(staging, 'build', 'blockbuster.target.mk'), 'utf8');
  if (!makefile.includes(`-I${path.join(line.nodedir, 'include', 'node')}`)) {
    throw new Error(`prebuild: the Node ${line.version} build did not use ${line.nodedir}/include/node (see its build/blockbuster.target.mk)`);
  }
  const config = fs.readFileSync(path.join(staging, 'build', 'config.gypi'), 'utf8');
  const abi = Number((/"node_module_version":\s*(\d+)/.exec(config) || [])[1]);
  if (abi !== line.abi) throw new Error(`prebuild: build/config.gypi says ABI ${abi} for Node ${line.version}, expected ${line.abi}`);
  if (!fs.existsSync(prebuildFile(line.abi))) throw new Error(`prebuild: prebuildify wrote no ${prebuildFile(line.abi)}`);
}

// Loads the binary in its own line's node; the addon exports the ABI it was compiled for.
function verify(line) {
  const file = prebuildFile(line.abi);
  const run = spawnSync(line.bin, ['-p', `require(${JSON.stringify(file)}).abi`], { encoding: 'utf8' });
  const abi = run.stdout.trim();
  if (run.status !== 0 || abi !== String(line.abi)) {
    throw new Error(`prebuild: ${file} in Node ${line.version}: expected abi ${line.abi}, got ${JSON.stringify(abi)} (exit ${run.status ?? run.signal})\n${run.stderr}`);
  }
  return fs.statSync(file).size;
}

function main() {
  const { lines } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const resolved = lines.map((line) => ensureLine(line.version, { log: (m) => console.log(m) }));
  // A full build starts clean, so a line dropped from the list cannot ship a stale binary.
  if (lines.length === LINES.length) fs.rmSync(OUT_DIR, { recursive: true, force: true });
  const staging = stagingDir();
  try {
    for (const line of resolved) build(line, staging);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  for (const line of resolved) {
    const size = verify(line);
    console.log(`prebuild: ${path.relative(ROOT, prebuildFile(line.abi))}  ${(size / 1024).toFixed(1)} KiB  loads in Node ${line.version}, abi ${line.abi}`);
  }
  console.log(`prebuild: ${resolved.length} binaries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}

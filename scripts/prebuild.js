#!/usr/bin/env node
'use strict';
// npm run prebuild: one stripped linux glibc binary per supported Node line and architecture (x64
// natively, arm64 with Debian's aarch64-linux-gnu cross compiler), each compiled against that
// line's own headers, then loaded by that line's own node (arm64: under qemu-user) to prove it.
//   node scripts/prebuild.js [--lines 20,24] [--arch x64,arm64]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { LINES, ensureLine, selectLines, selectArches } = require('./node-lines');
const { elfInfo } = require('./elf');

const ROOT = path.resolve(__dirname, '..');

// How to compile for each architecture on linux-x64: natively, or with the cross toolchain.
const TOOLCHAINS = {
  x64: { env: {}, strip: 'strip' },
  arm64: {
    env: { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++' },
    strip: 'aarch64-linux-gnu-strip',
  },
};

function parseArgs(argv) {
  const options = { lines: undefined, linesGiven: false, arches: undefined, archesGiven: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--lines') [options.lines, options.linesGiven] = [value(), true];
    else if (flag === '--arch') [options.arches, options.archesGiven] = [value(), true];
    else throw new Error(`prebuild: unknown argument ${JSON.stringify(argv[i])}; usage: prebuild.js [--lines 20,22,24,26] [--arch x64,arm64]`);
  }
  return { lines: selectLines(options.lines, options.linesGiven), arches: selectArches(options.arches, options.archesGiven) };
}

function outDir(arch) {
  return path.join(ROOT, 'prebuilds', `linux-${arch}`);
}

// The name node-gyp-build and lib/binding.ts look for: <name>.abi<ABI>.<libc>.node.
function prebuildFile(line) {
  return path.join(outDir(line.arch), `blockbuster.abi${line.abi}.glibc.node`);
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

function checkToolchain(arch) {
  const { env, strip } = TOOLCHAINS[arch];
  for (const tool of [...new Set([...Object.values(env), strip])]) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      const hint = arch === 'arm64' ? ' (Debian: apt-get install g++-aarch64-linux-gnu)' : '';
      throw new Error(`prebuild: ${tool} is needed to build for linux-${arch} and does not run here${hint}`);
    }
  }
}

function build(line, staging) {
  const { env: toolchain, strip } = TOOLCHAINS[line.arch];
  fs.rmSync(prebuildFile(line), { force: true });
  // npm's own config says nodedir=/usr and would win over --nodedir: the env var is what node-gyp reads.
  const env = { ...process.env, ...toolchain, npm_config_nodedir: line.nodedir, JOBS: process.env.JOBS || '2' };
  const prebuildify = require.resolve('prebuildify/bin.js', { paths: [ROOT] });
  const args = [prebuildify, '--strip', '--strip-bin', strip, '--arch', line.arch, '--tag-libc', '--no-napi',
    '--target', `node@${line.version}`, '--out', ROOT];
  console.log(`prebuild: Node ${line.version} (ABI ${line.abi}) linux-${line.arch} against ${line.nodedir}/include/node`);
  const run = spawnSync(process.execPath, args, { cwd: staging, env, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`prebuild: prebuildify failed for Node ${line.version} linux-${line.arch} (exit ${run.status ?? run.signal})`);
  // Prove which headers were used: node-gyp records them in the generated makefile and config.
  const makefile = fs.readFileSync(path.join(staging, 'build', 'blockbuster.target.mk'), 'utf8');
  if (!makefile.includes(`-I${path.join(line.nodedir, 'include', 'node')}`)) {
    throw new Error(`prebuild: the Node ${line.version} build did not use ${line.nodedir}/include/node (see its build/blockbuster.target.mk)`);
  }
  const config = fs.readFileSync(path.join(staging, 'build', 'config.gypi'), 'utf8');
  const abi = Number((/"node_module_version":\s*(\d+)/.exec(config) || [])[1]);
  if (abi !== line.abi) throw new Error(`prebuild: build/config.gypi says ABI ${abi} for Node ${line.version}, expected ${line.abi}`);
  if (!fs.existsSync(prebuildFile(line))) throw new Error(`prebuild: prebuildify wrote no ${prebuildFile(line)}`);
}

// Loads the binary in its own line's node; the addon exports the ABI it was compiled for.
function verify(line) {
  const file = prebuildFile(line);
  const elf = elfInfo(file);
  if (elf.arch !== line.arch || !elf.stripped) {
    throw new Error(`prebuild: ${file} is ${elf.arch}${elf.stripped ? '' : ', not stripped'}; expected a stripped ${line.arch} binary`);
  }
  const run = spawnSync(line.command, [...line.commandArgs, '-p', `require(${JSON.stringify(file)}).abi`], { encoding: 'utf8' });
  const abi = (run.stdout || '').trim();
  if (run.status !== 0 || abi !== String(line.abi)) {
    throw new Error(`prebuild: ${file} in Node ${line.version} linux-${line.arch}: expected abi ${line.abi}, got ${JSON.stringify(abi)} (exit ${run.status ?? run.signal})\n${run.stderr}`);
  }
  return fs.statSync(file).size;
}

function main() {
  const { lines, arches } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  for (const arch of arches) checkToolchain(arch);
  const resolved = arches.flatMap((arch) => lines.map((line) => ensureLine(line.version, { arch, log: (m) => console.log(m) })));
  // A full build starts clean, so a line dropped from the list cannot ship a stale binary.
  if (lines.length === LINES.length) for (const arch of arches) fs.rmSync(outDir(arch), { recursive: true, force: true });
  const staging = stagingDir();
  try {
    for (const line of resolved) build(line, staging);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  for (const line of resolved) {
    const size = verify(line);
    console.log(`prebuild: ${path.relative(ROOT, prebuildFile(line))}  ${(size / 1024).toFixed(1)} KiB, stripped, loads in Node ${line.version} linux-${line.arch}, abi ${line.abi}`);
  }
  console.log(`prebuild: ${resolved.length} binaries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}

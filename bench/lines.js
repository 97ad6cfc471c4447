'use strict';
// The Node lines to bench (BENCH_LINES, default: every supported line), each with its own binary
// (scripts/node-lines.js) and the package's prebuild for its ABI, built if missing.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { LINES, ensureLine, findLine } = require('../scripts/node-lines');
const { log } = require('./proc');

const ROOT = path.join(__dirname, '..');
const prebuild = (abi) => path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, `blockbuster.abi${abi}.glibc.node`);

/** [{ major, version, abi, bin, nodedir, sentry: null | why not }] for the lines asked for. */
function benchLines(spec = process.env.BENCH_LINES) {
  const wanted = spec ? spec.split(',').map((n) => findLine(n.trim())) : LINES.slice();
  if (wanted.some((l) => !fs.existsSync(prebuild(l.abi)))) {
    log('building the prebuilds (npm run prebuild)');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'prebuild.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return wanted.map((l) => {
    const line = ensureLine(l.version, { log });
    return { major: l.version.split('.')[0], version: l.version, abi: l.abi, bin: line.bin, nodedir: line.nodedir, sentry: sentryUnavailable(line.bin) };
  });
}

/** Why Sentry's module does not load in this Node, or null. */
function sentryUnavailable(bin) {
  const r = spawnSync(bin, ['-e', "require('@sentry-internal/node-native-stacktrace')"], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return null;
  const lines = r.stderr.split('\n').filter((l) => /Error|error:/.test(l));
  return (lines[0] || `exit ${r.status}`).trim().slice(0, 160);
}

module.exports = { benchLines };

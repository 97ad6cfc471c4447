'use strict';
// What the children need that is made at run time, in one temp dir removed at the end: the
// Node-API test addon (built once: Node-API is ABI-stable across lines), a 64 MB file, the phase clock,
// and 60 dependency modules nobody has loaded yet (the stale-after-require class).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { generatePhaseClock } = require('./gen-phase-clock');
const { writePlugins } = require('./child/workloads');

const ROOT = path.join(__dirname, '..');

function makeFixtures({ nodedir } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-bench-'));
  const phaseClock = path.join(dir, 'phase-clock.js');
  fs.writeFileSync(phaseClock, generatePhaseClock());
  const bigFile = path.join(dir, 'big.bin');
  fs.writeFileSync(bigFile, Buffer.alloc(64 * 1024 * 1024, 1));
  return { dir, phaseClock, bigFile, plugins: writePlugins(dir), addon: buildAddon(dir, nodedir), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** test/fixtures/watchdog/addon built with node-gyp; null (and why) when there is no compiler. */
function buildAddon(dir, nodedir = path.resolve(process.execPath, '..', '..')) {
  const src = path.join(dir, 'addon');
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'watchdog', 'addon'), src, { recursive: true });
  try {
    execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--nodedir=${nodedir}`], {
      cwd: src,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, npm_config_nodedir: nodedir },
    });
    return { path: path.join(src, 'build', 'Release', 'slow_addon.node') };
  } catch (e) {
    return { path: null, error: String(e.stderr || e.message).split('\n').filter(Boolean).slice(-1)[0] };
  }
}

module.exports = { makeFixtures };

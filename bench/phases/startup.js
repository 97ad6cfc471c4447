'use strict';
// What watch() costs as it starts (issue 14 §8), on every Node line: the heap that require + watch()
// allocate (bench/child/startup.js), and the GCs a bare idle net server runs in the 12 s after
// watch() against the same server without it (test/fixtures/watchdog/idle.js under --trace-gc, the
// pair started side by side).
const path = require('node:path');
const { execFile } = require('node:child_process');
const { log } = require('../proc');

const ROOT = path.join(__dirname, '..', '..');
const { gcsAfterReady } = require('../../test/fixtures/watchdog/idle-gcs');

// A 64 MB young generation: no GC runs during the start, so the used heap's growth is all allocation.
function allocated(node) {
  const script = path.join(__dirname, '..', 'child', 'startup.js');
  return new Promise((resolve, reject) => {
    execFile(node, ['--min-semi-space-size=64', '--max-semi-space-size=64', script, ROOT], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout.trim())),
    );
  });
}

async function startupPhase(lines, cfg) {
  const out = {};
  for (const line of lines) {
    const allocation = await allocated(line.bin).catch((e) => ({ error: e.message.split('\n')[0] }));
    const rounds = [];
    for (let r = 0; r < cfg.rounds; r++) {
      const [none, watch] = await Promise.all(['none', 'watch'].map((mode) => gcsAfterReady({ node: line.bin, mode, root: ROOT })));
      rounds.push({ none, watch });
    }
    out[line.version] = { allocation, rounds };
    log(`startup ${line.version}: ${allocation.totalKB ?? '?'} KB (young ${allocation.youngKB ?? '?'}), ${allocation.modules ?? '?'} modules; GCs after watch(): ${rounds.map((x) => x.watch.length).join(' · ')} (no tool ${rounds.map((x) => x.none.length).join(' · ')})`);
  }
  return out;
}

module.exports = { startupPhase };

'use strict';
// Idle CPU, read from outside (/proc/<pid>/task/*/schedstat): servers of every tool, and on every
// Node line "no tool" and watch(), all up at once (idle processes do not compete), in rounds of
// freshly started servers: a 3 s window after settling, then another after a little traffic.
const http = require('node:http');
const { log, sleep, procSnapshot, threadCpuMs, startServer, stopChild, loadavg } = require('../proc');
const { rotate } = require('../stats');

const SETTLE_MS = 2000;
const WINDOW_MS = 3000;

/** servers: [{ key, tool, node }] → per round, per key: CPU ms, context switches, watchdog thread ms. */
async function idlePhase(servers, { rounds }) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const up = [];
    for (const s of rotate(servers, r)) up.push({ ...s, ...(await startServer(s.tool, s.node)) });
    await sleep(SETTLE_MS);
    const fresh = await measureWindow(up);
    // The same servers idle again after a little traffic (connections opened and closed).
    for (const s of up) await smallTraffic(s.port, 20);
    await sleep(SETTLE_MS / 2);
    const afterTraffic = await measureWindow(up);
    await Promise.all(up.map((s) => stopChild(s.child)));
    out.push({ loadavg: loadavg(), fresh, afterTraffic });
    log(`idle round ${r + 1}/${rounds}:`, Object.entries(fresh).map(([k, v]) => `${k}=${v.cpuMs.toFixed(2)}→${afterTraffic[k].cpuMs.toFixed(2)}ms`).join(' '));
  }
  return out;
}

async function measureWindow(up) {
  const before = up.map((s) => procSnapshot(s.pid));
  const t0 = process.hrtime.bigint();
  await sleep(WINDOW_MS);
  const k = WINDOW_MS / (Number(process.hrtime.bigint() - t0) / 1e6); // normalised to exactly 3 s
  const out = {};
  up.forEach((s, i) => {
    const a = before[i];
    const b = procSnapshot(s.pid);
    out[s.key] = { cpuMs: ((b.cpuNs - a.cpuNs) / 1e6) * k, ctxSwitches: (b.ctx - a.ctx) * k, threads: Object.keys(b.threads).length, watchdogMs: threadCpuMs(a, b, 'blockbuster') * k };
  });
  return out;
}

function smallTraffic(port, n) {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) {
    chain = chain.then(
      () =>
        new Promise((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/warm', agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
        }),
    );
  }
  return chain;
}

module.exports = { idlePhase, WINDOW_MS, SETTLE_MS };

'use strict';
// The peers under HTTP load, in the system Node: every tool's server up at once, hit by autocannon
// in short slices, ABBA blocks (no tool, tool, tool, no tool) in an order rotated every cycle, so
// that whatever else runs on the machine hits every tool alike; then RSS after a fixed request count.
const autocannon = require('autocannon');
const { log, sleep, loadavg, procSnapshot, statusKB, startServer, ask, stopChild } = require('../proc');
const { percentile, rotate } = require('../stats');

const URL_PATH = '/api/items?x=1';

/** Requests for `seconds`: what a warm-up serves, which sizes the tool's slices. */
function runFor(port, seconds, connections) {
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}${URL_PATH}`, connections, duration: seconds }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * One slice of `amount` requests. autocannon ends runs on its 1 s tick only, so the slice stops it
 * at the amount-th response; throughput is timed from the first to the last response.
 */
function runSlice(port, amount, connections) {
  return new Promise((resolve) => {
    const lat = new Float64Array(amount);
    let n = 0;
    let errors = 0;
    let first = 0n;
    const inst = autocannon({ url: `http://127.0.0.1:${port}${URL_PATH}`, connections, amount: amount + 10 * connections }, () => {});
    inst.on('reqError', () => errors++);
    inst.on('response', (_client, status, _bytes, responseTime) => {
      if (n >= amount) return;
      const t = process.hrtime.bigint();
      if (n === 0) first = t;
      if (status !== 200) errors++;
      lat[n++] = responseTime; // floats: autocannon's own histogram keeps whole ms only
      if (n === amount) {
        inst.stop();
        resolve({ n, errors, rps: (n - 1) / (Number(t - first) / 1e9), sorted: lat.sort() });
      }
    });
  });
}

async function loadPhase(tools, cfg) {
  const cycles = [];
  const groups = [];
  const perGroup = Math.ceil(cfg.loadCycles / cfg.loadGroups);
  for (let g = 0; g < cfg.loadGroups; g++) {
    const servers = new Map();
    for (const t of rotate(tools, g)) servers.set(t, await startServer(t, process.execPath, cfg.serverCpu));
    const amount = new Map();
    for (const t of rotate(tools, g)) {
      const res = await runFor(servers.get(t).port, cfg.warmupS, cfg.connections);
      amount.set(t, Math.max(500, Math.round((res.requests.total / res.duration) * cfg.sliceS)));
    }
    const groupStart = Date.now();
    for (let c = g * perGroup; c < Math.min(cfg.loadCycles, (g + 1) * perGroup); c++) {
      // Time budget: on a slow or busy machine, fewer cycles rather than a longer bench.
      if (c > g * perGroup + 1 && (Date.now() - groupStart) / 1000 > cfg.loadBudgetS / cfg.loadGroups) {
        log(`load group ${g + 1}: time budget reached after ${c - g * perGroup} cycles`);
        break;
      }
      cycles.push(await loadCycle(tools, servers, amount, c, cfg));
    }
    const group = {};
    for (const t of tools) group[t] = { blockReports: (await ask(servers.get(t).child, 'stats')).blockReports };
    groups.push(group);
    await Promise.all([...servers.values()].map((s) => stopChild(s.child)));
  }
  return { cycles, groups };
}

/** Every tool's ABBA block; a tool's ratio is its two slices against the two "no tool" ones. */
async function loadCycle(tools, servers, amount, c, cfg) {
  const slice = async (t) => {
    const srv = servers.get(t);
    const cpu0 = procSnapshot(srv.pid).cpuNs;
    const { n, rps, errors, sorted } = await runSlice(srv.port, amount.get(t), cfg.connections);
    return { rps, p99Ms: percentile(sorted, 99), cpuUsPerReq: (procSnapshot(srv.pid).cpuNs - cpu0) / 1e3 / n, errors };
  };
  const mean = (xs, k) => (xs[0][k] + xs[1][k]) / 2;
  const cycle = { loadavg: loadavg()[0], tools: {} };
  for (const t of rotate(tools.filter((x) => x !== 'none'), c)) {
    const a1 = await slice('none');
    const b1 = await slice(t);
    const b2 = await slice(t);
    const a2 = await slice('none');
    const A = [a1, a2];
    const B = [b1, b2];
    cycle.tools[t] = {
      rps: mean(B, 'rps'),
      p99Ms: mean(B, 'p99Ms'),
      rpsRatio: mean(B, 'rps') / mean(A, 'rps'),
      p99Ratio: mean(B, 'p99Ms') / mean(A, 'p99Ms'),
      cpuPerReqRatio: mean(B, 'cpuUsPerReq') / mean(A, 'cpuUsPerReq'),
      errors: b1.errors + b2.errors,
    };
  }
  cycle.tools.none = { rpsRatio: 1, p99Ratio: 1, cpuPerReqRatio: 1 };
  log(`load cycle ${c + 1}/${cfg.loadCycles}:`, Object.entries(cycle.tools).map(([t, v]) => `${t}=${v.rpsRatio.toFixed(3)}`).join(' '));
  return cycle;
}

/**
 * watch() against no tool in one server process (phase http1): between slices the server stops the
 * watcher or starts it again (stop() restores every wrapped API and removes the loop hooks), so both
 * sides share the process, its heap and code layout and its CPU, which two processes do not (their
 * A/A control was 3-5 % off). Rounds of four slices, off-on-on-off or on-off-off-on in turn; every
 * other round is an A/A control that keeps the tool off throughout. Before each measured slice an
 * unmeasured quarter slice runs in the same state: a switch costs the next requests a deoptimized
 * handler (its JSON.stringify call site saw another function) and, on, watch()'s start-up allocation,
 * and in an on-off-off-on round both "on" slices would follow a switch. A round's ratio: the mean of
 * its two "on" slices over its two "off" ones.
 */
async function sameProcessPhase(tool, cfg) {
  const { child, port } = await startServer(tool, process.execPath, cfg.serverCpu);
  try {
    const set = (on) => ask(child, on ? 'tool-on' : 'tool-off');
    await set(false);
    await runFor(port, cfg.warmupS, cfg.connections);
    await set(true);
    const warm = await runFor(port, cfg.warmupS, cfg.connections);
    const amount = Math.max(500, Math.round((warm.requests.total / warm.duration) * cfg.sliceS));
    const rounds = [];
    for (let r = 0; r < 2 * cfg.sameProcessRounds; r++) {
      const control = r % 2 === 1;
      const order = Math.floor(r / 2) % 2 === 0 ? [false, true, true, false] : [true, false, false, true];
      const rps = { on: 0, off: 0 };
      for (const on of order) {
        await set(on && !control);
        await runSlice(port, Math.ceil(amount / 4), cfg.connections);
        rps[on ? 'on' : 'off'] += (await runSlice(port, amount, cfg.connections)).rps / 2;
      }
      rounds.push({ control, ratio: rps.on / rps.off, loadavg: loadavg()[0] });
    }
    const { blockReports } = await ask(child, 'stats');
    log(`same-process ${tool}: ratio per round`, rounds.filter((x) => !x.control).map((x) => x.ratio.toFixed(3)).join(' '), '| A/A', rounds.filter((x) => x.control).map((x) => x.ratio.toFixed(3)).join(' '));
    return { tool, amount, rounds, blockReports };
  } finally {
    await stopChild(child);
  }
}

/** RSS after the same number of requests for every tool, fresh servers each round. */
async function rssPhase(tools, cfg) {
  const rounds = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const servers = new Map();
    for (const t of rotate(tools, r)) servers.set(t, await startServer(t));
    await sleep(300);
    for (const t of rotate(tools, r)) {
      await new Promise((resolve, reject) => autocannon({ url: `http://127.0.0.1:${servers.get(t).port}${URL_PATH}`, connections: cfg.connections, amount: cfg.rssRequests }, (e) => (e ? reject(e) : resolve())));
    }
    await sleep(500);
    const round = {};
    for (const t of tools) round[t] = { rssMB: statusKB(servers.get(t).pid, 'VmRSS') / 1024, anonMB: statusKB(servers.get(t).pid, 'RssAnon') / 1024 };
    await Promise.all([...servers.values()].map((s) => stopChild(s.child)));
    rounds.push(round);
    log(`rss round ${r + 1}/${cfg.rounds}:`, Object.entries(round).map(([t, v]) => `${t}=${v.rssMB.toFixed(1)} (anon ${v.anonMB.toFixed(1)})`).join(' '));
  }
  return rounds;
}

module.exports = { loadPhase, sameProcessPhase, rssPhase };

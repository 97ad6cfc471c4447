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
 * watch() against no tool, side by side (phase http). Two servers, A and B, both pinned to one CPU
 * and loaded at the same time, so that whatever slows that CPU down (another tenant, its clock, the
 * hypervisor) slows both alike. A round's figure: requests per CPU second (every thread of the
 * server, the watchdog's too) of one server over the other's, i.e. what a CPU-bound server serves
 * per CPU. Rounds come in pairs: watch() on in A and off in B, then off in A and on in B (stopped
 * and started in the same processes: two processes differ by a percent or two by their code and
 * memory layout alone, which the pair cancels); the pair's ratio is the geometric mean of its two
 * on-over-off ratios. Every other pair is an A/A control with watch() off in both, computed alike:
 * its spread is this run's resolution. After each switch a quarter round runs unmeasured (the
 * handler deoptimizes when JSON.stringify changes, and watch() allocates as it starts).
 */
async function sideBySidePhase(cfg) {
  const servers = [];
  for (let i = 0; i < 2; i++)
    servers.push(await startServer(process.env.BENCH_HTTP_TOOL || 'bb-watch', process.execPath, cfg.serverCpu));
  try {
    const connections = Math.max(1, Math.round(cfg.connections / 2));
    const loadBoth = (seconds) => Promise.all(servers.map((s) => runFor(s.port, seconds, connections)));
    const setTool = (on) => Promise.all(servers.map((s, i) => ask(s.child, on[i] ? 'tool-on' : 'tool-off')));
    await setTool([false, false]);
    await loadBoth(cfg.warmupS);
    const round = async (on) => {
      await setTool(on);
      await loadBoth(cfg.sideBySideS / 4);
      const cpu0 = servers.map((s) => procSnapshot(s.pid).cpuNs);
      const res = await loadBoth(cfg.sideBySideS);
      const cpuNs = servers.map((s, i) => procSnapshot(s.pid).cpuNs - cpu0[i]);
      const requests = res.map((x) => x.requests.total);
      return {
        perCpu: requests.map((n, i) => n / (cpuNs[i] / 1e9)),
        requests,
        cpuMs: cpuNs.map((x) => x / 1e6),
        errors: res.reduce((n, x) => n + x.errors + x.non2xx, 0),
      };
    };
    const pairs = [];
    for (let p = 0; p < 2 * cfg.httpRounds; p++) {
      const control = p % 2 === 1;
      // Which server counts as "on": A in the first round of a pair, B in the second.
      const first = await round([!control, false]);
      const second = await round([false, !control]);
      const ratio = Math.sqrt((first.perCpu[0] / first.perCpu[1]) * (second.perCpu[1] / second.perCpu[0]));
      const served = Math.sqrt((first.requests[0] / first.requests[1]) * (second.requests[1] / second.requests[0]));
      pairs.push({ control, ratio, servedRatio: served, rounds: [first, second], loadavg: loadavg()[0] });
    }
    const blockReports = (await Promise.all(servers.map((s) => ask(s.child, 'stats')))).reduce(
      (n, x) => n + x.blockReports,
      0,
    );
    const show = (control) =>
      pairs
        .filter((x) => x.control === control)
        .map((x) => x.ratio.toFixed(3))
        .join(' ');
    log(`side by side: watch() per pair ${show(false)} | A/A ${show(true)}`);
    return { pairs, connections, sliceS: cfg.sideBySideS, blockReports };
  } finally {
    await Promise.all(servers.map((s) => stopChild(s.child)));
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

module.exports = { loadPhase, sideBySidePhase, rssPhase };

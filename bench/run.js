'use strict';
// npm run bench — blockbuster side by side with its peers, in one run, alternated rounds.
//
// Figures (each tool in fresh child processes; ratios are taken against "no tool" measured in the
// same round, then the median and the spread (min..max) over rounds are reported):
//   1. HTTP throughput and p99 latency of a small JSON server under autocannon load (loopback).
//   2. CPU used by an idle server over 3 s after a settle period, read from outside the process
//      (/proc/<pid>/task/*/schedstat, ns resolution), plus context switches (wake-ups).
//   3. RSS after load.
//   4. Detection of a 200 ms CPU-bound block: when the report fires and when the stack was really
//      captured (read off the stack: bench/phase-clock.js), and whether it names `burnCpu`.
//   5. Rule set: ns per call of a wrapped sync function while allowed (bench/rules.js).
//
// Environment knobs: BENCH_ROUNDS (idle rounds and detection runs, default 5), BENCH_LOAD_CYCLES
// (default 12), BENCH_LOAD_GROUPS (default 3), BENCH_SLICE (s of load per slice, default 0.5), BENCH_WARMUP (s, default 2),
// BENCH_CONNECTIONS (default 32), BENCH_TOOLS (comma list), BENCH_SKIP (comma list of phases:
// idle,load,rss,detect,rules,iter), BENCH_RSS_REQUESTS (default 20000), BENCH_LOAD_BUDGET (s for
// the load phase, default 200: fewer cycles on a slow machine).
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { TOOLS, THRESHOLD_MS, unavailableReason } = require('./tools');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const LOAD_CYCLES = Number(process.env.BENCH_LOAD_CYCLES || 12);
const SLICE_S = Number(process.env.BENCH_SLICE || 0.5);
const LOAD_GROUPS = Number(process.env.BENCH_LOAD_GROUPS || 3);
const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS || 20000);
const LOAD_BUDGET_S = Number(process.env.BENCH_LOAD_BUDGET || 200);
const WARMUP = Number(process.env.BENCH_WARMUP || 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const IDLE_SETTLE_MS = 2000;
const IDLE_WINDOW_MS = 3000;
const SKIP = new Set((process.env.BENCH_SKIP || '').split(',').filter(Boolean));
const OUT_DIR = process.env.BENCH_OUT || __dirname;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(`[bench ${((Date.now() - T0) / 1000).toFixed(0).padStart(3)}s]`, ...a);
const T0 = Date.now();

// ---------------------------------------------------------------------------------------------
// stats helpers
function median(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
function spread(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (a.length === 0) return null;
  return [Math.min(...a), Math.max(...a)];
}
function summary(xs) {
  return { median: median(xs), min: spread(xs)?.[0] ?? null, max: spread(xs)?.[1] ?? null, n: xs.filter((x) => x != null).length, values: xs };
}
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
/** Rotates the list by r so that every tool runs early and late across rounds. */
function rotate(list, r) {
  const k = r % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

// ---------------------------------------------------------------------------------------------
// machine
function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (/^model name\s*:\s*(.*)$/m.exec(cpuinfo) || [])[1] || os.cpus()[0]?.model;
  let nproc;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    nproc = os.availableParallelism();
  }
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
  } catch {}
  return { nproc, cpuModel: model, node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.release()} ${os.arch()}`, totalMemMB: Math.round(os.totalmem() / 2 ** 20), commit };
}
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

// ---------------------------------------------------------------------------------------------
// /proc readers: CPU time (ns) and context switches summed over all threads of a process
function procSnapshot(pid) {
  let cpuNs = 0;
  let ctx = 0;
  let threads = 0;
  const perThread = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      cpuNs += ns;
      perThread[tid] = ns;
      const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      ctx += Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(st)[1]) + Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(st)[1]);
      threads++;
    } catch {
      // thread exited between readdir and read
    }
  }
  return { cpuNs, ctx, threads, perThread };
}
/** CPU ms per thread between two snapshots, in thread creation (tid) order: main thread first. */
function perThreadMs(a, b) {
  return Object.keys(b.perThread)
    .map(Number)
    .sort((x, y) => x - y)
    .map((tid) => Math.round(((b.perThread[tid] - (a.perThread[tid] ?? 0)) / 1e6) * 1000) / 1000);
}
function rssBytes(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s*(\d+) kB/.exec(st)[1]) * 1024;
}
/** RssAnon: private memory (heaps, stacks), without the pages of node's own binary and libraries. */
function rssAnonBytes(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s*(\d+) kB/.exec(st)[1]) * 1024;
}

// ---------------------------------------------------------------------------------------------
// children
function startServer(tool) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), tool], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const onExit = (code) => reject(new Error(`server ${tool} exited early (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve({ child, port: m.port, pid: child.pid });
    });
  });
}
function ask(child, type) {
  return new Promise((resolve) => {
    const h = (m) => {
      if (m && m.type === type) {
        child.off('message', h);
        resolve(m);
      }
    };
    child.on('message', h);
    child.send({ type });
  });
}
function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
}

// ---------------------------------------------------------------------------------------------
// phase 2: idle cost (all tools side by side, concurrently: idle processes don't compete)
async function idlePhase(tools) {
  const rounds = [];
  const window = async (servers) => {
    const before = new Map(servers.map(([t, s]) => [t, procSnapshot(s.pid)]));
    const t0 = process.hrtime.bigint();
    await sleep(IDLE_WINDOW_MS);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const k = IDLE_WINDOW_MS / wallMs; // normalise to exactly IDLE_WINDOW_MS
    const out = {};
    for (const [t, s] of servers) {
      const a = before.get(t);
      const b = procSnapshot(s.pid);
      // perThreadMs: main thread first; blockbuster's watchdog is the newest (last) thread.
      out[t] = { cpuMs: ((b.cpuNs - a.cpuNs) / 1e6) * k, ctxSwitches: (b.ctx - a.ctx) * k, threads: b.threads, perThreadMs: perThreadMs(a, b), idleRssMB: rssBytes(s.pid) / 2 ** 20 };
    }
    return out;
  };
  for (let r = 0; r < ROUNDS; r++) {
    const servers = [];
    for (const t of rotate(tools, r)) servers.push([t, await startServer(t)]);
    await sleep(IDLE_SETTLE_MS);
    // A server that has never been sent a request...
    const fresh = await window(servers);
    // ...and the same server idle again after a little traffic (connections opened and closed).
    for (const [, s] of servers) await smallTraffic(s.port, 20);
    await sleep(IDLE_SETTLE_MS / 2);
    const after = await window(servers);
    const round = { loadavg: loadavg(), tools: fresh, afterTraffic: after };
    await Promise.all(servers.map(([, s]) => stopChild(s.child)));
    rounds.push(round);
    log(`idle round ${r + 1}/${ROUNDS}:`, Object.entries(round.tools).map(([t, v]) => `${t}=${v.cpuMs.toFixed(2)}ms/${Math.round(v.ctxSwitches)}cs then ${after[t].cpuMs.toFixed(2)}ms/${Math.round(after[t].ctxSwitches)}cs`).join(' '));
  }
  return rounds;
}
function smallTraffic(port, n) {
  const http = require('node:http');
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) {
    chain = chain.then(
      () =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/warm', agent: false }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        }),
    );
  }
  return chain;
}

// ---------------------------------------------------------------------------------------------
// phases 1 and 3: HTTP load, then RSS
function runLoad(url, seconds, collect) {
  const autocannon = require('autocannon');
  return new Promise((resolve, reject) => {
    const lat = [];
    const inst = autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 }, (err, res) => {
      if (err) return reject(err);
      resolve({ res, lat });
    });
    // autocannon's own histogram stores whole milliseconds; keep the float samples for p99.
    if (collect) inst.on('response', (_client, _status, _bytes, responseTime) => lat.push(responseTime));
  });
}

/**
 * One load slice of a fixed number of requests. autocannon only ends runs on its 1 s tick, so the
 * slice ends itself at the amount-th response (and stops autocannon); throughput is timed from the
 * first to the last response, so connection set-up is not part of it.
 */
function runSlice(url, amount) {
  const autocannon = require('autocannon');
  return new Promise((resolve) => {
    const lat = new Float64Array(amount);
    let n = 0;
    let errors = 0;
    let first = 0n;
    let last = 0n;
    const inst = autocannon({ url, connections: CONNECTIONS, amount: amount + 10 * CONNECTIONS, pipelining: 1 }, () => {});
    const fail = () => errors++;
    inst.on('reqError', fail);
    inst.on('response', (_client, status, _bytes, responseTime) => {
      if (n >= amount) return;
      last = process.hrtime.bigint();
      if (n === 0) first = last;
      if (status !== 200) errors++;
      lat[n++] = responseTime;
      if (n === amount) {
        inst.stop();
        resolve({ n, errors, rps: (n - 1) / (Number(last - first) / 1e9), sorted: lat.sort() });
      }
    });
  });
}

async function loadPhase(tools) {
  // The servers of all tools are up at the same time; the load generator hits them in short
  // slices, in an order rotated every cycle, so that whatever else runs on the machine hits every
  // tool alike. Ratios are taken per cycle against the "no tool" slice of the same cycle.
  // The cycles are split into groups, each with freshly started servers.
  const cycles = [];
  const groups = [];
  const perGroup = Math.ceil(LOAD_CYCLES / LOAD_GROUPS);
  for (let g = 0; g < LOAD_GROUPS; g++) {
    const servers = new Map();
    for (const t of rotate(tools, g)) servers.set(t, await startServer(t));
    // Warm-up, which also sizes each tool's slices: SLICE_S worth of requests at its own rate.
    const amount = new Map();
    for (const t of rotate(tools, g)) {
      const { res } = await runLoad(`http://127.0.0.1:${servers.get(t).port}/api/items?x=1`, WARMUP, false);
      amount.set(t, amount.get(t) ?? Math.max(500, Math.round((res.requests.total / res.duration) * SLICE_S)));
    }
    const groupStart = Date.now();
    for (let c = g * perGroup; c < Math.min(LOAD_CYCLES, (g + 1) * perGroup); c++) {
      // Time budget: on a slow or busy machine, fewer cycles rather than a bench over 10 minutes.
      if (c > g * perGroup + 1 && (Date.now() - groupStart) / 1000 > LOAD_BUDGET_S / LOAD_GROUPS) {
        log(`load group ${g + 1}: time budget reached after ${c - g * perGroup} cycles`);
        break;
      }
      // For every tool t, in an order rotated every cycle: none, t, t, none (ABBA). Each server has
      // one slice right after a switch and one after itself, and linear drift of the machine's
      // load cancels out; a tool's ratio is (t + t) / (none + none) of its own block.
      const cycle = { group: g, loadavg: loadavg()[0], tools: {}, baseline: [] };
      const slice = async (t) => {
        const srv = servers.get(t);
        const cpu0 = procSnapshot(srv.pid).cpuNs;
        const { n, rps, errors, sorted: lat } = await runSlice(`http://127.0.0.1:${srv.port}/api/items?x=1`, amount.get(t));
        const cpuNs = procSnapshot(srv.pid).cpuNs - cpu0;
        return {
          rps,
          p50Ms: percentile(lat, 50),
          p99Ms: percentile(lat, 99),
          // CPU of the server process (all its threads) per request served: the tool's cost
          // without the load generator's share of the machine's noise.
          cpuUsPerReq: cpuNs / 1e3 / n,
          errors,
        };
      };
      const mean = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
      for (const t of rotate(tools.filter((x) => x !== 'none'), c)) {
        const a1 = await slice('none');
        const b1 = await slice(t);
        const b2 = await slice(t);
        const a2 = await slice('none');
        cycle.baseline.push(a1, a2);
        const A = [a1, a2];
        const B = [b1, b2];
        cycle.tools[t] = {
          rps: mean(B, 'rps'),
          p50Ms: mean(B, 'p50Ms'),
          p99Ms: mean(B, 'p99Ms'),
          cpuUsPerReq: mean(B, 'cpuUsPerReq'),
          errors: b1.errors + b2.errors,
          rpsRatio: mean(B, 'rps') / mean(A, 'rps'),
          p99Ratio: mean(B, 'p99Ms') / mean(A, 'p99Ms'),
          cpuPerReqRatio: mean(B, 'cpuUsPerReq') / mean(A, 'cpuUsPerReq'),
          slices: { none: A, tool: B },
        };
      }
      const b = cycle.baseline;
      cycle.tools.none = { rps: median(b.map((x) => x.rps)), p99Ms: median(b.map((x) => x.p99Ms)), cpuUsPerReq: median(b.map((x) => x.cpuUsPerReq)), rpsRatio: 1, p99Ratio: 1, cpuPerReqRatio: 1, errors: b.reduce((s, x) => s + x.errors, 0) };
      cycles.push(cycle);
      if ((c + 1) % 5 === 0 || c === LOAD_CYCLES - 1) {
        log(`load cycle ${c + 1}/${LOAD_CYCLES}:`, Object.entries(cycle.tools).map(([t, v]) => `${t}=${Math.round(v.rps)}rps(${v.rpsRatio.toFixed(3)})/p99 ${v.p99Ms.toFixed(2)}ms/cpu ${v.cpuPerReqRatio.toFixed(3)}`).join(' '));
      }
    }
    const group = {};
    for (const t of tools) {
      const st = await ask(servers.get(t).child, 'stats');
      group[t] = { requests: st.requests, blockReports: st.blockReports };
    }
    groups.push(group);
    await Promise.all([...servers.values()].map((s) => stopChild(s.child)));
  }
  return { cycles, groups };
}

// phase 3: RSS after the same fixed number of requests for every tool, fresh servers each round
async function rssPhase(tools) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const servers = new Map();
    for (const t of rotate(tools, r)) servers.set(t, await startServer(t));
    await sleep(300);
    for (const t of rotate(tools, r)) await runLoadAmount(`http://127.0.0.1:${servers.get(t).port}/api/items?x=1`, RSS_REQUESTS);
    await sleep(500);
    const round = {};
    for (const t of tools) {
      const s = servers.get(t);
      round[t] = { rssMB: rssBytes(s.pid) / 2 ** 20, anonMB: rssAnonBytes(s.pid) / 2 ** 20 };
    }
    await Promise.all([...servers.values()].map((s) => stopChild(s.child)));
    rounds.push(round);
    log(`rss round ${r + 1}/${ROUNDS} (MB, total/anon):`, Object.entries(round).map(([t, v]) => `${t}=${v.rssMB.toFixed(1)}/${v.anonMB.toFixed(1)}`).join(' '));
  }
  return rounds;
}
function runLoadAmount(url, amount) {
  const autocannon = require('autocannon');
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, amount, pipelining: 1 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// ---------------------------------------------------------------------------------------------
// phase 4: detection
function runNode(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop();
      try {
        const res = JSON.parse(line);
        // What the tool printed on its own (e.g. blockbuster's native "still blocked" line).
        res.stderrLines = err.split('\n').filter(Boolean).slice(0, 5);
        resolve(res);
      } catch {
        reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${(out + err).slice(0, 500)}`));
      }
    });
  });
}
async function detectPhase(tools) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    for (const t of rotate(tools, r)) round[t] = await runNode('detect.js', [t, '200']);
    rounds.push(round);
    log(`detect round ${r + 1}/${ROUNDS}:`, Object.entries(round).map(([t, v]) => `${t}=${v.reports.length ? `${v.reports[0].firedAfterThresholdMs.toFixed(1)}ms${v.reports[0].capturedInPhaseMs != null ? `@phase${v.reports[0].capturedInPhaseMs}` : ''}` : 'none'}`).join(' '));
  }
  return rounds;
}

// ---------------------------------------------------------------------------------------------
// aggregation
function aggregate(results) {
  const { tools } = results;
  const agg = {};
  for (const t of tools) {
    const a = (agg[t] = {});
    if (results.idle) {
      const cpu = results.idle.map((r) => r.tools[t]?.cpuMs);
      const base = results.idle.map((r) => r.tools.none?.cpuMs);
      a.idleCpuMs = summary(cpu);
      a.idleCpuDeltaMs = summary(cpu.map((c, i) => c - base[i]));
      a.idleCtxSwitches = summary(results.idle.map((r) => r.tools[t]?.ctxSwitches));
      a.idleRssMB = summary(results.idle.map((r) => r.tools[t]?.idleRssMB));
      const cpu2 = results.idle.map((r) => r.afterTraffic?.[t]?.cpuMs);
      const base2 = results.idle.map((r) => r.afterTraffic?.none?.cpuMs);
      a.idleAfterTrafficCpuMs = summary(cpu2);
      a.idleAfterTrafficCpuDeltaMs = summary(cpu2.map((c, i) => c - base2[i]));
      a.idleAfterTrafficCtxSwitches = summary(results.idle.map((r) => r.afterTraffic?.[t]?.ctxSwitches));
      a.idleNewestThreadCpuMs = summary(results.idle.map((r) => r.tools[t]?.perThreadMs?.at(-1)));
      a.idleAfterTrafficNewestThreadCpuMs = summary(results.idle.map((r) => r.afterTraffic?.[t]?.perThreadMs?.at(-1)));
      a.idleAfterTrafficMainThreadCpuMs = summary(results.idle.map((r) => r.afterTraffic?.[t]?.perThreadMs?.[0]));
      a.threads = median(results.idle.map((r) => r.tools[t]?.threads));
    }
    if (results.load) {
      const L = results.load.cycles;
      a.rps = summary(L.map((r) => r.tools[t]?.rps));
      a.rpsRatio = summary(L.map((r) => r.tools[t]?.rpsRatio));
      a.p99Ms = summary(L.map((r) => r.tools[t]?.p99Ms));
      a.p99Ratio = summary(L.map((r) => r.tools[t]?.p99Ratio));
      a.cpuUsPerReq = summary(L.map((r) => r.tools[t]?.cpuUsPerReq));
      a.cpuPerReqRatio = summary(L.map((r) => r.tools[t]?.cpuPerReqRatio));
      a.errors = L.reduce((s, r) => s + (r.tools[t]?.errors || 0), 0);
      a.blockReportsUnderLoad = results.load.groups.reduce((s, g) => s + (g[t]?.blockReports || 0), 0);
    }
    if (results.rss) {
      const G = results.rss;
      a.rssMB = summary(G.map((g) => g[t]?.rssMB));
      a.rssDeltaMB = summary(G.map((g) => g[t]?.rssMB - g.none?.rssMB));
      a.anonMB = summary(G.map((g) => g[t]?.anonMB));
      a.anonDeltaMB = summary(G.map((g) => g[t]?.anonMB - g.none?.anonMB));
    }
    if (results.detect) {
      const first = results.detect.map((r) => r[t]?.reports?.[0]);
      a.detectReported = first.filter(Boolean).length + '/' + first.length;
      a.detectFiredAfterThresholdMs = summary(first.map((x) => x?.firedAfterThresholdMs ?? null));
      a.detectCapturedInPhaseMs = summary(first.map((x) => x?.capturedInPhaseMs ?? null));
      a.detectNamesBurnCpu = first.filter((x) => x?.namesBurnCpu).length + '/' + first.length;
      a.detectNamesScheduler = first.filter((x) => x?.namesScheduler).length + '/' + first.length;
      a.detectCaptureDelayMs = summary(first.map((x) => x?.extra?.captureDelayMs ?? null));
      a.detectReportedDurationMs = summary(first.map((x) => x?.extra?.durationMs ?? x?.extra?.reportedMs ?? null));
      a.detectExtraReports = results.detect.reduce((s, r) => s + Math.max(0, (r[t]?.reports?.length || 0) - 1), 0);
      a.detectCulprit = first.map((x) => x?.extra?.culprit?.functionName ?? null);
      if (t === 'sentry-native') {
        a.detectSentryDetectedAfterThresholdMs = summary(first.map((x) => x?.extra?.detectedAtAfterThresholdMs ?? null));
      }
    }
  }
  return agg;
}

// ---------------------------------------------------------------------------------------------
// markdown
const f = (x, d = 2) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const ms = (s, d = 2) => (s && s.median != null ? `${f(s.median, d)} (${f(s.min, d)}…${f(s.max, d)})` : '–');
function markdown(results) {
  const { agg, tools, machine: m } = results;
  const L = [];
  L.push(`Machine: ${m.nproc} × ${m.cpuModel}, ${m.totalMemMB} MB RAM, ${m.platform}; Node ${m.node} (V8 ${m.v8}); commit ${m.commit}.`);
  L.push(`Load average: ${results.loadavgStart.join(' / ')} at start, ${results.loadavgEnd.join(' / ')} at end (a shared 2-core VM: teammates build and test on it; hence the interleaved design and the A/A control row, whose distance from 1.000 is the resolution of the HTTP figures in this run).`);
  L.push(`Run: HTTP load in ${results.load ? results.load.cycles.length : 0} cycles (of ${results.config.loadCycles} planned, ${LOAD_BUDGET_S} s budget) over ${results.config.loadGroups} sets of freshly started servers (all tools' servers up at once); in each cycle every tool gets an ABBA block of ≈${results.config.sliceS} s autocannon slices (no tool, tool, tool, no tool; ${results.config.connections} connections, loopback; a fixed request count per server, sized from its warm-up rate; throughput timed from first to last response), tools in an order rotated every cycle (after ${results.config.warmup} s warm-up each); a tool's ratio is its two slices against the two "no tool" slices of its block. RSS: ${results.config.rounds} rounds of freshly started servers, each sent ${RSS_REQUESTS} requests, VmRSS and RssAnon read from /proc 0.5 s later. Idle: ${results.config.rounds} rounds, ${IDLE_WINDOW_MS / 1000} s windows after ${IDLE_SETTLE_MS / 1000} s settle, CPU from /proc/<pid>/task/*/schedstat. Detection: ${results.config.rounds} runs per tool. Threshold ${THRESHOLD_MS} ms for every tool. Total ${f(results.elapsedS, 0)} s. Cells: median (min…max).`);
  L.push('');
  L.push('| tool | throughput ratio | p99 latency ratio | server CPU per request ratio | p99 ms | idle CPU ms / 3 s: fresh (Δ) · after traffic (Δ) | idle context switches / 3 s: fresh · after traffic | RSS after load MB (Δ) · of which private/anon (Δ) | threads |');
  L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const t of tools) {
    const a = agg[t];
    const sg = (x, d) => (x == null ? '–' : `${x >= 0 ? '+' : ''}${f(x, d)}`);
    L.push(`| ${TOOLS[t].label} | ${ms(a.rpsRatio, 3)} | ${ms(a.p99Ratio, 3)} | ${ms(a.cpuPerReqRatio, 3)} | ${ms(a.p99Ms, 2)} | ${f(a.idleCpuMs?.median)} (${sg(a.idleCpuDeltaMs?.median, 2)}) · ${f(a.idleAfterTrafficCpuMs?.median)} (${sg(a.idleAfterTrafficCpuDeltaMs?.median, 2)}) | ${f(a.idleCtxSwitches?.median, 0)} · ${f(a.idleAfterTrafficCtxSwitches?.median, 0)} | ${f(a.rssMB?.median, 1)} (${sg(a.rssDeltaMB?.median, 1)}) · ${f(a.anonMB?.median, 1)} (${sg(a.anonDeltaMB?.median, 1)}) | ${a.threads ?? '–'} |`);
  }
  for (const [t, why] of Object.entries(results.unavailable)) L.push(`| ${TOOLS[t].label} | ${why} | | | | | | | |`);
  const nt = (t) => agg[t]?.idleAfterTrafficNewestThreadCpuMs?.median;
  if (agg['bb-watch']) {
    L.push('');
    L.push(`Idle CPU of blockbuster's own watchdog thread (the newest thread of the process): ${f(agg['bb-watch'].idleNewestThreadCpuMs?.median, 3)} ms fresh, ${f(nt('bb-watch'), 3)} ms after traffic, per 3 s. The rest of the "after traffic" figure is V8's memory reducer (\`Mark-Compact (reduce)\` GCs on the main and V8 worker threads, seen with --trace-gc), which runs a few seconds after the process goes idle because loading blockbuster grows the heap; it is a one-off, not a periodic wake-up; main thread ${f(agg['bb-watch'].idleAfterTrafficMainThreadCpuMs?.median, 2)} ms.`);
  }
  L.push('');
  L.push(`Detection of a 200 ms CPU-bound block in \`burnCpu\` (threshold crossing = block start + ${THRESHOLD_MS} ms):`);
  L.push('');
  L.push('| tool | reported | report fires after crossing, ms | stack captured in block ms (crossing = 20) | tool-reported capture delay ms | names `burnCpu` | notes |');
  L.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const t of tools) {
    const a = agg[t];
    if (t === 'none') continue;
    let note = '';
    if (t === 'eld-histogram') note = 'histogram only: no per-block report, no stack';
    if (t === 'blocked') note = 'duration only, no stack; fires on the next interval tick after the block';
    if (t === 'blocked-at') note = `stack of where the callback was scheduled (names \`scheduleBlock\` ${a.detectNamesScheduler}), not where it blocked`;
    if (t === 'sentry-native') note = `worker saw age > threshold at ${ms(a.detectSentryDetectedAfterThresholdMs, 1)} ms; stack available in the worker, not on the main thread`;
    if (t.startsWith('bb-')) note = `culprit: ${[...new Set(a.detectCulprit)].join(', ')}; reported duration ${ms(a.detectReportedDurationMs, 1)} ms`;
    L.push(`| ${TOOLS[t].label} | ${a.detectReported} | ${ms(a.detectFiredAfterThresholdMs, 1)} | ${a.detectCapturedInPhaseMs?.median != null ? ms(a.detectCapturedInPhaseMs, 0) : '–'} | ${ms(a.detectCaptureDelayMs, 3)} | ${a.detectNamesBurnCpu} | ${note} |`);
  }
  if (results.loopIteration && !results.loopIteration.error) {
    const li = results.loopIteration;
    L.push('');
    L.push(`watch() per event-loop iteration (a chain of ${li.iterations} setImmediate callbacks, ${li.repeats} alternated batches without and with watch()): ${f(li.withoutNs, 0)} ns without, ${f(li.withNs, 0)} ns with, Δ ${f(li.deltaNs, 0)} ns (${f(li.deltaSpreadNs[0], 0)}…${f(li.deltaSpreadNs[1], 0)}): the cost of the watchdog's uv_prepare/uv_check handles on the main thread.`);
  }
  if (results.rules) {
    L.push('');
    L.push(rulesMarkdown(results.rules));
  }
  if (results.targets) {
    L.push('');
    L.push('Targets for blockbuster:');
    L.push('');
    for (const x of results.targets) L.push(`- ${x.met === true ? '✅ met' : x.met === false ? '❌ missed' : '⚠️ not resolved: the A/A control is off by more than 1 % in this run'} — ${x.what}: ${x.value}`);
  }
  return L.join('\n') + '\n';
}
function rulesMarkdown(r) {
  if (r.error) return `Rule set micro-benchmark: not run (${r.error}).`;
  const L = [];
  L.push(`Rule set (BlockBuster activated with every default rule): ns per call (median of ${r.repeats} alternated batches of ${r.iterations} calls; Δ = median of per-pair wrapped − unwrapped, with its min…max):`);
  L.push('');
  L.push('| case | unwrapped ns | wrapped ns | Δ ns | target |');
  L.push('| --- | --- | --- | --- | --- |');
  for (const c of r.cases) L.push(`| ${c.label} | ${f(c.unwrappedNs, 0)} | ${f(c.wrappedNs, 0)} | ${f(c.deltaNs, 0)} (${f(c.deltaSpreadNs[0], 0)}…${f(c.deltaSpreadNs[1], 0)}) | ${c.target} |`);
  return L.join('\n');
}

function targets(results) {
  const a = results.agg;
  const out = [];
  for (const t of ['bb-watch', 'bb-watch+rules']) {
    const x = a[t];
    if (!x) {
      out.push({ tool: t, what: `${TOOLS[t].label}`, met: null, value: results.unavailable[t] || 'not run' });
      continue;
    }
    if (x.rpsRatio) {
      const aa = a['none-aa']?.rpsRatio?.median;
      // A verdict only when the A/A control shows this run can resolve 1 %.
      const resolved = aa != null && Math.abs(aa - 1) <= 0.01;
      out.push({ tool: t, what: `${TOOLS[t].label} throughput ratio ≥ 0.99`, met: resolved ? x.rpsRatio.median >= 0.99 : null, value: `${f(x.rpsRatio.median, 3)} (A/A control, no tool against no tool: ${f(aa, 3)}; CPU per request ratio ${f(x.cpuPerReqRatio?.median, 3)}, A/A ${f(a['none-aa']?.cpuPerReqRatio?.median, 3)})` });
    }
    if (x.p99Ratio) {
      const aa = a['none-aa']?.p99Ratio?.median;
      const resolved = aa != null && Math.abs(aa - 1) <= 0.01;
      out.push({ tool: t, what: `${TOOLS[t].label} p99 latency ratio ≤ 1.01`, met: resolved ? x.p99Ratio.median <= 1.01 : null, value: `${f(x.p99Ratio.median, 3)} (A/A control: ${f(aa, 3)})` });
    }
    if (x.idleCpuDeltaMs) {
      out.push({ tool: t, what: `${TOOLS[t].label} idle CPU within 1 ms of no tool over 3 s (server never sent a request)`, met: Math.abs(x.idleCpuDeltaMs.median) <= 1, value: `${f(x.idleCpuDeltaMs.median, 3)} ms; ${f(x.idleCtxSwitches.median, 0)} context switches vs ${f(a.none?.idleCtxSwitches?.median, 0)} for no tool` });
      out.push({ tool: t, what: `${TOOLS[t].label} idle CPU within 1 ms of no tool over 3 s (1 s after 20 requests)`, met: Math.abs(x.idleAfterTrafficCpuDeltaMs?.median) <= 1, value: `${f(x.idleAfterTrafficCpuDeltaMs?.median, 3)} ms, of which the watchdog thread ${f(x.idleAfterTrafficNewestThreadCpuMs?.median, 3)} ms; ${f(x.idleAfterTrafficCtxSwitches?.median, 0)} context switches vs ${f(a.none?.idleAfterTrafficCtxSwitches?.median, 0)}${a['bb-watch-direct'] ? `; watch() loaded from dist/watch.js without the rule set: ${f(a['bb-watch-direct'].idleAfterTrafficCpuDeltaMs?.median, 3)} ms` : ''}` });
    }
    if (x.rssDeltaMB) out.push({ tool: t, what: `${TOOLS[t].label} RSS after load ≤ 1 MB above no tool`, met: x.rssDeltaMB.median <= 1, value: `${f(x.rssDeltaMB.median, 2)} MB (private/anon part ${f(x.anonDeltaMB.median, 2)} MB; A/A control: ${f(a['none-aa']?.rssDeltaMB?.median, 2)} MB)` });
    if (x.detectFiredAfterThresholdMs && t === 'bb-watch') {
      const ph = x.detectCapturedInPhaseMs?.median;
      out.push({ tool: t, what: `${TOOLS[t].label} stack captured ≤ 1 ms after the threshold crossing (read off the stack)`, met: ph == null ? false : ph - THRESHOLD_MS <= 1, value: ph == null ? 'no stack' : `captured in block ms ${ph} ⇒ ${ph - THRESHOLD_MS}…${ph - THRESHOLD_MS + 1} ms after crossing` });
      out.push({ tool: t, what: `${TOOLS[t].label} capture delay (as reported, captureDelayMs) ≤ 1 ms`, met: x.detectCaptureDelayMs?.median == null ? null : x.detectCaptureDelayMs.median <= 1, value: `${f(x.detectCaptureDelayMs?.median, 3)} ms` });
      out.push({ tool: t, what: `${TOOLS[t].label} report names the blocking function`, met: x.detectNamesBurnCpu.startsWith(String(results.config.rounds)), value: x.detectNamesBurnCpu });
    }
  }
  if (results.rules && results.rules.cases) {
    for (const c of results.rules.cases) if (c.targetNs) out.push({ tool: 'rules', what: `rule set, ${c.label}: overhead ≤ ${c.targetNs} ns`, met: c.deltaNs <= c.targetNs, value: `${f(c.deltaNs, 0)} ns` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const wanted = (process.env.BENCH_TOOLS || Object.keys(TOOLS).filter((t) => !TOOLS[t].hidden).join(',')).split(',');
  const unavailable = {};
  const tools = [];
  for (const t of Object.keys(TOOLS)) {
    if (!wanted.includes(t) && t !== 'none') continue;
    const why = unavailableReason(t);
    if (why) unavailable[t] = why;
    else tools.push(t);
  }
  const results = {
    machine: machine(),
    config: { rounds: ROUNDS, loadCycles: LOAD_CYCLES, loadGroups: LOAD_GROUPS, sliceS: SLICE_S, warmup: WARMUP, connections: CONNECTIONS, thresholdMs: THRESHOLD_MS, idleSettleMs: IDLE_SETTLE_MS, idleWindowMs: IDLE_WINDOW_MS },
    startedAt: new Date().toISOString(),
    loadavgStart: loadavg(),
    tools,
    unavailable,
  };
  log('tools:', tools.join(', '), Object.keys(unavailable).length ? `(unavailable: ${JSON.stringify(unavailable)})` : '');
  if (!SKIP.has('idle')) results.idle = await idlePhase(tools);
  if (!SKIP.has('load')) results.load = await loadPhase(tools);
  if (!SKIP.has('rss')) results.rss = await rssPhase(tools);
  if (!SKIP.has('detect')) results.detect = await detectPhase(tools);
  if (!SKIP.has('rules')) {
    try {
      results.rules = await runNode('rules.js', []);
    } catch (e) {
      results.rules = { error: String(e.message).split('\n')[0] };
    }
    log('rules:', JSON.stringify(results.rules.cases || results.rules.error));
  }
  if (!SKIP.has('iter')) {
    try {
      results.loopIteration = await runNode('loop-iter.js', []);
    } catch (e) {
      results.loopIteration = { error: String(e.message).split('\n')[0] };
    }
    log('loop iteration:', JSON.stringify(results.loopIteration));
  }
  results.loadavgEnd = loadavg();
  results.elapsedS = (Date.now() - T0) / 1000;
  results.agg = aggregate(results);
  results.targets = targets(results);
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results);
  fs.writeFileSync(path.join(OUT_DIR, 'results.md'), '# blockbuster benchmark results\n\n' + md);
  process.stdout.write(md);
  log(`done in ${results.elapsedS.toFixed(0)} s; wrote ${path.join(OUT_DIR, 'results.json')} and results.md`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

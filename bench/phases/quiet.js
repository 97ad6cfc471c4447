'use strict';
// Idle cost against "no tool" (issue 14 §8), in the system Node: fresh servers of each tool (and a
// second "no tool" as the A/A control) started side by side under --trace-gc and left idle: the
// 15 s from the moment watch() returned (GC events, wake-ups), then 15 s more (the steady state).
// Read from outside, per thread (/proc/<pid>/task): CPU and wake-ups of the main thread, the
// watchdog thread and the rest (V8's platform workers, libuv). A 1 s setInterval process is the
// reference for what one bare wake-up costs on this machine. Then each server answers its first
// SERVED_REQUESTS requests and sits 12 s more: V8 runs some GCs once in a process's life (the memory
// reducer's pair), and the GC events of the whole run show whether watch() adds any or brings them forward.
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { log, sleep, procSnapshot, stopChild } = require('../proc');
const { rotate } = require('../stats');

const WINDOW_MS = 15_000;
const SERVED_REQUESTS = 100;
const SERVED_WAIT_MS = 12_000;
const SERVER = path.join(__dirname, '..', 'child', 'server.js');

function startTraced(tool) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--trace-gc', SERVER, tool], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`server ${tool} exited early (${code})`)));
    child.once('message', (m) =>
      resolve({
        tool,
        child,
        pid: child.pid,
        port: m.port,
        gcLines: () => out.split('\n').filter((l) => /: (Scavenge|Mark-Compact|Minor Mark)/.test(l)),
      }),
    );
  });
}

function startReference() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', "setInterval(() => {}, 1000); process.send('ready')"], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('message', () => resolve({ tool: 'reference', child, pid: child.pid }));
  });
}

/** CPU ms and wake-ups (voluntary context switches) per thread group between two snapshots. */
function byThread(pid, a, b) {
  const out = { main: { ms: 0, wakes: 0 }, watchdog: { ms: 0, wakes: 0 }, others: { ms: 0, wakes: 0 } };
  for (const [tid, t] of Object.entries(b.threads)) {
    const group = Number(tid) === pid ? 'main' : t.name === 'blockbuster' ? 'watchdog' : 'others';
    const p = a.threads[tid] ?? { cpuNs: 0, vol: 0 };
    out[group].ms += (t.cpuNs - p.cpuNs) / 1e6;
    out[group].wakes += t.vol - p.vol;
  }
  return out;
}

const gcName = (line) => /ms: ([A-Za-z -]+(\(reduce\))?)/.exec(line)?.[1].trim() ?? line;

/** procSnapshot plus voluntary switches only (a sleep that ended is a wake-up). */
function snapshot(pid) {
  const s = procSnapshot(pid);
  for (const tid of Object.keys(s.threads)) {
    try {
      s.threads[tid].vol = Number(
        /^voluntary_ctxt_switches:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))[1],
      );
    } catch {
      s.threads[tid].vol = 0;
    }
  }
  return s;
}

/** `n` requests one after another, as a first client would send them. */
async function serve(port, n) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/quiet', agent: false }, (res) => res.resume().on('end', resolve))
        .on('error', reject);
    });
  }
}

async function quietPhase(tools, { rounds }) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const up = [];
    for (const t of rotate(tools, r)) up.push(await startTraced(t));
    up.push(await startReference());
    const round = Object.fromEntries(up.map((s) => [s.tool, {}]));
    for (const win of ['afterWatch', 'steady']) {
      const before = up.map((s) => ({ snap: snapshot(s.pid), gc: s.gcLines?.().length ?? 0 }));
      const t0 = process.hrtime.bigint();
      await sleep(WINDOW_MS);
      const k = WINDOW_MS / (Number(process.hrtime.bigint() - t0) / 1e6);
      up.forEach((s, i) => {
        const threads = byThread(s.pid, before[i].snap, snapshot(s.pid));
        for (const g of Object.values(threads)) {
          g.ms *= k;
          g.wakes *= k;
        }
        const gcEvents = s.gcLines ? s.gcLines().slice(before[i].gc).map(gcName) : [];
        round[s.tool][win] = { threads, gcEvents };
      });
    }
    const servers = up.filter((s) => s.gcLines);
    const before = servers.map((s) => s.gcLines().length);
    await Promise.all(servers.map((s) => serve(s.port, SERVED_REQUESTS)));
    await sleep(SERVED_WAIT_MS);
    servers.forEach((s, i) => {
      round[s.tool].served = { gcEvents: s.gcLines().slice(before[i]).map(gcName), all: s.gcLines().map(gcName) };
    });
    await Promise.all(up.map((s) => stopChild(s.child)));
    out.push(round);
    const total = (w) => w.threads.main.ms + w.threads.watchdog.ms + w.threads.others.ms;
    log(
      `quiet round ${r + 1}/${rounds}:`,
      Object.entries(round)
        .map(
          ([t, v]) =>
            `${t}=${total(v.afterWatch).toFixed(2)}ms/${v.afterWatch.gcEvents.length}gc→${total(v.steady).toFixed(2)}ms`,
        )
        .join(' '),
    );
  }
  return { windowMs: WINDOW_MS, servedRequests: SERVED_REQUESTS, servedWaitMs: SERVED_WAIT_MS, rounds: out };
}

module.exports = { quietPhase, WINDOW_MS };

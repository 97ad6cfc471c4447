'use strict';
// The machine and its processes: /proc readers (CPU time per thread, RSS), child processes run under
// a given Node binary, and the log line every phase writes.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const T0 = Date.now();
const log = (...a) => console.error(`[bench ${String(Math.round((Date.now() - T0) / 1000)).padStart(3)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const elapsedS = () => (Date.now() - T0) / 1000;

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    nproc: os.availableParallelism(),
    cpuModel: (/^model name\s*:\s*(.*)$/m.exec(cpuinfo) || [])[1] || os.cpus()[0]?.model,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    commit: git(['rev-parse', '--short', 'HEAD']),
  };
}

/** CPU ns and context switches of every thread of a process, keyed by tid (threads that exit are skipped). */
function procSnapshot(pid) {
  const threads = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      threads[tid] = {
        cpuNs: Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]),
        ctx: Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(status)[1]) + Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)[1]),
        name: /^Name:\s*(.*)$/m.exec(status)[1],
      };
    } catch {}
  }
  const all = Object.values(threads);
  return { threads, cpuNs: all.reduce((s, t) => s + t.cpuNs, 0), ctx: all.reduce((s, t) => s + t.ctx, 0) };
}

/** CPU ms of the thread named `name` between two snapshots (0 when it has none). */
function threadCpuMs(a, b, name) {
  let ns = 0;
  for (const [tid, t] of Object.entries(b.threads)) if (t.name === name) ns += t.cpuNs - (a.threads[tid]?.cpuNs ?? 0);
  return ns / 1e6;
}

const statusKB = (pid, field) => Number(new RegExp(`${field}:\\s*(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/**
 * Runs a bench script in `node` (a Node line's binary), after `launcher` (a command prefix such as
 * taskset) when given; resolves with the last stdout line, parsed.
 */
function runNode(node, script, args = [], { timeoutMs = 120_000, launcher = [] } = {}) {
  return new Promise((resolve, reject) => {
    const argv = [...launcher, node, path.join(__dirname, script), ...args.map(String)];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        const res = JSON.parse(out.trim().split('\n').pop());
        res.stderrLines = err.split('\n').filter(Boolean).slice(0, 5);
        resolve(res);
      } catch {
        reject(new Error(`${path.basename(node)} ${script} ${args.join(' ')} exited ${code ?? signal}: ${(out + err).trim().slice(0, 400)}`));
      }
    });
  });
}

/**
 * Starts bench/child/server.js with one tool; resolves once it listens. `cpu`: the CPU the server
 * (every thread of it, the watchdog's too) is pinned to, through taskset (same pid: it execs node).
 */
function startServer(tool, node = process.execPath, cpu = undefined) {
  return new Promise((resolve, reject) => {
    const argv = [node, path.join(__dirname, 'child', 'server.js'), tool];
    const pinned = cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
    const child = spawn(pinned[0], pinned.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/**
 * Pins every thread of this process to `cpus` ('0', '0-1'); false where taskset is missing. The
 * load generator (autocannon runs here) then never takes the servers' CPU, nor they its.
 */
function pinSelf(cpus) {
  try {
    require('node:child_process').execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

module.exports = { pinSelf, log, sleep, loadavg, elapsedS, machine, procSnapshot, threadCpuMs, statusKB, runNode, startServer, ask, stopChild };

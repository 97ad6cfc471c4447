'use strict';
// Child process: what multi-sampling costs during one long block. A 1 s CPU-bound loop runs without
// watch(), with watch({ thresholdMs: 20 }) (50 samples), and without again; the loop's iteration
// count per ms of the main thread's own CPU time gives the throughput ratio (per CPU ms, so other
// processes taking the core away do not count; per wall ms too), the two runs without give the A/A
// resolution, and the watchdog thread's CPU (schedstat of the thread named `blockbuster`) is read
// around the block.
const fs = require('node:fs');
const { watch } = require('../..');

const BLOCK_MS = Number(process.env.BENCH_LONG_BLOCK_MS || 1000);
const TRIPLETS = Number(process.env.BENCH_LONG_BLOCK_TRIPLETS || 5);

const mainCpuNs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

/** Iterations of integer work for `ms` of wall time: { perCpuMs, perWallMs }. */
function spin(ms) {
  let x = 0;
  let iterations = 0;
  const cpu0 = mainCpuNs();
  const t0 = performance.now();
  const end = t0 + ms;
  let t = t0;
  while (t < end) {
    for (let j = 0; j < 200; j++) x = (x * 31 + j) | 0;
    iterations++;
    t = performance.now();
  }
  const cpuMs = (mainCpuNs() - cpu0) / 1e6;
  if (x === 0.5) iterations = -1; // x is used, so the work is not optimised away
  return { perCpuMs: iterations / cpuMs, perWallMs: iterations / (t - t0) };
}

function watchdogCpuNs() {
  let ns = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'blockbuster') {
        ns += Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      }
    } catch {}
  }
  return ns;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  for (let i = 0; i < 3; i++) spin(200); // JIT warm-up, on-stack replacement included
  const runs = [];
  for (let i = 0; i < TRIPLETS; i++) {
    await pause(50);
    const before = spin(BLOCK_MS);
    await pause(50);
    const reports = [];
    const w = watch({ thresholdMs: 20, liveReportAfterMs: false, onBlock: (e) => reports.push(e.toJSON()) });
    await pause(50);
    const cpu0 = watchdogCpuNs();
    const watched = spin(BLOCK_MS);
    const cpu1 = watchdogCpuNs();
    await pause(50);
    w.stop();
    await pause(50);
    const after = spin(BLOCK_MS);
    const r = reports.find((x) => x.durationMs >= BLOCK_MS / 2);
    runs.push({
      ratioPerCpu: watched.perCpuMs / ((before.perCpuMs + after.perCpuMs) / 2),
      aaRatioPerCpu: after.perCpuMs / before.perCpuMs,
      ratioPerWall: watched.perWallMs / ((before.perWallMs + after.perWallMs) / 2),
      aaRatioPerWall: after.perWallMs / before.perWallMs,
      watchdogCpuMs: (cpu1 - cpu0) / 1e6,
      samples: r?.samples?.total ?? null,
      captureDelayMs: r?.captureDelayMs ?? null,
    });
  }
  process.stdout.write(JSON.stringify({ blockMs: BLOCK_MS, thresholdMs: 20, runs }) + '\n');
})();

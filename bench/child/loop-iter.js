'use strict';
// Child process: watch()'s cost per event-loop iteration. A chain of setImmediate callbacks is timed
// in triplets (without, with, without watch()) in the same process: Δ = with − mean of the two
// without, so linear drift of the machine's load cancels; the two without give the A/A delta.
const path = require('node:path');

const N = Number(process.env.BENCH_ITER_N || 10000);
const REPEATS = Number(process.env.BENCH_ITER_REPEATS || 41);

function batch(n) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let i = 0;
    const step = () => {
      if (++i < n) setImmediate(step);
      else resolve(Number(process.hrtime.bigint() - t0) / n);
    };
    setImmediate(step);
  });
}
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

async function main() {
  const { watch } = require(path.join(__dirname, '..', '..'));
  await batch(N); // warm-up
  const off = [];
  const on = [];
  const d = [];
  const aa = [];
  for (let r = 0; r < REPEATS; r++) {
    const a1 = await batch(N);
    const w = watch({ thresholdMs: 20, onBlock() {} });
    const b = await batch(N);
    w.stop();
    const a2 = await batch(N);
    off.push(a1, a2);
    on.push(b);
    d.push(b - (a1 + a2) / 2);
    aa.push(a2 - a1);
  }
  return { iterations: N, repeats: REPEATS, withoutNs: median(off), withNs: median(on), deltaNs: median(d), deltaSpreadNs: [Math.min(...d), Math.max(...d)], aaDeltaNs: median(aa) };
}

main().then((out) => process.stdout.write(JSON.stringify(out) + '\n'));

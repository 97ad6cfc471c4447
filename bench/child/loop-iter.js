'use strict';
// Per-loop-iteration cost of watch() (child process; prints one JSON line). A chain of setImmediate
// callbacks makes every loop iteration run the prepare and check phases, where the watchdog's
// uv_prepare / uv_check handles live; the time per iteration is compared with and without watch()
// in alternated batches, in the same process.
const path = require('node:path');

const N = Number(process.env.BENCH_ITER_N || 20000);
const REPEATS = Number(process.env.BENCH_ITER_REPEATS || 15);

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

async function main() {
  let watch;
  try {
    ({ watch } = require(path.join(__dirname, '..', '..', 'dist')));
  } catch (e) {
    return { error: e.message };
  }
  if (typeof watch !== 'function') return { error: 'watch is not exported by dist/ yet' };
  await batch(N); // warm-up
  const off = [];
  const on = [];
  const d = [];
  for (let r = 0; r < REPEATS; r++) {
    const a = await batch(N);
    const w = watch({ thresholdMs: 20, onBlock() {} });
    const b = await batch(N);
    w.stop();
    off.push(a);
    on.push(b);
    d.push(b - a);
  }
  const med = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
  return { iterations: N, repeats: REPEATS, withoutNs: med(off), withNs: med(on), deltaNs: med(d), deltaSpreadNs: [Math.min(...d), Math.max(...d)] };
}

main().then((out) => process.stdout.write(JSON.stringify(out) + '\n'));

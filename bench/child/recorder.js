'use strict';
// Child process: the call-site recorder's cost per call of a wrapped API, watching vs not watching.
// Batches of ~5 ms (below the threshold, so no sample lands in them) run in triplets (not watching,
// watching, not watching) in the same process: Δ = watching − mean of the two others, so linear
// drift cancels; the median Δ is the cost, the two unwatched batches give the A/A delta.
const fs = require('node:fs');
const { watch } = require('../..');

const PAIRS = Number(process.env.BENCH_RECORDER_PAIRS || 41);
const SMALL = '{"a":1}';
const CASES = [
  // Property reads at each call, so the call goes through the wrapper while it is installed.
  { api: 'JSON.parse', arg: "'{\"a\":1}'", call: () => JSON.parse(SMALL), n: 20000 },
  { api: 'fs.statSync', arg: 'this file', call: () => fs.statSync(__filename), n: 2000 },
];

function batch(call, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) call();
  return Number(process.hrtime.bigint() - t0) / n;
}
const nextTurn = () => new Promise((r) => setImmediate(r));
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

async function measure({ call, n }) {
  const original = JSON.parse;
  const off = [];
  const on = [];
  let wrapped = false;
  batch(call, n); // JIT warm-up, both shapes
  const aa = [];
  for (let i = 0; i < PAIRS; i++) {
    const a1 = batch(call, n);
    await nextTurn();
    const w = watch({ thresholdMs: 20, onBlock() {} });
    wrapped ||= JSON.parse !== original;
    await nextTurn();
    const b = batch(call, n);
    w.stop();
    await nextTurn();
    const a2 = batch(call, n);
    off.push((a1 + a2) / 2);
    on.push(b);
    aa.push(a2 - a1);
    await nextTurn();
  }
  const d = on.map((x, i) => x - off[i]);
  return { notWatchingNs: median(off), watchingNs: median(on), deltaNs: median(d), deltaSpreadNs: [Math.min(...d), Math.max(...d)], aaDeltaNs: median(aa), wrapped };
}

(async () => {
  await nextTurn();
  const out = { pairs: PAIRS, cases: [] };
  for (const c of CASES) out.cases.push({ api: c.api, arg: c.arg, callsPerBatch: c.n, ...(await measure(c)) });
  process.stdout.write(JSON.stringify(out) + '\n');
})();

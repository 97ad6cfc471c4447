'use strict';
// Child process: the per-call cost of the one wrapping layer (lib/wrap.ts), side by side with the
// unwrapped call: not watching (unwrapped), watching (depth and call-site hook), the rule set alone
// (its check hook; the call allowed by a canBlockIn entry, so it costs a short stack walk), and both
// detectors on one wrapper. Batches of ~5 ms (below the threshold, so no sample lands in them) run
// in rounds of every variant plus a second unwrapped batch (A/A); each Δ is the median over rounds
// of the variant minus the mean of the round's two unwrapped batches, so linear drift cancels.
const fs = require('node:fs');
const { watch, BlockBuster } = require('../..');

const PAIRS = Number(process.env.BENCH_RECORDER_PAIRS || 41);
const SMALL = '{"a":1}';
const ORIGINAL_PARSE = JSON.parse;
const CASES = [
  // Property reads at each call, so the call goes through the wrapper while it is installed.
  { api: 'JSON.parse', arg: "'{\"a\":1}'", call: () => JSON.parse(SMALL), n: 20000, rule: false },
  { api: 'fs.statSync', arg: 'this file', call: () => fs.statSync(__filename), n: 2000, rule: true },
];

function batch(call, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) call();
  return Number(process.hrtime.bigint() - t0) / n;
}
const nextTurn = () => new Promise((r) => setImmediate(r));
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

function rules() {
  const set = new BlockBuster();
  set.functions['fs.statSync'].canBlockIn('bench/child/recorder.js', '*');
  return set.activate();
}

// The rule set's check walks the stack (~tens of µs): fewer calls keep its batches near 5 ms too.
const RULE_BATCH_DIVISOR = 20;
let wrapped = false;

async function variant(call, n, { watching, checking }) {
  const w = watching ? watch({ thresholdMs: 20, onBlock() {} }) : undefined;
  const r = checking ? rules() : undefined;
  await nextTurn();
  wrapped ||= Boolean(watching) && JSON.parse !== ORIGINAL_PARSE;
  const ns = batch(call, checking ? Math.ceil(n / RULE_BATCH_DIVISOR) : n);
  r?.deactivate();
  w?.stop();
  await nextTurn();
  return ns;
}

async function measure({ call, n, rule }) {
  wrapped = false;
  const names = ['watching', ...(rule ? ['rules', 'both'] : [])];
  const deltas = Object.fromEntries(names.map((name) => [name, []]));
  const times = Object.fromEntries(['off', ...names].map((name) => [name, []]));
  const aa = [];
  batch(call, n); // JIT warm-up, both shapes
  for (let i = 0; i < PAIRS; i++) {
    const a1 = await variant(call, n, {});
    const round = {};
    round.watching = await variant(call, n, { watching: true });
    if (rule) {
      round.rules = await variant(call, n, { checking: true });
      round.both = await variant(call, n, { watching: true, checking: true });
    }
    const a2 = await variant(call, n, {});
    const off = (a1 + a2) / 2;
    times.off.push(off);
    aa.push(a2 - a1);
    for (const name of names) {
      times[name].push(round[name]);
      deltas[name].push(round[name] - off);
    }
  }
  const d = deltas.watching;
  const out = {
    notWatchingNs: median(times.off),
    watchingNs: median(times.watching),
    deltaNs: median(d),
    deltaSpreadNs: [Math.min(...d), Math.max(...d)],
    aaDeltaNs: median(aa),
    wrapped,
  };
  if (rule) {
    out.rulesNs = median(times.rules);
    out.bothNs = median(times.both);
    out.rulesDeltaNs = median(deltas.rules);
    out.bothDeltaNs = median(deltas.both);
    // What watching adds on top of the rule set: one wrapper, so about the watching Δ alone.
    out.watchOverRulesNs = median(times.both.map((both, i) => both - times.rules[i]));
  }
  return out;
}

(async () => {
  await nextTurn();
  const out = { pairs: PAIRS, cases: [] };
  for (const c of CASES) out.cases.push({ api: c.api, arg: c.arg, callsPerBatch: c.n, ...(await measure(c)) });
  process.stdout.write(JSON.stringify(out) + '\n');
})();

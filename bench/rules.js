'use strict';
// Rule-set micro-benchmark (child process; prints one JSON line).
// ns per call of a wrapped sync function while it is allowed, against the unwrapped function:
//   (a) the loop is not running yet (synchronous start-up code, this file's top level);
//   (b) the loop is running and the call is allowed by an allow-list entry (canBlockIn), which
//       costs a stack walk on every call.
// Batches of the two variants alternate; the delta is the median of per-pair differences.
const fs = require('node:fs');
const path = require('node:path');
const { loadBlockbuster, activateRules } = require('./tools');

const ITER = Number(process.env.BENCH_RULES_ITER || 20000);
const REPEATS = Number(process.env.BENCH_RULES_REPEATS || 21);
const FN = 'fs.statSync';
const TARGET = __filename;

function median(xs) {
  const a = [...xs].sort((p, q) => p - q);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

function timeBatch(call, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) call();
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Alternates batches of `raw` and `wrapped`; returns medians and the median per-pair delta. */
function compare(raw, wrapped) {
  // warm-up (JIT) for both
  timeBatch(raw, ITER / 4);
  timeBatch(wrapped, ITER / 4);
  const r = [];
  const w = [];
  const d = [];
  for (let i = 0; i < REPEATS; i++) {
    let a, b;
    if (i % 2 === 0) {
      a = timeBatch(raw, ITER);
      b = timeBatch(wrapped, ITER);
    } else {
      b = timeBatch(wrapped, ITER);
      a = timeBatch(raw, ITER);
    }
    r.push(a);
    w.push(b);
    d.push(b - a);
  }
  return { unwrappedNs: median(r), wrappedNs: median(w), deltaNs: median(d), deltaSpreadNs: [Math.min(...d), Math.max(...d)] };
}

function run() {
  const out = { fn: FN, iterations: ITER, repeats: REPEATS, cases: [] };
  let bbMod;
  try {
    bbMod = loadBlockbuster();
  } catch (e) {
    return { error: `cannot load dist/: ${e.message}` };
  }
  if (typeof bbMod.BlockBuster !== 'function') return { error: 'BlockBuster is not exported by dist/ yet' };

  const rawStat = fs.statSync;
  const bb = new bbMod.BlockBuster();
  const deactivate = activateRules(bb);
  if (fs.statSync === rawStat) {
    deactivate();
    return { error: `${FN} is not wrapped after activation` };
  }
  const wrappedStat = fs.statSync;

  // (a) loop not running: we are in the module's synchronous top level.
  const a = compare(
    () => rawStat(TARGET),
    () => wrappedStat(TARGET),
  );
  out.cases.push({ label: '(a) loop not running (start-up)', target: '≤ 100 ns', targetNs: 100, ...a });

  return new Promise((resolve) => {
    // (b) loop running, allowed through the allow list.
    setImmediate(function loopRunning() {
      const rule = bb.functions[FN];
      rule.canBlockIn(path.resolve(__filename), ['allowedCaller']);
      let threwWhenNotAllowed = false;
      try {
        wrappedStat(TARGET);
      } catch {
        threwWhenNotAllowed = true;
      }
      function allowedCaller() {
        return wrappedStat(TARGET);
      }
      const b = compare(
        () => rawStat(TARGET),
        allowedCaller,
      );
      out.cases.push({ label: '(b) loop running, allowed by canBlockIn (stack walk)', target: '≤ 5000 ns', targetNs: 5000, ...b });
      out.sanity = { threwWhenNotAllowedInLoop: threwWhenNotAllowed };
      deactivate();
      resolve(out);
    });
  });
}

Promise.resolve(run())
  .catch((e) => ({ error: String(e && e.stack).split('\n').slice(0, 3).join(' | ') }))
  .then((out) => {
    process.stdout.write(JSON.stringify(out) + '\n');
  });

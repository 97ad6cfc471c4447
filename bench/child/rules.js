'use strict';
// Rule-set micro-benchmark (child process; prints one JSON line).
// ns per call of a wrapped sync function while it is allowed, against the unwrapped function:
//   (a) the loop is not running yet (synchronous start-up code, this file's top level);
//   (b) the loop is running and the call is allowed by an allow-list entry (canBlockIn), which
//       costs a stack walk on every call.
// Batches of the two variants alternate; the delta is the median of per-pair differences.
const fs = require('node:fs');
const path = require('node:path');
const { loadBlockbuster, activateRules } = require('../tools');

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

// Named, non-trivial frames between the allowed function and the wrapped call.
function deepAllowed() {
  return d1();
}
function d1() {
  return d2() ?? null;
}
function d2() {
  return d3() ?? null;
}
function d3() {
  return d4() ?? null;
}
function d4() {
  return d5() ?? null;
}
function d5() {
  return fs.statSync(TARGET) ?? null;
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
  const rawWait = Atomics.wait;
  const bb = new bbMod.BlockBuster();
  const deactivate = activateRules(bb);
  if (fs.statSync === rawStat) {
    deactivate();
    return { error: `${FN} is not wrapped after activation` };
  }
  const wrappedStat = fs.statSync;
  const wrappedWait = Atomics.wait;
  // Atomics.wait on a value that does not match returns 'not-equal' at once: a wrapped function
  // that costs ~nothing itself, so the wrapper's own cost is not lost in a syscall's noise.
  const i32 = new Int32Array(new SharedArrayBuffer(4));

  // (a) loop not running: we are in the module's synchronous top level.
  const a = compare(
    () => rawStat(TARGET),
    () => wrappedStat(TARGET),
  );
  out.cases.push({ fn: FN, label: '(a) fs.statSync, loop not running (start-up)', target: '≤ 100 ns', targetNs: 100, ...a });
  const a2 = compare(
    () => rawWait(i32, 0, 1),
    () => wrappedWait(i32, 0, 1),
  );
  out.cases.push({ fn: 'Atomics.wait', label: "(a) Atomics.wait ('not-equal', no syscall), loop not running (start-up)", target: '≤ 100 ns', targetNs: 100, ...a2 });

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
      out.cases.push({ fn: FN, label: '(b) fs.statSync, loop running, allowed by canBlockIn on the direct caller (first, 4-frame stack walk)', target: '≤ 5000 ns', targetNs: 5000, ...b });
      bb.functions['Atomics.wait'].canBlockIn(path.resolve(__filename), ['allowedWaiter']);
      function allowedWaiter() {
        return wrappedWait(i32, 0, 1);
      }
      const b2 = compare(() => rawWait(i32, 0, 1), allowedWaiter);
      out.cases.push({ fn: 'Atomics.wait', label: "(b) Atomics.wait ('not-equal'), loop running, allowed by canBlockIn on the direct caller", target: '≤ 5000 ns', targetNs: 5000, ...b2 });

      // (c) the allowed frame is 6 calls up: the 4-frame first pass misses it and a second, full
      // capture (up to 100 frames) is needed. No target in the issue; reported for scale.
      rule.canBlockIn(path.resolve(__filename), ['deepAllowed']);
      const c = compare(() => rawStat(TARGET), deepAllowed);
      out.cases.push({ fn: FN, label: '(c) fs.statSync, loop running, allowed frame 6 calls up (second, full stack walk)', target: '–', ...c });
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

'use strict';
// Small statistics for alternated measurements: medians and min…max spreads, never means of noise.
const finite = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));

function median(xs) {
  const a = finite(xs).sort((p, q) => p - q);
  if (a.length === 0) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** { median, min, max, n } of the finite values. */
function summary(xs) {
  const a = finite(xs);
  return { median: median(a), min: a.length ? Math.min(...a) : null, max: a.length ? Math.max(...a) : null, n: a.length };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The list rotated by r, so that every entry runs early and late across rounds. */
function rotate(list, r) {
  const k = r % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

module.exports = { median, summary, percentile, rotate };

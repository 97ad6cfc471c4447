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

/**
 * The median with its distribution-free 95 % confidence interval: the order statistics around the
 * middle rank that the binomial distribution puts 1.96 standard deviations away (n >= 6).
 */
function medianCi(xs) {
  const a = finite(xs).sort((p, q) => p - q);
  const n = a.length;
  if (n < 6) return { median: median(a), low: null, high: null, n };
  const spread = 0.98 * Math.sqrt(n);
  const low = Math.max(0, Math.floor(n / 2 - spread) - 1);
  const high = Math.min(n - 1, Math.ceil(n / 2 + spread) - 1);
  return { median: median(a), low: a[low], high: a[high], n };
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

module.exports = { median, medianCi, summary, percentile, rotate };

/**
 * The arithmetic of the load figures: percentiles, Kendall's tau between two orders, counts per time
 * bin and the busiest window. Pure, so the harness's own numbers can be checked without a run.
 */

/** Nearest-rank percentile (p in 0..100) of `values`; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Kendall's tau-b between `x[i]` and `y[i]`: 1 when the two orders agree on every pair, -1 when they
 * disagree on every pair, about 0 for unrelated orders; ties (in either) count as neither and are
 * corrected for. Knight's O(n log n) algorithm: sort by x (then y), count the swaps a merge sort by y
 * needs (the discordant pairs), and subtract the tied pairs. NaN for fewer than two pairs or when
 * either side is constant.
 */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`kendallTau needs two lists of the same length (${x.length} and ${y.length})`);
  const n = x.length;
  if (n < 2) return NaN;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const pairs = (t: number): number => (t * (t - 1)) / 2;

  // Ties in x (n1), and in x and y together (n3), from runs in the sorted order.
  let n1 = 0;
  let n3 = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && x[idx[j]!] === x[idx[i]!]) j++;
    n1 += pairs(j - i);
    for (let k = i; k < j; ) {
      let m = k + 1;
      while (m < j && y[idx[m]!] === y[idx[k]!]) m++;
      n3 += pairs(m - k);
      k = m;
    }
    i = j;
  }

  // Sort the y values (in x order) by merge sort, counting the exchanges: each is a discordant pair.
  let ys = idx.map((i) => y[i]!);
  let buf = new Array<number>(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let a = lo;
      let b = mid;
      let k = lo;
      while (a < mid && b < hi) {
        if (ys[a]! <= ys[b]!) buf[k++] = ys[a++]!;
        else {
          swaps += mid - a;
          buf[k++] = ys[b++]!;
        }
      }
      while (a < mid) buf[k++] = ys[a++]!;
      while (b < hi) buf[k++] = ys[b++]!;
    }
    [ys, buf] = [buf, ys];
  }

  // Ties in y, from runs in the now sorted y values.
  let n2 = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && ys[j] === ys[i]) j++;
    n2 += pairs(j - i);
    i = j;
  }

  const n0 = pairs(n);
  const denominator = Math.sqrt((n0 - n1) * (n0 - n2));
  if (denominator === 0) return NaN;
  return (n0 - n1 - n2 + n3 - 2 * swaps) / denominator;
}

/** How many of `times` fall in each bin of `binMs` from `start` (inclusive) to `end` (exclusive). */
export function countPerBin(times: readonly number[], start: number, end: number, binMs: number): number[] {
  if (!(binMs > 0)) throw new RangeError(`binMs must be positive, got ${binMs}`);
  const bins = new Array<number>(Math.max(0, Math.ceil((end - start) / binMs))).fill(0);
  for (const t of times) {
    if (t < start || t >= end) continue;
    bins[Math.floor((t - start) / binMs)]!++;
  }
  return bins;
}

/**
 * The most of `times` inside any window of `windowMs` (closed at the start, open at the end) that
 * starts within [from, to), and where that window starts. A sliding window, not fixed bins, so a burst
 * that straddles a bin boundary is not split in two.
 */
export function busiestWindow(times: readonly number[], windowMs: number, from = -Infinity, to = Infinity): { count: number; at: number | null } {
  const sorted = Float64Array.from(times.filter((t) => t >= from && t < to + windowMs)).sort();
  let best = 0;
  let at: number | null = null;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]! >= to) break;
    if (j < i) j = i;
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++;
    if (j - i > best) {
      best = j - i;
      at = sorted[i]!;
    }
  }
  return { count: best, at };
}

/** Mean of `values`; NaN for none. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

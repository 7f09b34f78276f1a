/**
 * Latency percentiles over a sliding time window. Each time bucket holds a histogram over the fixed
 * log-scale bins of `logBins.ts`; a running total of the live buckets is kept alongside, so that
 * recording is O(1) (two increments) and a percentile costs one pass over the bins, whatever the
 * traffic. Memory is fixed: (buckets + 1) * 1152 counters.
 *
 * Percentiles are nearest-rank (the smallest recorded value with at least p% of the samples at or
 * below it) and report the lower bound of the bin they land in: exact for values on a bin bound,
 * otherwise at most 1.6% low.
 */
import { BIN_COUNT, binLowerBound, binOf } from './logBins.js';
import { TimeRing } from './timeRing.js';

export interface LatencyWindowOptions {
  /** Length of the window (ms). */
  windowMs: number;
  /** Time buckets the window is cut into; the window slides by windowMs / buckets. */
  buckets?: number;
  /** Clock in ms; injected so tests move time by hand. */
  now?: () => number;
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export class LatencyWindow extends TimeRing {
  private readonly counts: Uint32Array;
  private readonly total = new Uint32Array(BIN_COUNT);
  private readonly bucketCount: Uint32Array;
  private readonly bucketMax: Float64Array;
  private size = 0;
  private readonly now: () => number;

  constructor(opts: LatencyWindowOptions) {
    super(opts.windowMs, opts.buckets ?? 10);
    this.now = opts.now ?? Date.now;
    this.counts = new Uint32Array(this.buckets * BIN_COUNT);
    this.bucketCount = new Uint32Array(this.buckets);
    this.bucketMax = new Float64Array(this.buckets).fill(-Infinity);
  }

  /** Records one latency in ms. */
  record(ms: number): void {
    const slot = this.slotAt(this.now());
    const bin = binOf(ms);
    this.counts[slot * BIN_COUNT + bin]!++;
    this.total[bin]!++;
    this.bucketCount[slot]!++;
    this.size++;
    if (ms > this.bucketMax[slot]!) this.bucketMax[slot] = ms;
  }

  /** Samples in the window. */
  count(): number {
    this.slotAt(this.now());
    return this.size;
  }

  /** The p-th percentile (0 < p <= 100) in ms, or null when the window is empty. */
  percentile(p: number): number | null {
    this.slotAt(this.now());
    return this.rank(p);
  }

  /** p50, p95, p99 and the max in one call, for a signal's value and detail. */
  summary(): LatencySummary {
    this.slotAt(this.now());
    let max = -Infinity;
    for (let i = 0; i < this.buckets; i++) if (this.bucketMax[i]! > max) max = this.bucketMax[i]!;
    return { count: this.size, p50: this.rank(50), p95: this.rank(95), p99: this.rank(99), max: this.size === 0 ? null : max };
  }

  private rank(p: number): number | null {
    if (this.size === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.size));
    let seen = 0;
    for (let bin = 0; bin < BIN_COUNT; bin++) {
      seen += this.total[bin]!;
      if (seen >= rank) return binLowerBound(bin);
    }
    return binLowerBound(BIN_COUNT - 1);
  }

  protected clearSlot(slot: number): void {
    if (this.bucketCount[slot] === 0) return;
    const base = slot * BIN_COUNT;
    for (let bin = 0; bin < BIN_COUNT; bin++) {
      const c = this.counts[base + bin]!;
      if (c !== 0) {
        this.total[bin]! -= c;
        this.counts[base + bin] = 0;
      }
    }
    this.size -= this.bucketCount[slot]!;
    this.bucketCount[slot] = 0;
    this.bucketMax[slot] = -Infinity;
  }
}

/**
 * The share of failed exchanges (5xx answers, timeouts, failed probes) over a sliding time window.
 * Below `minSamples` the rate is unknown rather than 0 or 100%: one failed request out of one is no
 * error rate.
 */
import { TimeRing } from './timeRing.js';

export interface ErrorRateWindowOptions {
  windowMs: number;
  buckets?: number;
  /** Fewest exchanges in the window for the rate to be known. */
  minSamples?: number;
  now?: () => number;
}

export class ErrorRateWindow extends TimeRing {
  private readonly totals: Uint32Array;
  private readonly errors: Uint32Array;
  private total = 0;
  private failed = 0;
  readonly minSamples: number;
  private readonly now: () => number;

  constructor(opts: ErrorRateWindowOptions) {
    super(opts.windowMs, opts.buckets ?? 10);
    this.totals = new Uint32Array(this.buckets);
    this.errors = new Uint32Array(this.buckets);
    this.minSamples = opts.minSamples ?? 20;
    this.now = opts.now ?? Date.now;
  }

  /** Records one exchange and whether it failed. */
  record(failed: boolean): void {
    const slot = this.slotAt(this.now());
    this.totals[slot]!++;
    this.total++;
    if (failed) {
      this.errors[slot]!++;
      this.failed++;
    }
  }

  /** Failed / total in the window (0..1), or null below `minSamples`. */
  rate(): number | null {
    this.slotAt(this.now());
    return this.total < this.minSamples ? null : this.failed / this.total;
  }

  counts(): { total: number; failed: number } {
    this.slotAt(this.now());
    return { total: this.total, failed: this.failed };
  }

  protected clearSlot(slot: number): void {
    this.total -= this.totals[slot]!;
    this.failed -= this.errors[slot]!;
    this.totals[slot] = 0;
    this.errors[slot] = 0;
  }
}

/**
 * Wait estimates from the measured admission rate. The room does not know how fast it will admit
 * (the controller adapts concurrency, ramps after recovery, may pause), so it measures: admissions
 * are counted in buckets over a sliding window, and a place's wait is its position over that rate. The
 * answer is a range, because a single number reads as a promise; and it is "unknown" (null) rather
 * than a guess when too few admissions were seen to measure anything (the room just engaged, or it is
 * paused and nobody has been let in for a whole window).
 *
 * The rate is measured from the first admission after a window without any, not over the whole
 * window: a room that sat empty for most of a minute and then began to admit at 50/s would otherwise
 * read as admitting a few per second, and send everyone who joined at that moment to poll (and to
 * retry) far too late.
 *
 * Pure: the clock and the randomness are injected.
 */
export interface WaitRange {
  lowS: number;
  highS: number;
}

export interface RetryAfterOptions {
  /** Never below 1: `Retry-After: 0` invites an immediate retry storm (incident 000). */
  minS: number;
  /** Must stay below the abandonment grace, or a client that obeys loses its place. */
  maxS: number;
  /** Used when the wait is unknown. */
  unknownS: number;
  /** Relative jitter, e.g. 0.25 for +-25%: clients told the same number must not come back together. */
  jitter: number;
}

export interface WaitEstimatorOptions {
  /** ms; a monotonic clock is best. */
  now: () => number;
  windowMs?: number;
  bucketMs?: number;
  /** Fewer admissions than this in the window: the wait is unknown. */
  minAdmissions?: number;
  /** Half-width of the narrowest range, relative: 0.1 turns 60 s into 54-66 s. */
  minSpread?: number;
  retry?: Partial<RetryAfterOptions>;
  /** In [0, 1); Math.random by default. */
  random?: () => number;
}

export class WaitEstimator {
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #counts: Float64Array;
  readonly #minAdmissions: number;
  readonly #minSpread: number;
  #retry!: RetryAfterOptions;
  readonly #random: () => number;
  readonly #startedAt: number;
  /** When the admissions in the window began: the first one after a whole window without any. */
  #busySince: number;
  /** Absolute index (time / bucketMs) of the newest bucket. */
  #head: number;

  constructor(opts: WaitEstimatorOptions) {
    this.#now = opts.now;
    this.#bucketMs = opts.bucketMs ?? 5_000;
    const windowMs = opts.windowMs ?? 60_000;
    if (!(this.#bucketMs > 0) || !(windowMs >= 2 * this.#bucketMs)) {
      throw new Error('anteroom: wait estimate window must hold at least two buckets');
    }
    this.#counts = new Float64Array(Math.ceil(windowMs / this.#bucketMs));
    this.#minAdmissions = opts.minAdmissions ?? 5;
    this.#minSpread = opts.minSpread ?? 0.1;
    this.setRetry({ minS: 1, maxS: 30, unknownS: 5, jitter: 0.25, ...opts.retry });
    this.#random = opts.random ?? Math.random;
    this.#startedAt = this.#now();
    this.#busySince = this.#startedAt;
    this.#head = Math.floor(this.#startedAt / this.#bucketMs);
  }

  /**
   * Changes the Retry-After bounds: the room derives `maxS` from its abandonment grace, which a config
   * reload may change, and the measured admissions must survive that.
   */
  setRetry(retry: Partial<RetryAfterOptions>): void {
    const r = { ...this.#retry, ...retry };
    if (!(r.minS >= 1) || !(r.maxS >= r.minS)) {
      throw new Error('anteroom: Retry-After bounds must satisfy 1 <= minS <= maxS');
    }
    this.#retry = r;
  }

  recordAdmission(count = 1): void {
    const now = this.#now();
    this.#advance(now);
    if (this.#counts.every((c) => c === 0)) this.#busySince = now;
    this.#counts[this.#head % this.#counts.length]! += count;
  }

  /** Admissions per second over the window; null when too few were seen to say. */
  rate(): number | null {
    return this.#measure()?.rate ?? null;
  }

  /**
   * How long until `position` (1 = next) is admitted, in whole seconds, as a range; null when unknown.
   * The range spans the slowest and fastest full bucket in the window around the mean rate, at least
   * +-minSpread, and its slow end is capped at 3x the mean, so one stalled bucket does not turn
   * "about a minute" into "up to an hour".
   */
  estimate(position: number): WaitRange | null {
    const m = this.#measure();
    if (m === null) return null;
    const fast = Math.max(m.maxBucketRate, m.rate * (1 + this.#minSpread));
    const slow = Math.max(Math.min(m.minBucketRate, m.rate * (1 - this.#minSpread)), m.rate / 3);
    const lowS = Math.floor(position / fast);
    return { lowS, highS: Math.max(lowS + 1, Math.ceil(position / slow)) };
  }

  /** Seconds for a 503's Retry-After: about the estimated wait, clamped, jittered, never 0. */
  retryAfterSeconds(position: number): number {
    const r = this.#retry;
    const est = this.estimate(position);
    const base = est === null ? r.unknownS : (est.lowS + est.highS) / 2;
    const clamped = Math.min(r.maxS, Math.max(r.minS, base));
    const jittered = Math.round(clamped * (1 - r.jitter + 2 * r.jitter * this.#random()));
    return Math.min(r.maxS, Math.max(r.minS, jittered, 1));
  }

  /** Clears the buckets the clock has moved past. */
  #advance(now: number): void {
    const idx = Math.floor(now / this.#bucketMs);
    if (idx <= this.#head) return;
    const n = this.#counts.length;
    for (let i = this.#head + 1, end = Math.min(idx, this.#head + n); i <= end; i++) this.#counts[i % n] = 0;
    this.#head = idx;
  }

  #measure(): { rate: number; minBucketRate: number; maxBucketRate: number } | null {
    const now = this.#now();
    this.#advance(now);
    const n = this.#counts.length;
    const bucketMs = this.#bucketMs;
    // The ring covers n - 1 full buckets and the current partial one, or less since the start.
    const since = Math.max(this.#startedAt, this.#busySince);
    const spanMs = Math.min(now - since, (n - 1) * bucketMs + (now - this.#head * bucketMs));
    if (spanMs < bucketMs) return null;
    let total = 0;
    let minB = Infinity;
    let maxB = 0;
    for (let i = this.#head - n + 1; i <= this.#head; i++) {
      const c = this.#counts[((i % n) + n) % n]!;
      total += c;
      // Only buckets wholly inside the measured span and already over describe a rate.
      if (i < this.#head && i * bucketMs >= since) {
        if (c < minB) minB = c;
        if (c > maxB) maxB = c;
      }
    }
    if (total < this.#minAdmissions) return null;
    const rate = total / (spanMs / 1000);
    if (minB === Infinity) return { rate, minBucketRate: rate, maxBucketRate: rate };
    return { rate, minBucketRate: minB / (bucketMs / 1000), maxBucketRate: maxB / (bucketMs / 1000) };
  }
}

/**
 * Reconnect delays for pollers: doubling from `minMs` to `maxMs`, reset by a success. A database
 * that is down is asked again soon, then less and less often, so a dead DB is not hammered by
 * every proxy instance at once; the jitter (up to `jitter` of the delay, from an injectable random
 * source) spreads instances that lost the DB at the same moment.
 */
export interface BackoffOptions {
  minMs?: number;
  maxMs?: number;
  /** Fraction of each delay drawn at random and subtracted (0 = none). */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(opts: BackoffOptions = {}) {
    this.minMs = opts.minMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt after one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(base * (1 - this.jitter * this.random()));
  }

  reset(): void {
    this.failures = 0;
  }

  /** Consecutive failures since the last success. */
  get attempts(): number {
    return this.failures;
  }
}

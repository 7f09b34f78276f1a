/**
 * A histogram as plain numbers: fixed upper bounds (seconds) and one count per bucket. Recording is a
 * few comparisons and additions with no allocation and no label lookup, so it can run once per request;
 * the Prometheus form (cumulative `_bucket` series with `le`, `_sum`, `_count`) is built at scrape time.
 */
export class BucketCounts {
  /** Upper bounds in seconds, ascending; the last bucket (+Inf) is implied. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); one more than `bounds`, the last being +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`anteroom: histogram bounds must ascend, got ${bounds.join(', ')}`);
    }
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** One observation, in milliseconds (the unit of the request's timings). Negative or NaN is ignored. */
  observeMs(ms: number): void {
    if (!(ms >= 0)) return;
    const s = ms / 1000;
    const bounds = this.bounds;
    // `le` is inclusive: a value equal to a bound belongs to that bucket.
    let i = 0;
    while (i < bounds.length && s > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += s;
    this.count++;
  }
}

/** Upstream time to response headers: 1 ms to a minute. */
export const LATENCY_BOUNDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Time spent waiting (room, concurrency gate): 5 ms to an hour; a room wait can be long. */
export const WAIT_BOUNDS: readonly number[] = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

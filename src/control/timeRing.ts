/**
 * A ring of equal time buckets covering a sliding window: the arithmetic shared by the latency and
 * error-rate windows. Bucket `e` holds what happened during [e*bucketMs, (e+1)*bucketMs); the window is
 * the newest `buckets` of them, the current partial one included, so it spans between
 * (buckets-1)*bucketMs and buckets*bucketMs of history. Old buckets are cleared lazily when the clock
 * moves past them: recording stays O(1), and an idle ring costs nothing.
 */
export abstract class TimeRing {
  readonly buckets: number;
  readonly bucketMs: number;
  /** Epoch (now / bucketMs, floored) of the newest bucket; -Infinity before the first use. */
  private head = -Infinity;

  protected constructor(windowMs: number, buckets: number) {
    if (!(buckets >= 1 && Number.isInteger(buckets))) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    this.buckets = buckets;
    this.bucketMs = windowMs / buckets;
  }

  /** Empties one slot; called once for every bucket that leaves the window. */
  protected abstract clearSlot(slot: number): void;

  /**
   * Moves the window to `now` and returns the slot of the current bucket. A clock that goes
   * backwards (a test, an NTP step on a wall clock) keeps writing into the newest bucket rather
   * than into history.
   */
  protected slotAt(now: number): number {
    const epoch = Math.floor(now / this.bucketMs);
    if (epoch > this.head) {
      // Clear every bucket between the old head and the new one, at most the whole ring.
      const from = this.head === -Infinity || epoch - this.head >= this.buckets ? epoch - this.buckets + 1 : this.head + 1;
      for (let e = from; e <= epoch; e++) this.clearSlot(mod(e, this.buckets));
      this.head = epoch;
    }
    return mod(this.head, this.buckets);
  }
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

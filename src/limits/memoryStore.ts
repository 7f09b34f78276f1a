/**
 * The embedded store: token buckets in this process, for a single instance (and the Redis store's
 * fallback during an outage).
 *
 * A bucket is one entry of a Map from key to TAT (see gcra.ts). A TAT in the past is a full bucket,
 * so such entries are dropped: each decision advances a sweep over the map by a few entries (a CLOCK
 * hand, a Map iterator that survives inserts and deletes), deleting those whose TAT has passed. The
 * hand examines twice as many entries as a decision can add, so a full turn over N entries finishes
 * before N/2 new keys arrive: the map holds at most about twice the buckets that are not full, however
 * many distinct clients have come and gone. Every step is O(1) (amortised, like the Map itself).
 *
 * Memory: about 94 bytes per bucket for 25-character keys, measured with 1,000,000 buckets by
 * test/bench/limits.ts (V8 heap after a full GC, Node 20 x64): the flat key string (48 B), the boxed
 * double TAT (16 B), the Map entry and its share of the hash buckets (~28 B). A million clients
 * with a live client bucket each cost about 95 MB; clients whose buckets are full again cost nothing.
 */
import { decide, refundedTat } from './gcra.js';
import { checkBuckets, type BucketSpec, type LimitDecision, type Store } from './store.js';

export interface MemoryStoreOptions {
  /** The clock, in ms (may be fractional, need not be wall time); performance.now by default. */
  now?: () => number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly now: () => number;
  private readonly tats = new Map<string, number>();
  private hand: MapIterator<[string, number]>;
  /** TATs of the buckets of the decision being taken, reused to avoid an allocation per decision. */
  private scratch = new Float64Array(8);

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? performance.now.bind(performance);
    this.hand = this.tats.entries();
  }

  /** Buckets held (not known to be full). */
  get size(): number {
    return this.tats.size;
  }

  consume(buckets: readonly BucketSpec[], cost: number): LimitDecision {
    checkBuckets(buckets, cost);
    const now = this.now();
    const n = buckets.length;
    if (n > this.scratch.length) this.scratch = new Float64Array(n * 2);
    const scratch = this.scratch;
    for (let i = 0; i < n; i++) {
      const key = buckets[i]!.key;
      const tat = this.tats.get(key);
      if (tat === undefined) {
        // A key built by concatenation is a tree of string pieces (a V8 cons string) that costs about
        // 80 bytes more than the flat string; reading a character flattens it before the map keeps it.
        key.charCodeAt(0);
        scratch[i] = -Infinity;
      } else {
        scratch[i] = tat;
      }
    }
    const decision = decide(buckets, scratch, cost, now);
    if (decision.allowed) {
      // A TAT not in the future is a full bucket: nothing to store (cost 0 on a full bucket).
      for (let i = 0; i < n; i++) if (scratch[i]! > now) this.tats.set(buckets[i]!.key, scratch[i]!);
    }
    this.sweep(now, 2 * n);
    return decision;
  }

  refund(buckets: readonly BucketSpec[], cost: number): void {
    const now = this.now();
    for (const b of buckets) {
      const tat = this.tats.get(b.key);
      if (tat === undefined) continue;
      const back = refundedTat(tat, cost, b.rate);
      if (back <= now) this.tats.delete(b.key);
      else this.tats.set(b.key, back);
    }
  }

  /** Advances the eviction hand by up to `budget` entries, dropping the full buckets among them. */
  sweep(now: number, budget: number): void {
    const tats = this.tats;
    if (tats.size === 0) return;
    for (let i = 0; i < budget; i++) {
      const next = this.hand.next();
      if (next.done) {
        // One turn is over; the next starts from the oldest entry. Stop here so that a map of full
        // buckets does not make one decision walk it more than once.
        this.hand = tats.entries();
        return;
      }
      const [key, tat] = next.value;
      if (tat <= now) tats.delete(key);
    }
  }

  async close(): Promise<void> {
    this.tats.clear();
  }
}

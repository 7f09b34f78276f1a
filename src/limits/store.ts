/**
 * The narrow interface every token-bucket store implements: the memory store (the embedded default)
 * and the Redis store (shared by every proxy instance). Both take the same decision for the same
 * buckets, cost and clock, and both pass the one contract suite in test/limits/storeContract.ts.
 *
 * A decision is about several buckets at once (say the client's, its tenant's and the tenant's
 * route class's): tokens are taken from all of them only when all of them allow, so a request refused
 * by its tenant's bucket does not also drain its client's bucket.
 */

/** What a store does with a bucket when it cannot reach its shared state (Redis down or too slow). */
export type StoreFailurePolicy =
  /** Decide on buckets kept by this instance, sized to its share of the limit (the default). */
  | 'local'
  /** Let the request through as far as this bucket is concerned. */
  | 'open'
  /** Refuse the request, with a Retry-After of one second. */
  | 'closed';

/** One token bucket taking part in a decision. */
export interface BucketSpec {
  /**
   * Names the bucket. Buckets with the same key share their tokens, whatever their rate. When a
   * decision has more than one bucket, every key must carry the same non-empty Redis hash tag
   * (`{tenant}`), so that a Redis Cluster keeps them in one slot and one script decides them
   * atomically; `bucketKey()` builds such keys. Keys of one decision must be distinct.
   */
  key: string;
  /** Tokens added per second; > 0 and finite. `3/min` is 0.05. */
  rate: number;
  /** Capacity of the bucket, the most tokens taken at one instant; >= 1. */
  burst: number;
  /** Only read by stores with shared state; 'local' when absent. */
  onStoreFailure?: StoreFailurePolicy;
}

/** A bucket's state after a decision (after taking the tokens when the decision allowed). */
export interface BucketState {
  /** Whole tokens left, 0..burst. */
  remaining: number;
  /** Milliseconds until the bucket is full again; 0 when it is full. */
  resetMs: number;
}

export interface LimitDecision {
  allowed: boolean;
  /**
   * 0 when allowed. Otherwise the exact time in ms (possibly fractional) after which `cost` tokens
   * are available in every bucket, if nobody else takes any: a retry then is allowed. `Infinity`
   * when the cost exceeds some bucket's burst, so the request can never pass (`NEVER`).
   */
  retryAfterMs: number;
  /** Index in the decision's buckets of the first bucket that refused; -1 when allowed. */
  refusedBy: number;
  /** One state per bucket, in the order of the decision's buckets. */
  buckets: BucketState[];
  /** True when the decision was taken without the shared store (fallback buckets, open or closed). */
  degraded: boolean;
}

/** `retryAfterMs` of a request whose cost is above a bucket's burst: waiting does not help. */
export const NEVER = Infinity;

export interface Store {
  /**
   * Takes `cost` tokens (>= 0; 1 for a plain request) from every bucket, or from none when one of
   * them has too few. Synchronous for the memory store, so the common path allocates no promise.
   * Never rejects for a store outage: a store with shared state decides by each bucket's
   * `onStoreFailure` instead. Throws (synchronously) a RangeError for an invalid spec or cost.
   */
  consume(buckets: readonly BucketSpec[], cost: number): LimitDecision | Promise<LimitDecision>;
  /**
   * Gives `cost` tokens back to every bucket of an allowed decision that a later, separate decision
   * undid (a websocket upgrade allowed by its client's bucket, refused by the global one). Best
   * effort: never throws or rejects; callers need not wait (the promise is for tests).
   * `degraded`: the allowed decision's own flag.
   */
  refund(buckets: readonly BucketSpec[], cost: number, degraded: boolean): void | Promise<void>;
  /** 'memory' or 'redis', for logs and status. */
  readonly kind: string;
  /** Stops timers and connections. A closed store must not be used again. */
  close(): Promise<void>;
}

/**
 * A bucket key hash-tagged by tenant: `{tenant}:scope:id`. Braces in the tenant name are replaced,
 * as they would end (or move) the tag; ids may contain anything, as only the first tag counts.
 */
export function bucketKey(tenant: string, scope: string, id: string): string {
  const tag = tenant.length === 0 ? '_' : tenant.replace(/[{}]/g, '_');
  return `{${tag}}:${scope}:${id}`;
}

/**
 * Throws unless the decision's buckets are valid and, when there is more than one, share one hash
 * tag (Redis Cluster rule: the text between the first `{` and the next `}`, when not empty).
 * Allocates nothing: it runs on every decision.
 */
export function checkBuckets(buckets: readonly BucketSpec[], cost: number): void {
  if (!(cost >= 0) || cost === Infinity) throw new RangeError(`cost must be a finite number >= 0, got ${cost}`);
  const n = buckets.length;
  if (n === 0) throw new RangeError('a decision needs at least one bucket');
  let tagStart = -1;
  let tagEnd = -1;
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    if (!(b.rate > 0) || b.rate === Infinity) throw new RangeError(`bucket ${b.key}: rate must be finite and > 0, got ${b.rate}`);
    if (!(b.burst >= 1) || b.burst === Infinity) throw new RangeError(`bucket ${b.key}: burst must be finite and >= 1, got ${b.burst}`);
    if (n === 1) return;
    const key = b.key;
    const open = key.indexOf('{');
    const close = open < 0 ? -1 : key.indexOf('}', open + 1);
    if (close <= open + 1) throw new RangeError(`bucket ${key}: keys decided together need a hash tag, like {tenant}:client:id`);
    if (i === 0) {
      tagStart = open + 1;
      tagEnd = close;
    } else {
      const first = buckets[0]!.key;
      let same = close - open - 1 === tagEnd - tagStart;
      for (let j = 0; same && j < tagEnd - tagStart; j++) same = key.charCodeAt(open + 1 + j) === first.charCodeAt(tagStart + j);
      if (!same) throw new RangeError(`buckets ${first} and ${key} have different hash tags; keys decided together must share one`);
    }
  }
}

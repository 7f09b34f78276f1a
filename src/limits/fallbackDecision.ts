/**
 * The decision a store with shared state takes when it cannot reach that state (Redis down, stalled or
 * too slow): by each bucket's `onStoreFailure`, on local buckets sized to this instance's share.
 */
import type { MemoryStore } from './memoryStore.js';
import { NEVER, type BucketSpec, type BucketState, type LimitDecision } from './store.js';

/** `retryAfterMs` of a refusal by a 'closed' bucket: try again in a second, Redis may be back. */
export const CLOSED_RETRY_MS = 1000;

/**
 * 'closed' buckets refuse for CLOSED_RETRY_MS; 'open' ones are left out; the others ('local') are
 * decided on `local` with rate and burst divided by `share`, the number of live instances, so that
 * together the instances stay near the one limit. The share of the burst is never below the cost when
 * the whole burst allows it, so a request that can pass at all can pass during an outage; the
 * long-run rate is still the share. A cost above a bucket's burst is refused with NEVER, outage or not.
 */
export function decideWithoutStore(local: MemoryStore, buckets: readonly BucketSpec[], cost: number, share: number): LimitDecision {
  const n = buckets.length;
  const states: BucketState[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    if (b.onStoreFailure === 'closed' || cost > b.burst) {
      for (let j = 0; j < n; j++) states[j] = { remaining: 0, resetMs: 0 };
      const retryAfterMs = cost > b.burst ? NEVER : CLOSED_RETRY_MS;
      return { allowed: false, retryAfterMs, refusedBy: i, buckets: states, degraded: true };
    }
  }
  const shared: BucketSpec[] = [];
  const index: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    if (b.onStoreFailure === 'open') {
      states[i] = { remaining: Math.floor(b.burst), resetMs: 0 };
      continue;
    }
    shared.push({ key: b.key, rate: b.rate / share, burst: Math.max(b.burst / share, cost, 1) });
    index.push(i);
  }
  if (shared.length === 0) return { allowed: true, retryAfterMs: 0, refusedBy: -1, buckets: states, degraded: true };
  const d = local.consume(shared, cost);
  for (let k = 0; k < shared.length; k++) states[index[k]!] = d.buckets[k]!;
  return { allowed: d.allowed, retryAfterMs: d.retryAfterMs, refusedBy: d.refusedBy < 0 ? -1 : index[d.refusedBy]!, buckets: states, degraded: true };
}

/** Undoes what decideWithoutStore took from the local buckets (the same shares, 'open' ones untouched). */
export function refundWithoutStore(local: MemoryStore, buckets: readonly BucketSpec[], cost: number, share: number): void {
  const shared: BucketSpec[] = [];
  for (const b of buckets) if (b.onStoreFailure !== 'open') shared.push({ key: b.key, rate: b.rate / share, burst: Math.max(b.burst / share, cost, 1) });
  local.refund(shared, cost);
}

/**
 * `RateLimit-Policy` and `RateLimit` fields, draft-ietf-httpapi-ratelimit-headers-10 syntax (structured
 * field lists): `RateLimit-Policy: "client";q=40;w=2` names each policy with its quota and window;
 * `RateLimit: "client";r=0;t=3` gives the remaining quota and seconds until it resets.
 */
import type { NamedBucket } from './limitPlan.js';
import type { LimitDecision } from './store.js';

export function rateLimitPolicy(buckets: readonly NamedBucket[]): string {
  let s = '';
  for (const b of buckets) {
    if (s !== '') s += ', ';
    s += `"${b.name}";q=${b.burst};w=${Math.max(1, Math.ceil(b.burst / b.rate))}`;
  }
  return s;
}

/**
 * The `RateLimit` field for the bucket that matters to the client: the one that refused, or else the
 * one with the fewest tokens left.
 */
export function rateLimitState(buckets: readonly NamedBucket[], decision: LimitDecision): string {
  let i = decision.refusedBy;
  if (i < 0) {
    i = 0;
    for (let j = 1; j < decision.buckets.length; j++) if (decision.buckets[j]!.remaining < decision.buckets[i]!.remaining) i = j;
  }
  const b = buckets[i];
  const state = decision.buckets[i];
  if (b === undefined || state === undefined) return '';
  return `"${b.name}";r=${Math.max(0, Math.floor(state.remaining))};t=${Math.ceil(state.resetMs / 1000)}`;
}

/**
 * Seconds for `Retry-After`: never earlier than the real refill, plus jitter of up to a quarter of the
 * wait (at least one second's worth) so that clients refused together do not come back together.
 */
export function jitteredRetryAfterSeconds(retryAfterMs: number, random: () => number = Math.random): number {
  const spread = Math.max(1_000, retryAfterMs * 0.25);
  return Math.max(1, Math.ceil((retryAfterMs + random() * spread) / 1_000));
}

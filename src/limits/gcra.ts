/**
 * The token-bucket arithmetic, as GCRA (the generic cell rate algorithm, ITU-T I.371): a bucket is
 * one number, its theoretical arrival time (TAT), the instant at which the bucket would be full again.
 * With the emission interval T = 1000/rate ms and the tolerance tau = burst * T:
 *
 *   tat'  = max(tat, now) + cost * T
 *   allow when tat' - tau <= now, and then store tat'
 *
 * This is an exact token bucket: at one instant a full bucket lets `burst` tokens through, then one
 * more every T ms, so over any window of t ms no more than burst + floor(t / T) pass, and there is no
 * window boundary where a second burst could slip through. A TAT in the past is a full bucket, so a
 * store may forget it (that is how idle buckets are evicted and Redis keys expire).
 *
 * Pure: the caller passes `now` (ms, may be fractional). The Lua script in redisScript.ts mirrors
 * `decide()` operation by operation, so the memory and Redis stores agree to the last bit for the same
 * clock (test/limits/storeContract.ts checks this).
 */
import { NEVER, type BucketSpec, type BucketState, type LimitDecision } from './store.js';

/**
 * A request this close to its due time passes. It absorbs the rounding of fractional emission
 * intervals (1000/3 ms), so that the k-th token after a burst is due at exactly k/rate seconds; no
 * clock resolves a nanosecond, so it lets nothing through early in practice.
 */
export const EPSILON_MS = 1e-6;

/** ms between two tokens. */
export function emissionMs(rate: number): number {
  return 1000 / rate;
}

/** ms a bucket with this TAT still needs to be full again; 0 when it is full. */
export function resetMs(tat: number, now: number): number {
  return tat > now ? tat - now : 0;
}

/** Whole tokens a bucket with this TAT holds at `now`. */
export function remainingTokens(tat: number, now: number, rate: number, burst: number): number {
  const t = emissionMs(rate);
  const tau = burst * t;
  const r = Math.floor((tau - (resetMs(tat, now)) + EPSILON_MS) / t);
  return r < 0 ? 0 : r;
}

/**
 * Decides `cost` tokens from every bucket at once. `tats[i]` is bucket i's stored TAT, or -Infinity
 * (or anything <= now) for a bucket with no state, which is full. When the decision allows, `tats[i]`
 * is overwritten with the new TAT the caller must store; when it refuses, `tats` is left alone.
 */
export function decide(buckets: readonly BucketSpec[], tats: { [i: number]: number }, cost: number, now: number): LimitDecision {
  const n = buckets.length;
  let refusedBy = -1;
  let retryAfterMs = 0;
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    let wait: number;
    if (cost > b.burst) {
      wait = NEVER;
    } else {
      const t = emissionMs(b.rate);
      const tau = b.burst * t;
      const tat = Math.max(tats[i]!, now);
      wait = tat + cost * t - tau - now;
    }
    if (wait > EPSILON_MS) {
      if (refusedBy < 0) refusedBy = i;
      if (wait > retryAfterMs) retryAfterMs = wait;
    }
  }
  const allowed = refusedBy < 0;
  const states: BucketState[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    let tat = Math.max(tats[i]!, now);
    if (allowed) {
      tat = tat + cost * emissionMs(b.rate);
      tats[i] = tat;
    }
    states[i] = { remaining: remainingTokens(tat, now, b.rate, b.burst), resetMs: resetMs(tat, now) };
  }
  return { allowed, retryAfterMs, refusedBy, buckets: states, degraded: false };
}

/**
 * The TAT after giving `cost` tokens back to a bucket (a decision undone: the request was refused by
 * a later limit): never fuller than full, so a TAT at or before `now` means full.
 */
export function refundedTat(tat: number, cost: number, rate: number): number {
  return tat - cost * emissionMs(rate);
}

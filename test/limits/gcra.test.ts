import { describe, expect, it } from 'vitest';
import { decide, emissionMs, EPSILON_MS } from '../../src/limits/gcra.js';
import { NEVER, type BucketSpec } from '../../src/limits/store.js';

/** One bucket's TAT and a fake clock: what a store keeps, without a store. */
function bucket(rate: number, burst: number) {
  const spec: BucketSpec[] = [{ key: 'k', rate, burst }];
  const tats = [-Infinity];
  return {
    take(now: number, cost = 1) {
      return decide(spec, tats, cost, now);
    },
  };
}

/** Requests at every `step` ms from 0 to `until`; returns the times of those that passed. */
function hammer(rate: number, burst: number, step: number, until: number, cost = 1): number[] {
  const b = bucket(rate, burst);
  const passed: number[] = [];
  for (let i = 0; i * step <= until; i++) {
    const now = i * step;
    // Several attempts per instant: only the bucket, never the request rate, limits what passes.
    for (let k = 0; k < burst + 2; k++) if (b.take(now, cost).allowed) passed.push(now);
  }
  return passed;
}

describe('GCRA arithmetic', () => {
  it.each([
    [10, 5],
    [0.05, 3], // 3/min
    [1000 / 3, 7],
    [7, 1],
  ])('lets exactly burst through at one instant (rate %s/s, burst %s)', (rate, burst) => {
    const b = bucket(rate, burst);
    let passed = 0;
    for (let i = 0; i < burst * 3; i++) if (b.take(1000).allowed) passed++;
    expect(passed).toBe(burst);
  });

  it.each([
    [3, 5, 10, 20_000], // 3/s: T = 333.33.. ms, not a float
    [0.05, 3, 1000, 600_000], // 3/min
    [7, 2, 1, 5_000],
    [0.3, 2, 100, 100_000],
    // With burst 1 a token due between two attempts would overflow the bucket: attempts hit due times.
    [0.25, 1, 100, 100_000],
  ])('lets exactly burst + floor(rate * t) through in t seconds to a client that keeps asking (rate %s/s, burst %s)', (rate, burst, step, until) => {
    const passed = hammer(rate, burst, step, until);
    for (let i = 0; i * step <= until; i++) {
      const t = i * step;
      const byThen = passed.filter((p) => p <= t).length;
      // The k-th token after the burst is due at exactly k * 1000 / rate ms.
      expect(byThen).toBe(burst + Math.floor((rate * t) / 1000 + 1e-9));
    }
  });

  it('never lets a second burst through at a boundary: any window holds at most burst + rate * window', () => {
    const rate = 3;
    const burst = 4;
    const b = bucket(rate, burst);
    const passed: number[] = [];
    // Arrivals in clumps separated by idle periods, so the bucket fills and empties many times.
    let seed = 7;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    let now = 0;
    for (let i = 0; i < 3000; i++) {
      now += random() < 0.1 ? random() * 3000 : random() * 50;
      for (let k = Math.floor(random() * 4); k >= 0; k--) if (b.take(now).allowed) passed.push(now);
    }
    expect(passed.length).toBeGreaterThan(500);
    for (let i = 0; i < passed.length; i++) {
      for (let j = i; j < passed.length && passed[j]! - passed[i]! < 5000; j++) {
        const window = passed[j]! - passed[i]!;
        expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor((rate * window) / 1000 + 1e-9));
      }
    }
  });

  it('takes cost tokens at once and refuses what the bucket cannot cover', () => {
    const b = bucket(2, 10); // T = 500 ms
    expect(b.take(0, 3).allowed).toBe(true);
    expect(b.take(0, 3).allowed).toBe(true);
    const third = b.take(0, 3);
    expect(third).toMatchObject({ allowed: true, buckets: [{ remaining: 1, resetMs: 4500 }] });
    const refused = b.take(0, 3);
    // 1 token left, 2 more needed: 2 * 500 ms.
    expect(refused).toMatchObject({ allowed: false, refusedBy: 0, retryAfterMs: 1000, buckets: [{ remaining: 1, resetMs: 4500 }] });
    expect(b.take(999, 3).allowed).toBe(false);
    expect(b.take(1000, 3)).toMatchObject({ allowed: true, buckets: [{ remaining: 0 }] });
    // cost over rate-limited time: 10 tokens at 2/s are back after 5 s.
    expect(b.take(6000, 10).allowed).toBe(true);
  });

  it('never lets a cost above burst through, and says so with NEVER', () => {
    const b = bucket(100, 5);
    const d = b.take(0, 6);
    expect(d).toMatchObject({ allowed: false, refusedBy: 0, retryAfterMs: NEVER });
    expect(d.retryAfterMs).toBe(Infinity);
    expect(b.take(1e9, 6).allowed).toBe(false);
    expect(b.take(1e9, 5).allowed).toBe(true);
  });

  it('decides several buckets atomically: a refusal takes nothing from any of them', () => {
    const specs: BucketSpec[] = [
      { key: '{t}:c:a', rate: 1, burst: 5 },
      { key: '{t}:tenant', rate: 1, burst: 2 },
    ];
    const tats = [-Infinity, -Infinity];
    expect(decide(specs, tats, 1, 0).allowed).toBe(true);
    expect(decide(specs, tats, 1, 0).allowed).toBe(true);
    const before = [...tats];
    const d = decide(specs, tats, 1, 0);
    expect(d).toMatchObject({ allowed: false, refusedBy: 1, retryAfterMs: 1000 });
    expect(d.buckets).toEqual([
      { remaining: 3, resetMs: 2000 },
      { remaining: 0, resetMs: 2000 },
    ]);
    expect(tats).toEqual(before);
  });

  it('reports the wait of the slowest bucket, and the first refusing bucket', () => {
    const specs: BucketSpec[] = [
      { key: '{t}:a', rate: 10, burst: 1 },
      { key: '{t}:b', rate: 1, burst: 1 },
      { key: '{t}:c', rate: 4, burst: 1 },
    ];
    const tats = [-Infinity, -Infinity, -Infinity];
    expect(decide(specs, tats, 1, 0).allowed).toBe(true);
    const d = decide(specs, tats, 1, 0);
    expect(d).toMatchObject({ allowed: false, refusedBy: 0, retryAfterMs: 1000 });
    expect(decide(specs, tats, 1, 999).allowed).toBe(false);
    expect(decide(specs, tats, 1, 1000).allowed).toBe(true);
  });

  it('lets a retry through at exactly retryAfterMs, and not a microsecond before', () => {
    const b = bucket(3, 2);
    b.take(0);
    b.take(0);
    const d = b.take(10);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBeCloseTo(emissionMs(3) - 10, 9);
    expect(b.take(10 + d.retryAfterMs - 1e-3).allowed).toBe(false);
    expect(b.take(10 + d.retryAfterMs).allowed).toBe(true);
  });

  it('treats a bucket whose TAT has passed as full, so forgetting it changes nothing', () => {
    const specs: BucketSpec[] = [{ key: 'k', rate: 2, burst: 3 }];
    const kept = [-Infinity];
    decide(specs, kept, 3, 0);
    // At 1500 ms the TAT (1500) is not in the future: a forgotten bucket decides the same.
    expect(decide(specs, [kept[0]!], 2, 1500)).toEqual(decide(specs, [-Infinity], 2, 1500));
    expect(EPSILON_MS).toBeLessThan(1e-3);
  });
});

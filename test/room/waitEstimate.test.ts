import { describe, expect, it } from 'vitest';
import { WaitEstimator } from '../../src/room/waitEstimate.js';
import { FakeClock } from './helpers.js';

/** Admits one every `everyMs` for `forMs`. */
function steady(clock: FakeClock, est: WaitEstimator, everyMs: number, forMs: number): void {
  for (let t = 0; t < forMs; t += everyMs) {
    clock.advance(everyMs);
    est.recordAdmission();
  }
}

describe('WaitEstimator', () => {
  it('says unknown with no admissions, and with too few to measure', () => {
    const clock = new FakeClock(0);
    const est = new WaitEstimator({ now: clock.now, minAdmissions: 5 });
    expect(est.estimate(10)).toBeNull();
    clock.advance(60_000);
    expect(est.estimate(10)).toBeNull();
    for (let i = 0; i < 4; i++) est.recordAdmission();
    clock.advance(5_000);
    expect(est.estimate(10)).toBeNull();
    est.recordAdmission();
    expect(est.estimate(10)).not.toBeNull();
  });

  it('says unknown for the first bucket after start, however fast the first admissions came', () => {
    const clock = new FakeClock(0);
    const est = new WaitEstimator({ now: clock.now, bucketMs: 5_000 });
    for (let i = 0; i < 50; i++) est.recordAdmission();
    clock.advance(100);
    expect(est.rate()).toBeNull();
    clock.advance(4_900);
    expect(est.rate()).toBeCloseTo(10, 6);
  });

  it('measures the rate from the first admission after a window without any, not over the idle time before it', () => {
    const clock = new FakeClock(0);
    const est = new WaitEstimator({ now: clock.now, bucketMs: 5_000, windowMs: 60_000 });
    clock.advance(55_000); // an empty room for most of a window
    est.recordAdmission();
    clock.advance(2_000);
    // Fewer than a bucket's worth of time since the admissions began: unknown, not 1 in 57 s.
    expect(est.rate()).toBeNull();
    steady(clock, est, 100, 8_000); // 10/s
    // 81 admissions in the 10 s since the first (over the whole window: 81 in 60 s, 1.35/s).
    expect(est.rate()).toBeCloseTo(8.1, 6);
    expect(est.estimate(100)!.highS).toBeLessThan(20); // over the whole window: 74 s
    // The same admissions after a minute of steady work elsewhere in the window keep the window's mean.
    const busy = new FakeClock(0);
    const est2 = new WaitEstimator({ now: busy.now, bucketMs: 5_000, windowMs: 60_000 });
    steady(busy, est2, 1_000, 50_000); // 1/s
    steady(busy, est2, 100, 10_000); // then 10/s
    expect(est2.rate()).toBeGreaterThan(2);
    expect(est2.rate()).toBeLessThan(4);
  });

  it('gives a tight range around position / rate for a steady admission rate', () => {
    const clock = new FakeClock(1_000_000);
    const est = new WaitEstimator({ now: clock.now });
    steady(clock, est, 500, 120_000); // 2 per second for two minutes
    expect(est.rate()).toBeCloseTo(2, 1);
    const r = est.estimate(120)!; // 60 s at 2/s
    expect(r.lowS).toBeLessThanOrEqual(60);
    expect(r.highS).toBeGreaterThanOrEqual(60);
    expect(r.lowS).toBeGreaterThanOrEqual(50);
    expect(r.highS).toBeLessThanOrEqual(70);
  });

  it('follows a change of rate within one window, and forgets a stopped room', () => {
    const clock = new FakeClock(0);
    const est = new WaitEstimator({ now: clock.now });
    steady(clock, est, 500, 60_000);
    steady(clock, est, 100, 60_000); // now 10 per second
    expect(est.rate()).toBeCloseTo(10, 0);
    const r = est.estimate(100)!;
    expect(r.lowS).toBeLessThanOrEqual(10);
    expect(r.highS).toBeGreaterThanOrEqual(10);
    expect(r.highS).toBeLessThanOrEqual(12);
    clock.advance(61_000);
    expect(est.estimate(100)).toBeNull();
  });

  it('widens the range when the rate is uneven, and caps the slow end', () => {
    const clock = new FakeClock(0);
    const est = new WaitEstimator({ now: clock.now });
    for (let b = 0; b < 12; b++) {
      // Alternating 5 s buckets of 1/s and 3/s: mean 2/s.
      steady(clock, est, b % 2 ? 1000 / 3 : 1000, 5_000);
    }
    const r = est.estimate(120)!;
    expect(r.lowS).toBeLessThanOrEqual(41);
    expect(r.highS).toBeGreaterThanOrEqual(119);
    expect(r.highS).toBeLessThanOrEqual(181);
  });

  it('hands out a jittered Retry-After that is never 0 and stays within bounds', () => {
    const clock = new FakeClock(0);
    let rnd = 0;
    const est = new WaitEstimator({ now: clock.now, random: () => rnd, retry: { minS: 1, maxS: 30, unknownS: 5, jitter: 0.25 } });
    // Unknown: around unknownS.
    rnd = 0;
    expect(est.retryAfterSeconds(1)).toBe(4);
    rnd = 0.999;
    expect(est.retryAfterSeconds(1)).toBe(6);
    steady(clock, est, 100, 60_000); // 10/s
    rnd = 0;
    expect(est.retryAfterSeconds(1)).toBe(1); // the next in line: soon, but not 0
    expect(est.retryAfterSeconds(10_000)).toBe(23); // far back: clamped to maxS, then jittered down
    rnd = 0.999;
    expect(est.retryAfterSeconds(10_000)).toBe(30);
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) {
      rnd = i / 100;
      seen.add(est.retryAfterSeconds(100));
    }
    expect(seen.size).toBeGreaterThan(3); // spread out, not one synchronised value
  });
});

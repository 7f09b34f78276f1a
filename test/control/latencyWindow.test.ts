import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/control/latencyWindow.js';
import { FakeClock, prng } from './helpers.js';

describe('LatencyWindow', () => {
  it('gives exact nearest-rank percentiles on 1..100 ms, in any order', () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ windowMs: 10_000, now: clock.now });
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const rnd = prng(3);
    values.sort(() => rnd() - 0.5);
    for (const v of values) w.record(v);
    expect(w.summary()).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(w.percentile(100)).toBe(100);
    expect(w.percentile(1)).toBe(1);
  });

  it('gives exact percentiles on a skewed known distribution', () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ windowMs: 10_000, now: clock.now });
    // 90 fast (10 ms), 8 slow (200 ms), 2 very slow (1000 ms): p50 10, p95 200, p99 1000.
    for (let i = 0; i < 90; i++) w.record(10);
    for (let i = 0; i < 8; i++) w.record(200);
    for (let i = 0; i < 2; i++) w.record(1000);
    expect(w.summary()).toEqual({ count: 100, p50: 10, p95: 200, p99: 1000, max: 1000 });
  });

  it('is empty (null, not zero) with no samples', () => {
    const w = new LatencyWindow({ windowMs: 1_000, now: () => 0 });
    expect(w.summary()).toEqual({ count: 0, p50: null, p95: null, p99: null, max: null });
  });

  it('forgets samples bucket by bucket as the window slides', () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ windowMs: 10_000, buckets: 10, now: clock.now });
    for (let i = 0; i < 10; i++) w.record(500); // bucket 0
    clock.advance(5_000);
    for (let i = 0; i < 10; i++) w.record(20); // bucket 5
    expect(w.count()).toBe(20);
    expect(w.percentile(95)).toBe(500);
    // At 10 s bucket 0 leaves the window (buckets 1..10 remain); the slow samples are gone.
    clock.advance(4_999);
    expect(w.count()).toBe(20);
    clock.advance(1);
    expect(w.count()).toBe(10);
    expect(w.summary()).toEqual({ count: 10, p50: 20, p95: 20, p99: 20, max: 20 });
    // After a long idle stretch everything has gone, and recording starts afresh.
    clock.advance(60_000);
    expect(w.count()).toBe(0);
    w.record(7);
    expect(w.summary()).toEqual({ count: 1, p50: 7, p95: 7, p99: 7, max: 7 });
  });

  it('agrees with a sorted-array reference on random data within one bin (1/64)', () => {
    const clock = new FakeClock(1_000_000);
    const w = new LatencyWindow({ windowMs: 30_000, buckets: 30, now: clock.now });
    const rnd = prng(11);
    const live: { t: number; v: number }[] = [];
    for (let i = 0; i < 5_000; i++) {
      clock.advance(Math.floor(rnd() * 20));
      const v = Math.exp(rnd() * 8); // 1 ms .. ~3 s, log-uniform
      w.record(v);
      live.push({ t: clock.t, v });
    }
    // The window holds the buckets of epochs head-29..head.
    const head = Math.floor(clock.t / 1_000);
    const inWindow = live.filter((s) => Math.floor(s.t / 1_000) > head - 30).map((s) => s.v).sort((a, b) => a - b);
    expect(w.count()).toBe(inWindow.length);
    for (const p of [50, 95, 99]) {
      const exact = inWindow[Math.ceil((p / 100) * inWindow.length) - 1]!;
      const got = w.percentile(p)!;
      expect(got).toBeLessThanOrEqual(exact);
      expect((exact - got) / exact).toBeLessThanOrEqual(1 / 64);
    }
  });

  it('keeps writing into the newest bucket when the clock steps back', () => {
    const clock = new FakeClock(100_000);
    const w = new LatencyWindow({ windowMs: 10_000, now: clock.now });
    w.record(5);
    clock.t = 50_000;
    w.record(6);
    expect(w.count()).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorRateWindow } from '../../src/control/errorRateWindow.js';
import { FakeClock } from './helpers.js';

describe('ErrorRateWindow', () => {
  it('is unknown below minSamples, then the exact share of failures', () => {
    const clock = new FakeClock(0);
    const w = new ErrorRateWindow({ windowMs: 10_000, minSamples: 10, now: clock.now });
    for (let i = 0; i < 9; i++) w.record(i < 3);
    expect(w.rate()).toBeNull();
    w.record(false);
    expect(w.rate()).toBeCloseTo(0.3, 10);
  });

  it('forgets old failures as the window slides', () => {
    const clock = new FakeClock(0);
    const w = new ErrorRateWindow({ windowMs: 10_000, buckets: 10, minSamples: 1, now: clock.now });
    for (let i = 0; i < 10; i++) w.record(true);
    clock.advance(5_000);
    for (let i = 0; i < 10; i++) w.record(false);
    expect(w.rate()).toBe(0.5);
    clock.advance(5_000);
    expect(w.counts()).toEqual({ total: 10, failed: 0 });
    expect(w.rate()).toBe(0);
    clock.advance(10_000);
    expect(w.rate()).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { Ramp } from '../../src/control/ramp.js';
import { FakeClock } from './helpers.js';

describe('Ramp', () => {
  it('rises from the floor to the full limit over its time, one request at a time', () => {
    const clock = new FakeClock(0);
    const ramp = new Ramp({ floor: 0.1, durationMs: 60_000, now: clock.now });
    expect(ramp.apply(200)).toBe(200); // not started: full
    ramp.start();
    expect(ramp.apply(200)).toBe(20);
    let prev = 20;
    const seen = new Set<number>([20]);
    for (let t = 0; t < 60_000; t += 10) {
      clock.advance(10);
      const l = ramp.apply(200);
      expect(l).toBeGreaterThanOrEqual(prev);
      expect(l - prev).toBeLessThanOrEqual(1); // no jump
      seen.add(l);
      prev = l;
    }
    expect(prev).toBe(200);
    expect(seen.size).toBe(181); // every limit from 20 to 200
    expect(ramp.active).toBe(false);
  });

  it('is halfway at half time (linear)', () => {
    const clock = new FakeClock(0);
    const ramp = new Ramp({ floor: 0.1, durationMs: 60_000, now: clock.now });
    ramp.start();
    clock.advance(30_000);
    expect(ramp.factor()).toBeCloseTo(0.55, 10);
    expect(ramp.remainingMs()).toBe(30_000);
  });

  it('starts above the floor when asked, with the same slope, never cutting the limit in force', () => {
    const clock = new FakeClock(0);
    const ramp = new Ramp({ floor: 0.1, durationMs: 60_000, now: clock.now });
    ramp.start(0.55);
    expect(ramp.apply(100)).toBe(55);
    clock.advance(29_999);
    expect(ramp.active).toBe(true);
    clock.advance(1);
    expect(ramp.apply(100)).toBe(100);
  });

  it('restarts from the floor (recovery during a ramp)', () => {
    const clock = new FakeClock(0);
    const ramp = new Ramp({ floor: 0.2, durationMs: 10_000, now: clock.now });
    ramp.start();
    clock.advance(8_000);
    expect(ramp.apply(100)).toBe(84);
    ramp.start();
    expect(ramp.apply(100)).toBe(20);
  });

  it('keeps at least one request and leaves Infinity alone', () => {
    const ramp = new Ramp({ floor: 0.01, durationMs: 1_000, now: () => 0 });
    ramp.start();
    expect(ramp.apply(5)).toBe(1);
    expect(ramp.apply(Infinity)).toBe(Infinity);
  });
});

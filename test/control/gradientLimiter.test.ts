import { describe, expect, it } from 'vitest';
import { GradientLimiter } from '../../src/control/gradientLimiter.js';
import { FakeClock } from './helpers.js';

/** Sends `windows` one-second windows of 20 samples at `rtt`, the upstream kept at the limit. */
function drive(clock: FakeClock, g: GradientLimiter, windows: number, rtt: number, drop = false): number[] {
  const limits: number[] = [];
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < 20; i++) {
      clock.advance(50);
      g.onSample(rtt, g.limit, drop && i === 0);
    }
    limits.push(g.limit);
  }
  return limits;
}

describe('GradientLimiter (Gradient2 shape)', () => {
  it('stays at max while RTT is steady', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, now: clock.now });
    drive(clock, g, 100, 50);
    expect(g.limit).toBe(200);
    expect(g.status().longRttMs).toBeCloseTo(50, 6);
  });

  it('converges down when RTT rises, never by more than half a window, and recovers when it falls', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, now: clock.now });
    drive(clock, g, 60, 50); // baseline 50 ms
    expect(g.limit).toBe(200);
    const down = drive(clock, g, 60, 400); // 8x slower: queueing inside the upstream
    // Each window shrinks by at most smoothing * (1 - 0.5) = 10% (gradient clamped at 0.5).
    let prev = 200;
    for (const l of down) {
      expect(l).toBeLessThanOrEqual(prev);
      expect(l).toBeGreaterThanOrEqual(Math.floor(prev * 0.9) - 1);
      prev = l;
    }
    expect(down.at(-1)!).toBeLessThan(20);
    expect(g.status().gradient).toBeLessThan(1);
    const up = drive(clock, g, 300, 50);
    // The long-term RTT was pulled up by the overload; it comes back and the limit grows again.
    expect(up.at(-1)).toBe(200);
    // Growth is gradual: a window adds at most smoothing * queue term (sqrt(limit)).
    let before = down.at(-1)!;
    for (const l of up) {
      expect(l - before).toBeLessThanOrEqual(Math.ceil(0.2 * Math.sqrt(200)) + 1);
      before = l;
    }
  });

  it('tolerates RTT growth within the tolerance', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, tolerance: 1.5, now: clock.now });
    drive(clock, g, 30, 100);
    drive(clock, g, 30, 140); // 1.4x: within tolerance
    expect(g.limit).toBe(200);
  });

  it('leaves the limit alone when traffic, not the upstream, bounds in-flight', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, initial: 100, now: clock.now });
    drive(clock, g, 20, 50);
    for (let w = 0; w < 50; w++) {
      for (let i = 0; i < 20; i++) {
        clock.advance(50);
        g.onSample(1_000, 10, false); // slow, but only 10 in flight of 100+
      }
    }
    expect(g.limit).toBeGreaterThanOrEqual(100);
  });

  it('does not grow in a window with a drop', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, initial: 50, now: clock.now });
    drive(clock, g, 30, 50, true);
    expect(g.limit).toBe(50);
    drive(clock, g, 5, 50);
    expect(g.limit).toBeGreaterThan(50);
  });

  it('does not grow while distressed by another signal, but still shrinks, and grows again once it is not', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 5, max: 200, initial: 50, now: clock.now });
    drive(clock, g, 20, 50); // baseline, and growth from 50
    const grown = g.limit;
    expect(grown).toBeGreaterThan(50);
    g.setDistressed(true);
    drive(clock, g, 30, 50);
    expect(g.limit).toBe(grown);
    drive(clock, g, 10, 400);
    expect(g.limit).toBeLessThan(grown);
    const shrunk = g.limit;
    g.setDistressed(false);
    drive(clock, g, 60, 50);
    expect(g.limit).toBeGreaterThan(shrunk);
  });

  it('waits for minSamples before closing a window', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 1, max: 100, minSamples: 10, now: clock.now });
    for (let i = 0; i < 9; i++) {
      clock.advance(10_000);
      g.onSample(50, 100, false);
    }
    expect(g.status().windows).toBe(0);
    g.onSample(50, 100, false);
    expect(g.status().windows).toBe(1);
  });

  it('keeps the limit between min and max', () => {
    const clock = new FakeClock(0);
    const g = new GradientLimiter({ min: 7, max: 30, now: clock.now });
    drive(clock, g, 20, 10);
    drive(clock, g, 50, 10_000);
    expect(g.limit).toBe(7);
    expect(() => new GradientLimiter({ min: 10, max: 5 })).toThrow(RangeError);
  });
});

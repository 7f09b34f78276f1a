import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/control/backoff.js';
import { describeThreshold, parseThreshold, resolveThreshold } from '../../src/control/threshold.js';

describe('Backoff', () => {
  it('doubles from min to max and starts over after a success', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('takes off at most the jitter share', () => {
    const lo = new Backoff({ minMs: 1_000, jitter: 0.2, random: () => 0.999999 });
    const hi = new Backoff({ minMs: 1_000, jitter: 0.2, random: () => 0 });
    expect(lo.next()).toBe(800);
    expect(hi.next()).toBe(1_000);
  });
});

describe('connection thresholds', () => {
  it('are counts or percentages of capacity', () => {
    expect(resolveThreshold(parseThreshold(80), 500)).toBe(80);
    expect(resolveThreshold(parseThreshold('80%'), 500)).toBe(400);
    expect(resolveThreshold(parseThreshold(' 12.5 % '), 200)).toBe(25);
    expect(resolveThreshold(parseThreshold('80%'), null)).toBeNull();
    expect(resolveThreshold(null, 100)).toBeNull();
    expect(describeThreshold(parseThreshold('80%'))).toBe('80% of capacity');
    expect(() => parseThreshold('eighty')).toThrow(/percentage/);
  });
});

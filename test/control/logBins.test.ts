import { describe, expect, it } from 'vitest';
import { BIN_COUNT, binLowerBound, binOf, MAX_TRACKED_MS } from '../../src/control/logBins.js';
import { prng } from './helpers.js';

describe('log-scale latency bins', () => {
  it('puts every whole millisecond below 128 ms exactly on a bin lower bound', () => {
    for (let ms = 0; ms < 128; ms++) expect(binLowerBound(binOf(ms))).toBe(ms);
  });

  it('has bin bounds that increase strictly, and binOf inverts them', () => {
    for (let b = 1; b < BIN_COUNT; b++) {
      expect(binLowerBound(b)).toBeGreaterThan(binLowerBound(b - 1));
      expect(binOf(binLowerBound(b))).toBe(b);
    }
  });

  it('reports any value at most 1/64 below it, up to the top of the range', () => {
    const rnd = prng(7);
    for (let i = 0; i < 20_000; i++) {
      const ms = 2 + rnd() * (MAX_TRACKED_MS - 2);
      const lower = binLowerBound(binOf(ms));
      expect(lower).toBeLessThanOrEqual(ms);
      expect((ms - lower) / ms).toBeLessThanOrEqual(1 / 64);
    }
  });

  it('sends nonsense to bin 0 and huge values to the top bin', () => {
    expect(binOf(-5)).toBe(0);
    expect(binOf(Number.NaN)).toBe(0);
    expect(binOf(10 * 60_000)).toBe(BIN_COUNT - 1);
    expect(binOf(Number.POSITIVE_INFINITY)).toBe(BIN_COUNT - 1);
  });
});

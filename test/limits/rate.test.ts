import { describe, expect, it } from 'vitest';
import { formatRate, parseRate, rateSchema, RATE_HINT } from '../../src/limits/rate.js';

describe('parseRate', () => {
  it('turns rates into tokens per second', () => {
    expect(parseRate('20/s')).toBe(20);
    expect(parseRate('3/min')).toBeCloseTo(0.05, 12);
    expect(parseRate('100/h')).toBeCloseTo(100 / 3600, 12);
    expect(parseRate('2400/d')).toBeCloseTo(2400 / 86400, 12);
    expect(parseRate('2.5/s')).toBe(2.5);
    expect(parseRate('1000/10s')).toBe(100);
    expect(parseRate('30/2m')).toBeCloseTo(0.25, 12);
    expect(parseRate(' 5 / second ')).toBe(5);
    expect(parseRate('60/MINUTE')).toBe(1);
    expect(parseRate('7200/hours')).toBe(2);
  });

  it('takes a number as tokens per second', () => {
    expect(parseRate(12.5)).toBe(12.5);
  });

  it('refuses anything else with a message that shows the form', () => {
    for (const bad of ['20', '/s', '20/', '20/fortnight', '20 per second', '-5/s', '0/s', '0.0/min', '5/0s', 'abc', '', '1e3/s', '20/s/s', '1/1.5s']) {
      expect(() => parseRate(bad), bad).toThrow(RangeError);
      expect(() => parseRate(bad), bad).toThrow(RATE_HINT);
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2e9]) expect(() => parseRate(bad), String(bad)).toThrow(RATE_HINT);
    expect(() => parseRate('20/fortnight')).toThrow('expected a rate like 20/s, 3/min or 100/h (got "20/fortnight")');
  });
});

describe('formatRate', () => {
  it('writes the shortest exact form', () => {
    expect(formatRate(20)).toBe('20/s');
    expect(formatRate(parseRate('3/min'))).toBe('3/min');
    expect(formatRate(parseRate('100/h'))).toBe('100/h');
    expect(formatRate(parseRate('2/d'))).toBe('2/d');
    expect(formatRate(2.5)).toBe('2.5/s');
    expect(formatRate(parseRate('90/min'))).toBe('1.5/s');
  });

  it('round-trips through parseRate', () => {
    for (const text of ['1/s', '7/min', '13/h', '5/d', '250/s', '0.5/s']) expect(parseRate(formatRate(parseRate(text)))).toBeCloseTo(parseRate(text), 12);
  });
});

describe('rateSchema', () => {
  it('outputs tokens per second', () => {
    expect(rateSchema.parse('20/s')).toBe(20);
    expect(rateSchema.parse(4)).toBe(4);
  });

  it('reports a bad rate as a zod issue with the hint', () => {
    // reportInput is how config/load.ts asks for the offending value, to print it back.
    const r = rateSchema.safeParse('20/fortnight', { reportInput: true });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ code: 'custom', message: RATE_HINT, input: '20/fortnight' })]);
    const zero = rateSchema.safeParse('0/s');
    expect(zero.error!.issues[0]!.message).toBe(`${RATE_HINT}; the rate must be above zero`);
    const wrongType = rateSchema.safeParse(true);
    expect(wrongType.error!.issues[0]!.message).toBe(RATE_HINT);
  });
});

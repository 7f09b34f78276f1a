/**
 * The load harness's own arithmetic: percentiles, Kendall's tau (against the O(n^2) definition), the
 * busiest window, counts per bin, and the figures built on them (FIFO fidelity, clients waiting).
 */
import { describe, expect, it } from 'vitest';
import { seededRng, type Visit } from './clients.js';
import { fifoTau, waitingSeries } from './figures.js';
import { ServicePool } from './servicePool.js';
import { busiestWindow, countPerBin, kendallTau, percentile } from './stats.js';

/** Kendall's tau-b straight from its definition, over every pair. */
function naiveTau(x: number[], y: number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i]! - x[j]!);
      const b = Math.sign(y[i]! - y[j]!);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

function visit(id: string, start: number, tenant = 't'): Visit {
  return { id, tenant, label: 'x', kind: 'api', start, end: start + 10_000, ok: true, status: 200, attempts: 1, polls: 0, refusals: 0, outcome: 'ok' };
}

describe('percentile', () => {
  it('is the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
  });

  it('is NaN for nothing and refuses a percentile outside 0..100', () => {
    expect(percentile([], 99)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/within 0..100/);
  });
});

describe('kendallTau', () => {
  it('is 1 for the same order, -1 for the reverse, and ignores the scale', () => {
    const x = [1, 2, 3, 4, 5, 6];
    expect(kendallTau(x, x.map((v) => v * 10 + 3))).toBeCloseTo(1, 12);
    expect(kendallTau(x, x.map((v) => -v))).toBeCloseTo(-1, 12);
  });

  it('counts one swapped neighbour pair as one discordant pair', () => {
    // 10 pairs, 9 concordant, 1 discordant: (9 - 1) / 10.
    expect(kendallTau([1, 2, 3, 4, 5], [1, 2, 4, 3, 5])).toBeCloseTo(0.8, 12);
  });

  it('agrees with the definition on random data with ties in both lists', () => {
    const rng = seededRng(42);
    for (let round = 0; round < 30; round++) {
      const n = 2 + Math.floor(rng() * 300);
      const x = Array.from({ length: n }, () => Math.floor(rng() * 40));
      const y = x.map((v) => (rng() < 0.7 ? v + Math.floor(rng() * 10) : Math.floor(rng() * 50)));
      expect(kendallTau(x, y)).toBeCloseTo(naiveTau(x, y), 10);
    }
  });

  it('is NaN when there is no order to compare, and refuses lists of different lengths', () => {
    expect(kendallTau([1], [1])).toBeNaN();
    expect(kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => kendallTau([1, 2], [1])).toThrow(/same length/);
  });
});

describe('counts over time', () => {
  it('counts per bin, leaving out what is outside', () => {
    expect(countPerBin([0, 99, 100, 250, 399, 400, -1], 0, 400, 100)).toEqual([2, 1, 1, 1]);
  });

  it('finds the busiest window even when it straddles a bin boundary', () => {
    const times = [900, 950, 1000, 1050, 1100, 5000];
    // Fixed 1 s bins would see at most 3 in one bin; the window from 900 holds 5.
    expect(Math.max(...countPerBin(times, 0, 6000, 1000))).toBe(3);
    expect(busiestWindow(times, 1000)).toEqual({ count: 5, at: 900 });
    // Only windows that start in [from, to) count.
    expect(busiestWindow(times, 1000, 1001, 6000)).toEqual({ count: 2, at: 1050 });
    expect(busiestWindow([], 1000)).toEqual({ count: 0, at: null });
  });
});

describe('figures from visits', () => {
  it('measures FIFO fidelity per tenant, over the visits that reached the origin', () => {
    const visits = [visit('a1', 0, 'a'), visit('a2', 1, 'a'), visit('a3', 2, 'a'), visit('b1', 0, 'b'), visit('b2', 1, 'b'), visit('lost', 3, 'a')];
    const inOrder = new Map([['a1', 10], ['a2', 11], ['a3', 12], ['b1', 20], ['b2', 21]]);
    expect(fifoTau(visits, inOrder)).toBeCloseTo(1, 12);
    // Tenant b let in backwards: a's tau 1 (3 visits) and b's -1 (2 visits), weighted by visits.
    const bSwapped = new Map([...inOrder, ['b1', 22]]);
    expect(fifoTau(visits, bSwapped)).toBeCloseTo((3 * 1 + 2 * -1) / 5, 12);
    expect(fifoTau(visits, new Map())).toBeNaN();
  });

  it('counts a client as waiting from its first attempt until it reaches the origin or gives up', () => {
    const visits = [visit('a', 0), visit('b', 100), { ...visit('gone', 100), ok: false, end: 250 }];
    const first = new Map([['a', 300], ['b', 150]]);
    const s = waitingSeries(visits, first, 0, 400, 50);
    expect(s.t).toEqual([0, 50, 100, 150, 200, 250, 300, 350]);
    expect(s.v).toEqual([1, 1, 3, 2, 2, 1, 0, 0]);
  });
});

describe('the origin\'s service pool', () => {
  it('serves at most `workers` at a time, first come first served, and counts heavy work in service', () => {
    const timers: { ms: number; fn: () => void }[] = [];
    const pool = new ServicePool(2, (ms, fn) => void timers.push({ ms, fn }));
    const done: number[] = [];
    for (let i = 0; i < 5; i++) pool.submit({ cost: () => 10 * (i + 1), heavy: i === 0, done: () => done.push(i) });
    expect([pool.inService, pool.waiting, pool.heavyInService]).toEqual([2, 3, 1]);
    expect(timers.map((t) => t.ms)).toEqual([10, 20]);
    timers.shift()!.fn();
    expect(done).toEqual([0]);
    expect([pool.inService, pool.waiting, pool.heavyInService]).toEqual([2, 2, 0]);
    // The next in line, and its cost is decided when a worker takes it.
    expect(timers.map((t) => t.ms)).toEqual([20, 30]);
    while (timers.length > 0) timers.shift()!.fn();
    expect(done).toEqual([0, 1, 2, 3, 4]);
    expect([pool.inService, pool.waiting]).toEqual([0, 0]);
  });
});

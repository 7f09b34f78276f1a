/**
 * The bound on tenant labels: the busiest tenants named, everyone else `other`, memory bounded however
 * many tenants pass by, every exported count only growing, and all labels adding up to the total.
 */
import { describe, expect, it } from 'vitest';
import { OTHER_TENANT, TopTenants } from '../../src/admin/topTenants.js';
import { FakeClock } from '../room/helpers.js';

/** The exported counts, by label, as a scrape would read them (copied: the arrays keep counting). */
function labels(t: TopTenants): Map<string, number[]> {
  return new Map([...t.labels()].map(([tenant, counts]) => [tenant, [...counts]]));
}

function total(t: TopTenants): number {
  let n = 0;
  for (const [, counts] of t.labels()) for (const c of counts) n += c;
  return n;
}

describe('TopTenants', () => {
  it('names every tenant at its first request while names are free, and counts each exactly', () => {
    const t = new TopTenants({ limit: 3, width: 2 });
    for (let i = 0; i < 5; i++) t.count('acme', 0);
    t.count('globex', 1);
    t.count('globex', 1);
    t.count('initech', 0);
    t.count('umbrella', 1); // the fourth: no name left
    expect(labels(t)).toEqual(
      new Map([
        ['acme', [5, 0]],
        ['globex', [0, 2]],
        ['initech', [1, 0]],
        [OTHER_TENANT, [0, 1]],
      ]),
    );
  });

  it('with 100,000 distinct tenants keeps memory and labels bounded and names the genuinely busy ones', () => {
    const clock = new FakeClock();
    const limit = 20;
    const t = new TopTenants({ limit, width: 2, now: clock.now });
    const busy = ['busy-0', 'busy-1', 'busy-2', 'busy-3', 'busy-4'];
    /** Requests of each busy tenant counted while it had its name (it must keep it once it has it). */
    const sinceNamed = new Map<string, number>();
    let sent = 0;
    let maxSize = 0;
    let previous = labels(t);
    for (let i = 0; i < 100_000; i++) {
      // 100,000 tenants seen once each (the first 20 take the free names); from the 1,000th on, every
      // 50 of them one request from each busy tenant (about 2% of the traffic each, against
      // Space-Saving's guarantee of 1/160 here).
      t.count(`tenant-${i}`, i % 2);
      sent++;
      if (i >= 1_000 && i % 50 === 0) {
        const named = new Set(t.named());
        for (const b of busy) {
          t.count(b, 0);
          sent++;
          // Names change only at a rebalance (or at a tenant's first request while one is free).
          if (named.has(b)) sinceNamed.set(b, (sinceNamed.get(b) ?? 0) + 1);
          else expect(sinceNamed.has(b), `${b} lost its name`).toBe(false);
        }
      }
      maxSize = Math.max(maxSize, t.size);
      if (i % 5_000 === 4_999) {
        // A scrape every 15 s.
        clock.advance(15_000);
        t.rebalance();
        const now = labels(t);
        expect(now.size).toBeLessThanOrEqual(limit + 1);
        // Nothing exported ever goes down: `other` only grows, a named tenant's counts only grow.
        for (const [tenant, counts] of now) {
          const before = previous.get(tenant);
          if (before !== undefined) counts.forEach((c, k) => expect(c).toBeGreaterThanOrEqual(before[k]!));
        }
        previous = now;
      }
    }
    expect(maxSize).toBeLessThanOrEqual(limit + 160);
    expect(t.size).toBeLessThanOrEqual(limit + 160);
    const final = labels(t);
    expect(final.size).toBeLessThanOrEqual(limit + 1);
    // Every busy tenant has its name, and counts exactly what it sent since it got it.
    for (const b of busy) {
      expect(final.has(b), b).toBe(true);
      expect(final.get(b)![0]).toBe(sinceNamed.get(b));
    }
    // Found at the first scrape after they started: named for all but their first 80 of 1,980 requests.
    for (const b of busy) expect(sinceNamed.get(b)).toBe(1_900);
    // Every request was counted under exactly one label; the five tenants that gave their names to the
    // busy ones took their series (one request each) with them.
    expect(total(t)).toBe(sent - busy.length);
  });

  it('lets an idle tenant keep its name while nobody needs it, and gives it to a newcomer once its count has decayed', () => {
    const clock = new FakeClock();
    const t = new TopTenants({ limit: 1, width: 1, now: clock.now, halfLifeMs: 60_000, sampleEvery: 1 });
    for (let i = 0; i < 10; i++) t.count('acme', 0);
    clock.advance(60 * 60_000); // an hour of silence: its count is next to nothing
    t.rebalance();
    expect(t.named()).toEqual(['acme']); // no one else wants the name
    t.count('globex', 0); // names are taken: counted as other, and a candidate
    t.rebalance();
    expect(t.named()).toEqual(['globex']);
    t.count('globex', 0);
    t.count('acme', 0);
    expect(labels(t)).toEqual(
      new Map([
        ['globex', [1]],
        [OTHER_TENANT, [2]],
      ]),
    );
  });

  it('keeps a busy tenant named against a newcomer until its count has decayed below two thirds of the newcomer\'s', () => {
    const clock = new FakeClock();
    const t = new TopTenants({ limit: 1, width: 1, now: clock.now, halfLifeMs: 60_000, sampleEvery: 1 });
    for (let i = 0; i < 8; i++) t.count('acme', 0);
    t.count('globex', 0);
    t.rebalance();
    clock.advance(2 * 60_000);
    t.rebalance(); // two half-lives: acme 8 -> 2, globex 1 -> 0.25
    expect(t.named()).toEqual(['acme']);
    for (let i = 0; i < 2; i++) t.count('globex', 0); // globex 2.25: not 1.5 x 2
    t.rebalance();
    expect(t.named()).toEqual(['acme']);
    t.count('globex', 0); // 3.25 > 3
    t.rebalance();
    expect(t.named()).toEqual(['globex']);
  });

  it('gives a name to a challenger only with 1.5 times the count of the least busy named tenant', () => {
    const t = new TopTenants({ limit: 1, width: 1, sampleEvery: 1 });
    for (let i = 0; i < 10; i++) t.count('acme', 0);
    for (let i = 0; i < 14; i++) t.count('globex', 0);
    t.rebalance();
    expect(t.named()).toEqual(['acme']);
    for (let i = 0; i < 2; i++) t.count('globex', 0); // 16 > 1.5 x 10
    t.rebalance();
    expect(t.named()).toEqual(['globex']);
    // acme's series is gone; globex's starts at zero; `other` kept everything counted under it.
    expect(labels(t)).toEqual(
      new Map([
        ['globex', [0]],
        [OTHER_TENANT, [16]],
      ]),
    );
    t.count('globex', 0);
    t.count('acme', 0);
    expect(labels(t)).toEqual(
      new Map([
        ['globex', [1]],
        [OTHER_TENANT, [17]],
      ]),
    );
  });

  it('drops the least busy names when the limit is lowered (a reload)', () => {
    const t = new TopTenants({ limit: 3, width: 1, sampleEvery: 1 });
    for (const [tenant, n] of [
      ['a', 5],
      ['b', 9],
      ['c', 2],
    ] as const) {
      for (let i = 0; i < n; i++) t.count(tenant, 0);
    }
    t.rebalance(1);
    expect(t.named()).toEqual(['b']);
    t.rebalance(0);
    expect(t.named()).toEqual([]);
    t.count('d', 0);
    expect(labels(t)).toEqual(new Map([[OTHER_TENANT, [1]]]));
  });

  it('never names a tenant called "other": it is counted with the others', () => {
    const t = new TopTenants({ limit: 5, width: 1 });
    for (let i = 0; i < 100; i++) t.count(OTHER_TENANT, 0);
    t.rebalance();
    expect(t.named()).toEqual([]);
    expect(labels(t)).toEqual(new Map([[OTHER_TENANT, [100]]]));
  });
});

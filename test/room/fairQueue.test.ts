import { describe, expect, it } from 'vitest';
import { FakeClock, drain, makeQueue, prng, waiter } from './helpers.js';
import type { RoomClass } from '../../src/room/classes.js';

describe('FairQueue: FIFO within a tenant and class', () => {
  it('admits 1,000 waiters of one tenant and class in arrival order', () => {
    const q = makeQueue(new FakeClock());
    const ids = Array.from({ length: 1000 }, (_, i) => `w${i}`);
    for (const id of ids) expect(q.enqueue(waiter(id))).toBe('queued');
    expect(drain(q)).toEqual(ids);
    expect(q.size).toBe(0);
  });

  it('gives the exact place for one tenant and class, and it only goes down as others are admitted', () => {
    const q = makeQueue(new FakeClock());
    const ids = Array.from({ length: 1000 }, (_, i) => `w${i}`);
    for (const id of ids) q.enqueue(waiter(id));
    ids.forEach((id, i) => expect(q.position(id)).toBe(i + 1));
    drain(q, 300);
    ids.slice(0, 300).forEach((id) => expect(q.position(id)).toBeUndefined());
    ids.slice(300).forEach((id, i) => expect(q.position(id)).toBe(i + 1));
    q.remove('w500');
    expect(q.position('w499')).toBe(200);
    expect(q.position('w501')).toBe(201);
  });

  it('restores a place from a ticket seq: a returning waiter goes back in front of later arrivals', () => {
    const q = makeQueue(new FakeClock());
    for (const s of [10, 20, 40, 50]) q.enqueue(waiter(`s${s}`, 'a', 'normal', { seq: s }));
    // s30 waited, lost its connection, and comes back with its ticket.
    expect(q.enqueue(waiter('s30', 'a', 'normal', { seq: 30 }))).toBe('queued');
    expect(q.position('s30')).toBe(3);
    expect(drain(q)).toEqual(['s10', 's20', 's30', 's40', 's50']);
  });

  it('restores a whole restart herd, in any order of return, to seq order', () => {
    const q = makeQueue(new FakeClock());
    const rnd = prng(7);
    const seqs = Array.from({ length: 3000 }, (_, i) => 1_700_000_000_000_000 + i * 17);
    const shuffled = [...seqs].sort(() => rnd() - 0.5);
    for (const s of shuffled) q.enqueue(waiter(`t${s}`, 'a', 'normal', { seq: s }));
    seqs.forEach((s, i) => expect(q.position(`t${s}`)).toBe(i + 1));
    expect(drain(q)).toEqual(seqs.map((s) => `t${s}`));
  });

  it('answers exists for a duplicate id and full beyond the per-tenant and total bounds', () => {
    const q = makeQueue(new FakeClock(), { maxPerTenant: 3, maxTotal: 5 });
    for (let i = 0; i < 3; i++) expect(q.enqueue(waiter(`a${i}`, 'a'))).toBe('queued');
    expect(q.enqueue(waiter('a0', 'a'))).toBe('exists');
    expect(q.enqueue(waiter('a3', 'a'))).toBe('full');
    expect(q.enqueue(waiter('b0', 'b'))).toBe('queued');
    expect(q.enqueue(waiter('c0', 'c'))).toBe('queued');
    expect(q.enqueue(waiter('d0', 'd'))).toBe('full');
    expect(q.size).toBe(5);
    expect(q.sizeOf('a')).toBe(3);
    q.next();
    expect(q.enqueue(waiter('d0', 'd'))).toBe('queued');
  });

  it('never admits a removed waiter', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 5; i++) q.enqueue(waiter(`w${i}`));
    expect(q.remove('w2')).toBe(true);
    expect(q.remove('w2')).toBe(false);
    expect(drain(q)).toEqual(['w0', 'w1', 'w3', 'w4']);
  });
});

describe('FairQueue: weighted fair admission across tenants (deficit round robin)', () => {
  it("admits a small tenant's 10 waiters within 10 x active tenants, behind a 10,000-waiter flood", () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 10_000; i++) q.enqueue(waiter(`a${i}`, 'a'));
    q.next(); // the flood is already being served when B arrives
    for (let i = 0; i < 10; i++) q.enqueue(waiter(`b${i}`, 'b'));
    expect(q.position('b9')).toBe(20);
    const order = drain(q, 40);
    const lastB = order.lastIndexOf('b9') + 1;
    expect(lastB).toBeGreaterThan(0);
    expect(lastB).toBeLessThanOrEqual(10 * 2 + 1);
    expect(order.filter((id) => id.startsWith('b'))).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`));
  });

  it('holds with three active tenants, two of them flooding', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 10_000; i++) {
      q.enqueue(waiter(`a${i}`, 'a'));
      q.enqueue(waiter(`c${i}`, 'c'));
    }
    for (let i = 0; i < 10; i++) q.enqueue(waiter(`b${i}`, 'b'));
    const order = drain(q, 60);
    expect(order.indexOf('b9') + 1).toBeLessThanOrEqual(10 * 3 + 1);
    expect(q.position('a9999')).toBeGreaterThan(q.position('c9000')!);
  });

  it('puts a tenant that empties and comes straight back at the end of the round, not next in line', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 1000; i++) {
      q.enqueue(waiter(`a${i}`, 'a'));
      q.enqueue(waiter(`c${i}`, 'c'));
    }
    let b = 0;
    q.enqueue(waiter(`b${b}`, 'b'));
    let fromB = 0;
    for (let k = 0; k < 300; k++) {
      if (q.next()!.tenant !== 'b') continue;
      fromB++;
      q.enqueue(waiter(`b${++b}`, 'b')); // one request at a time, re-queued the moment it is let in
    }
    expect(fromB).toBe(100);
  });

  it('shares admissions in proportion to the weights', () => {
    for (const [wa, wb] of [
      [3, 1],
      [1.5, 1],
      [1, 4],
    ] as const) {
      const q = makeQueue(new FakeClock(), { weights: { a: wa, b: wb } });
      for (let i = 0; i < 5000; i++) {
        q.enqueue(waiter(`a${i}`, 'a'));
        q.enqueue(waiter(`b${i}`, 'b'));
      }
      const n = 2000;
      const fromA = drain(q, n).filter((id) => id.startsWith('a')).length;
      const expected = (n * wa) / (wa + wb);
      expect(Math.abs(fromA - expected)).toBeLessThanOrEqual(Math.max(wa, wb));
    }
  });

  it('applies new weights on reconfigure without losing anyone', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 1000; i++) {
      q.enqueue(waiter(`a${i}`, 'a'));
      q.enqueue(waiter(`b${i}`, 'b'));
    }
    expect(drain(q, 100).filter((id) => id.startsWith('a')).length).toBe(50);
    q.reconfigure({ weights: { a: 4 } });
    expect(drain(q, 100).filter((id) => id.startsWith('a')).length).toBeGreaterThanOrEqual(79);
    expect(q.size).toBe(1800);
    expect(() => q.reconfigure({ weights: { a: 0 } })).toThrow(/tenant a/);
  });

  it('isolates tenants before classes: a critical flood in one tenant does not starve bulk in another', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 1000; i++) q.enqueue(waiter(`a${i}`, 'a', 'critical'));
    for (let i = 0; i < 1000; i++) q.enqueue(waiter(`b${i}`, 'b', 'bulk'));
    const fromB = drain(q, 200).filter((id) => id.startsWith('b')).length;
    expect(fromB).toBe(100);
  });

  it('skips tenants the caller says cannot take an admission, without losing their places', () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 3; i++) q.enqueue(waiter(`a${i}`, 'a'));
    for (let i = 0; i < 3; i++) q.enqueue(waiter(`b${i}`, 'b'));
    const onlyB = (t: string) => t === 'b';
    expect([q.next(onlyB)?.id, q.next(onlyB)?.id, q.next(onlyB)?.id]).toEqual(['b0', 'b1', 'b2']);
    expect(q.next(onlyB)).toBeUndefined();
    expect(q.next(() => false)).toBeUndefined();
    expect(drain(q)).toEqual(['a0', 'a1', 'a2']);
  });

  it('estimates positions across tenants to within a couple of admissions', () => {
    const q = makeQueue(new FakeClock(), { weights: { big: 2 } });
    const ids: string[] = [];
    for (const [tenant, n] of [
      ['big', 300],
      ['mid', 100],
      ['small', 10],
    ] as const) {
      for (let i = 0; i < n; i++) {
        q.enqueue(waiter(`${tenant}${i}`, tenant));
        ids.push(`${tenant}${i}`);
      }
    }
    const predicted = new Map(ids.map((id) => [id, q.position(id)!]));
    const actual = drain(q);
    actual.forEach((id, i) => expect(Math.abs(predicted.get(id)! - (i + 1))).toBeLessThanOrEqual(2));
  });
});

describe('FairQueue: classes, with a minimum share for the lower ones', () => {
  /** Keeps `n` waiters of a class queued for tenant 'a'. */
  function keepWaiting(q: ReturnType<typeof makeQueue>, cls: RoomClass, n: number, counter: { i: number }): void {
    while (q.countsOf('a')[cls] < n) q.enqueue(waiter(`${cls}${counter.i++}`, 'a', cls));
  }

  function admitWith(classes: RoomClass[], opts: Parameters<typeof makeQueue>[1] = {}, admissions = 1000): Record<RoomClass, number> {
    const q = makeQueue(new FakeClock(), opts);
    const counter = { i: 0 };
    const got: Record<RoomClass, number> = { critical: 0, normal: 0, bulk: 0 };
    for (let k = 0; k < admissions; k++) {
      for (const cls of classes) keepWaiting(q, cls, 50, counter);
      got[q.next()!.cls]++;
    }
    return got;
  }

  it('serves critical before normal before bulk', () => {
    const q = makeQueue(new FakeClock());
    q.enqueue(waiter('b', 'a', 'bulk'));
    q.enqueue(waiter('n', 'a', 'normal'));
    q.enqueue(waiter('c', 'a', 'critical'));
    expect(drain(q)).toEqual(['c', 'n', 'b']);
  });

  it('gives bulk at least its minimum share over 1,000 admissions while critical always waits', () => {
    const got = admitWith(['critical', 'bulk']);
    expect(got.bulk).toBeGreaterThanOrEqual(50);
    expect(got.bulk).toBeLessThanOrEqual(51);
    expect(got.critical).toBe(1000 - got.bulk);
  });

  it('gives normal and bulk their shares together, and nothing more while critical waits', () => {
    const got = admitWith(['critical', 'normal', 'bulk']);
    expect(got.normal).toBeGreaterThanOrEqual(99);
    expect(got.bulk).toBeGreaterThanOrEqual(49);
    expect(got.critical).toBeGreaterThanOrEqual(845);
  });

  it('takes the shares from the configuration: with none, bulk waits while critical waits', () => {
    expect(admitWith(['critical', 'bulk'], { minShares: { normal: 0, bulk: 0 } }).bulk).toBe(0);
    expect(admitWith(['critical', 'bulk'], { minShares: { normal: 0.1, bulk: 0.25 } }).bulk).toBe(250);
    expect(() => makeQueue(new FakeClock(), { minShares: { normal: 0.6, bulk: 0.5 } })).toThrow(/less than 1/);
  });

  it("estimates a lower class's place from its share: first bulk behind 100 critical is 20th", () => {
    const q = makeQueue(new FakeClock());
    for (let i = 0; i < 100; i++) q.enqueue(waiter(`c${i}`, 'a', 'critical'));
    q.enqueue(waiter('b0', 'a', 'bulk'));
    q.enqueue(waiter('b1', 'a', 'bulk'));
    expect(q.position('b0')).toBe(20);
    expect(q.position('b1')).toBe(40);
    expect(q.position('c50')).toBe(53); // 51 critical and two bulk turns
    const order = drain(q);
    expect(order.indexOf('b0') + 1).toBe(20);
    expect(order.indexOf('b1') + 1).toBe(40);
    expect(order.indexOf('c50') + 1).toBe(53);
  });

  it('keeps a place estimate that never rises as others are admitted or leave, in a mixed queue', () => {
    const q = makeQueue(new FakeClock(), { weights: { t1: 2 } });
    const rnd = prng(42);
    const classes: RoomClass[] = ['critical', 'normal', 'bulk'];
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const id = `m${i}`;
      q.enqueue(waiter(id, `t${Math.floor(rnd() * 3)}`, classes[Math.floor(rnd() * 3)]!));
      ids.push(id);
    }
    let last = new Map(ids.map((id) => [id, q.position(id)!]));
    let checked = 0;
    const rises: string[] = [];
    while (q.size > 0) {
      if (rnd() < 0.1) q.remove(ids[Math.floor(rnd() * ids.length)]!);
      else q.next();
      const now = new Map<string, number>();
      for (const [id, before] of last) {
        const p = q.position(id);
        if (p === undefined) continue;
        if (p > before) rises.push(`${id}: ${before} -> ${p}`);
        now.set(id, p);
        checked++;
      }
      last = now;
    }
    expect(rises).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('reports counts per tenant and class', () => {
    const q = makeQueue(new FakeClock());
    q.enqueue(waiter('1', 'a', 'critical'));
    q.enqueue(waiter('2', 'a', 'bulk'));
    q.enqueue(waiter('3', 'b', 'bulk'));
    expect(q.countsOf('a')).toEqual({ critical: 1, normal: 0, bulk: 1 });
    expect([...q.tenants()]).toEqual([
      { tenant: 'a', critical: 1, normal: 0, bulk: 1 },
      { tenant: 'b', critical: 0, normal: 0, bulk: 1 },
    ]);
    expect(q.tenantCount).toBe(2);
  });
});

/**
 * The one contract every Store passes (memory and Redis alike), with a fake clock the store is built
 * on, so time moves only when a test says so. Run it from a *.test.ts file with a factory.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/limits/gcra.js';
import { NEVER, bucketKey, type BucketSpec, type LimitDecision, type Store } from '../../src/limits/store.js';

export interface FakeClock {
  now: number;
}

/** Builds a store whose clock (ms) reads `clock.now`. The suite closes it. */
export type StoreFactory = (clock: FakeClock) => Promise<Store> | Store;

let tenants = 0;
/** A tenant no other test (or earlier run against the same Redis) has used. */
function freshTenant(): string {
  return `t${++tenants}-${randomBytes(4).toString('hex')}`;
}

async function withStore(factory: StoreFactory, start: number, body: (store: Store, clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = { now: start };
  const store = await factory(clock);
  try {
    await body(store, clock);
  } finally {
    await store.close();
  }
}

async function countPassed(store: Store, buckets: BucketSpec[], attempts: number, cost = 1): Promise<number> {
  let passed = 0;
  for (let i = 0; i < attempts; i++) {
    const d = await store.consume(buckets, cost);
    expect(d.degraded).toBe(false);
    if (d.allowed) passed++;
  }
  return passed;
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    it('lets exactly burst through at one instant', async () => {
      await withStore(factory, 1_000_000, async (store) => {
        const b = [{ key: bucketKey(freshTenant(), 'c', 'alice'), rate: 5, burst: 7 }];
        expect(await countPassed(store, b, 20)).toBe(7);
      });
    });

    it('refund gives tokens back, never beyond a full bucket', async () => {
      await withStore(factory, 2_000_000, async (store) => {
        const b = [{ key: bucketKey(freshTenant(), 'c', 'r'), rate: 1, burst: 3 }];
        expect(await countPassed(store, b, 5)).toBe(3);
        await store.refund(b, 1, false);
        expect(await countPassed(store, b, 5)).toBe(1);
        await store.refund(b, 10, false);
        expect(await countPassed(store, b, 5)).toBe(3);
      });
    });

    it('lets exactly floor(rate * t) more through after t seconds, at a rate of 3/min and 3/s', async () => {
      await withStore(factory, 5_000, async (store, clock) => {
        const perMinute = [{ key: bucketKey(freshTenant(), 'c', 'm'), rate: 3 / 60, burst: 3 }];
        const perSecond = [{ key: bucketKey(freshTenant(), 'c', 's'), rate: 3, burst: 2 }];
        expect(await countPassed(store, perMinute, 5)).toBe(3);
        expect(await countPassed(store, perSecond, 5)).toBe(2);
        const start = clock.now;
        let minutePasses = 0;
        let secondPasses = 0;
        // Every 100 ms for 50 s: the token due at k * 333.33.. ms passes on the first tick after it.
        for (let step = 1; step <= 500; step++) {
          clock.now = start + step * 100;
          minutePasses += await countPassed(store, perMinute, 2);
          secondPasses += await countPassed(store, perSecond, 2);
          const t = step * 100;
          expect(minutePasses).toBe(Math.floor((3 / 60) * (t / 1000) + 1e-9));
          expect(secondPasses).toBe(Math.floor(3 * (t / 1000) + 1e-9));
        }
      });
    });

    it('takes cost > 1 at once, and never lets a cost above burst through', async () => {
      await withStore(factory, 0, async (store, clock) => {
        const b = [{ key: bucketKey(freshTenant(), 'c', 'x'), rate: 2, burst: 10 }];
        expect(await countPassed(store, b, 5, 3)).toBe(3);
        const refused = await store.consume(b, 3);
        expect(refused).toMatchObject({ allowed: false, refusedBy: 0, retryAfterMs: 1000, buckets: [{ remaining: 1, resetMs: 4500 }] });
        clock.now += 999;
        expect((await store.consume(b, 3)).allowed).toBe(false);
        clock.now += 1;
        expect(await store.consume(b, 3)).toMatchObject({ allowed: true, buckets: [{ remaining: 0, resetMs: 5000 }] });
        const never = await store.consume(b, 11);
        expect(never).toMatchObject({ allowed: false, refusedBy: 0, retryAfterMs: NEVER });
        clock.now += 3_600_000;
        expect((await store.consume(b, 11)).allowed).toBe(false);
        expect((await store.consume(b, 10)).allowed).toBe(true);
      });
    });

    it('decides client and tenant buckets atomically: a refusal takes nothing from any bucket', async () => {
      await withStore(factory, 0, async (store, clock) => {
        const tenant = freshTenant();
        const tenantBucket = { key: bucketKey(tenant, 'tenant', ''), rate: 1, burst: 3 };
        const alice = [{ key: bucketKey(tenant, 'c', 'alice'), rate: 1, burst: 5 }, tenantBucket];
        const bob = [{ key: bucketKey(tenant, 'c', 'bob'), rate: 1, burst: 5 }, tenantBucket];
        expect(await countPassed(store, alice, 3)).toBe(3);
        const refused = await store.consume(alice, 1);
        expect(refused).toMatchObject({ allowed: false, refusedBy: 1, retryAfterMs: 1000, degraded: false });
        // Alice's own bucket kept the tokens the tenant refused: 5 - 3.
        expect(refused.buckets).toEqual([
          { remaining: 2, resetMs: 3000 },
          { remaining: 0, resetMs: 3000 },
        ]);
        expect((await store.consume(bob, 1)).refusedBy).toBe(1);
        clock.now += 1000;
        expect(await store.consume(bob, 1)).toMatchObject({ allowed: true, buckets: [{ remaining: 4 }, { remaining: 0 }] });
        expect((await store.consume(alice, 1)).allowed).toBe(false);
      });
    });

    it('lets a retry through after exactly retryAfterMs', async () => {
      await withStore(factory, 10_000, async (store, clock) => {
        const b = [{ key: bucketKey(freshTenant(), 'c', 'r'), rate: 3, burst: 2 }];
        await countPassed(store, b, 2);
        clock.now += 10;
        const d = await store.consume(b, 1);
        expect(d.allowed).toBe(false);
        expect(d.retryAfterMs).toBeCloseTo(1000 / 3 - 10, 6);
        const due = clock.now + d.retryAfterMs;
        clock.now = due - 0.001;
        expect((await store.consume(b, 1)).allowed).toBe(false);
        clock.now = due;
        expect((await store.consume(b, 1)).allowed).toBe(true);
      });
    });

    it('refuses keys decided together that do not share a hash tag', async () => {
      await withStore(factory, 0, async (store) => {
        const mixed = [
          { key: bucketKey('a', 'c', 'x'), rate: 1, burst: 1 },
          { key: bucketKey('b', 'tenant', ''), rate: 1, burst: 1 },
        ];
        expect(() => store.consume(mixed, 1)).toThrow(/hash tag/);
        expect(() => store.consume([{ key: 'k', rate: 0, burst: 1 }], 1)).toThrow(RangeError);
        expect(() => store.consume([{ key: 'k', rate: 1, burst: 1 }], -1)).toThrow(RangeError);
      });
    });

    it('takes the same decisions as gcra.decide for a random workload, to the last bit', async () => {
      await withStore(factory, 123_456.789, async (store, clock) => {
        const tenant = freshTenant();
        const shapes = [
          { rate: 3 / 60, burst: 3 },
          { rate: 1000 / 7, burst: 13 },
          { rate: 0.7, burst: 2.5 },
          { rate: 40, burst: 40 },
        ];
        const specs: BucketSpec[] = shapes.map((s, i) => ({ key: bucketKey(tenant, 'b', String(i)), ...s }));
        const reference = new Map<string, number>();
        let seed = 42;
        const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        let refusals = 0;
        for (let i = 0; i < 400; i++) {
          clock.now += random() < 0.2 ? random() * 2000 : random() * 30;
          const chosen = specs.filter(() => random() < 0.6);
          if (chosen.length === 0) chosen.push(specs[i % specs.length]!);
          const cost = random() < 0.2 ? 1 + Math.floor(random() * 3) : 1;
          const tats = chosen.map((s) => reference.get(s.key) ?? -Infinity);
          const expected: LimitDecision = decide(chosen, tats, cost, clock.now);
          if (expected.allowed) chosen.forEach((s, k) => reference.set(s.key, tats[k]!));
          else refusals++;
          expect(await store.consume(chosen, cost)).toEqual(expected);
        }
        expect(refusals).toBeGreaterThan(50);
      });
    });
  });
}

/**
 * The shared queue's scripts against a private redis-server: the same admission order and positions
 * as FairQueue for the same arrivals (the policy is ported, so the in-process queue is the oracle),
 * one global sequence across instances, the global admission budget and how it survives an instance
 * dying, wake-up routing to the instance that holds a waiter, abandonment, tickets and deadlines.
 *
 * The scripts read an injected clock (the `clock` option) so abandonment and instance expiry are
 * tested without sleeping.
 */
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../../src/room/fairQueue.js';
import type { RoomClass } from '../../../src/room/classes.js';
import { RedisRoomQueue, type Report, type RoomPolicy } from '../../../src/room/shared/redisRoomQueue.js';
import { silentLogger } from '../../helpers/index.js';
import { redisPerFile } from '../../helpers/redisPerFile.js';
import { roomPolicy } from '../../helpers/roomPolicy.js';
import { FakeClock, prng } from '../helpers.js';

const queues: RedisRoomQueue[] = [];

const db = redisPerFile(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

const POLICY = roomPolicy();

/** A queue on the private Redis, connected; `clock` null for Redis's own clock. */
async function queue(clock: FakeClock | null, id: string, policy: Partial<RoomPolicy> = {}): Promise<RedisRoomQueue> {
  const q = new RedisRoomQueue({ connection: { url: db.server.url }, logger: silentLogger(), instanceId: id, commandTimeoutMs: 1_000, ...(clock ? { clock: clock.now } : {}) });
  q.setPolicy({ ...POLICY, ...policy });
  queues.push(q);
  // The first call connects; until then the queue says it is degraded.
  for (let i = 0; i < 200 && (await q.sync({ ensure: [], collected: [], forget: [] }, idle)) === null; i++) await new Promise((r) => setTimeout(r, 10));
  expect(q.degraded).toBe(false);
  return q;
}

const idle: Report = { inFlight: 0, allowance: 0, canAdmit: false };
const admitOne: Report = { inFlight: 0, allowance: 0, canAdmit: true, maxAdmit: 1 };
const CLASSES: RoomClass[] = ['critical', 'normal', 'bulk'];

async function enter(q: RedisRoomQueue, tenant: string, cls: RoomClass = 'normal', held = true, report = idle) {
  const r = await q.enter({ tenant, cls, held }, report);
  expect(r).not.toBeNull();
  return r!;
}

/** Admits one waiter held by `q` and returns its id (undefined when nobody is admitted). */
async function admitNext(q: RedisRoomQueue, collected: string[] = []): Promise<string | undefined> {
  const r = await q.sync({ ensure: [], collected, forget: [] }, admitOne);
  expect(r).not.toBeNull();
  expect(r!.mine.length).toBeLessThanOrEqual(1);
  return r!.mine[0];
}

describe('the policy is FairQueue\'s', () => {
  for (const seed of [1, 2, 3]) {
    it(`random arrivals and admissions over 4 tenants and 3 classes, weighted: same order and positions (seed ${seed})`, async () => {
      const clock = new FakeClock();
      const weights = { t0: 1, t1: 2, t2: 0.5 };
      const minShares = seed === 3 ? { normal: 0.3, bulk: 0.2 } : { normal: 0.1, bulk: 0.05 };
      const q = await queue(clock, 'a', { weights, minShares });
      const oracle = new FairQueue({ now: clock.now, graceMs: 30_000, maxPerTenant: 100_000, weights, minShares });
      const rand = prng(seed);
      const waiting = new Set<string>();
      for (let step = 0; step < 700; step++) {
        clock.advance(1);
        if (rand() < 0.6 || waiting.size === 0) {
          const tenant = `t${Math.floor(rand() * 4)}`;
          const cls = CLASSES[Math.floor(rand() * 3)]!;
          const r = await enter(q, tenant, cls);
          expect(r.state).toBe('queued');
          expect(oracle.enqueue({ id: r.id, tenant, cls, seq: r.seq, enqueuedAt: clock.t, kind: 'api' })).toBe('queued');
          expect(r.position).toBe(oracle.position(r.id));
          waiting.add(r.id);
        } else {
          const expected = oracle.next()!.id;
          expect(await admitNext(q)).toBe(expected);
          waiting.delete(expected);
        }
        if (step % 50 === 0 && waiting.size > 0) {
          const ids = [...waiting];
          const got = await q.positions(ids, idle);
          expect(got!.positions).toEqual(ids.map((id) => oracle.position(id)));
        }
      }
      for (let w = oracle.next(); w !== undefined; w = oracle.next()) expect(await admitNext(q)).toBe(w.id);
      expect(await admitNext(q)).toBeUndefined();
      expect(await db.admin.keys('*{anteroom-room}:l[0-9]:*')).toEqual([]);
    });
  }

  it('a tenant\'s last waiter leaving takes it out of the ring, and the others keep their turns', async () => {
    const clock = new FakeClock();
    const q = await queue(clock, 'a');
    const oracle = new FairQueue({ now: clock.now, graceMs: 30_000, maxPerTenant: 100_000 });
    const ids: string[] = [];
    for (const tenant of ['a', 'b', 'a', 'c', 'b', 'a']) {
      clock.advance(1);
      const r = await enter(q, tenant);
      oracle.enqueue({ id: r.id, tenant, cls: 'normal', seq: r.seq, enqueuedAt: clock.t, kind: 'api' });
      ids.push(r.id);
    }
    expect(await admitNext(q)).toBe(oracle.next()!.id);
    // c's only waiter leaves; b's first leaves.
    expect(await q.leave([ids[3]!, ids[1]!], idle)).toBe(true);
    oracle.remove(ids[3]!);
    oracle.remove(ids[1]!);
    for (let w = oracle.next(); w !== undefined; w = oracle.next()) expect(await admitNext(q)).toBe(w.id);
    expect(await db.admin.llen('anteroom:{anteroom-room}:ring')).toBe(0);
  });
});

describe('one order across instances', () => {
  it('arrivals alternating between two instances are admitted in arrival order, whichever instance admits', async () => {
    // Redis's own clock: the sequence is Redis's, so the instances' clocks do not matter.
    const qa = await queue(null, 'a');
    const qb = await queue(null, 'b');
    const arrivals: { id: string; seq: number; at: RedisRoomQueue }[] = [];
    for (let i = 0; i < 20; i++) {
      const at = i % 2 === 0 ? qa : qb;
      const r = await enter(at, 'x', 'normal', true);
      arrivals.push({ id: r.id, seq: r.seq, at });
    }
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]!.seq).toBeGreaterThan(arrivals[i - 1]!.seq);
    // Positions agree: each instance reads the same ones.
    const ids = arrivals.map((x) => x.id);
    expect((await qa.positions(ids, idle))!.positions).toEqual(ids.map((_, i) => i + 1));
    expect((await qb.positions(ids, idle))!.positions).toEqual(ids.map((_, i) => i + 1));
    // Only qa admits; the admissions of waiters held on qb reach qb's inbox, in order.
    const order: string[] = [];
    for (let i = 0; i < 20; i++) {
      const ra = await qa.sync({ ensure: [], collected: [], forget: [] }, admitOne);
      const rb = await qb.sync({ ensure: [], collected: [], forget: [] }, idle);
      order.push(...ra!.mine, ...rb!.inbox);
    }
    expect(order).toEqual(ids);
  });
});

describe('capacity', () => {
  it('admits against the global limit: in flight everywhere plus admissions not collected', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 3 });
    const b = await queue(clock, 'b', { limit: 3 });
    for (let i = 0; i < 5; i++) await enter(a, 'x');
    // b has 2 in flight, a none: one admission fits.
    await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 2, allowance: 0, canAdmit: false });
    let r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(1);
    expect(r!.room.pending).toBe(1);
    // Not collected yet: it holds its capacity.
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(0);
    // Collected: it is now counted in a's in-flight instead.
    const first = (await a.positions([], idle))!;
    expect(first.room.pending).toBe(1);
    r = await a.sync({ ensure: [], collected: [await onlyPending()], forget: [] }, { inFlight: 1, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(0);
    // b finishes one: one more admission.
    await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 1, allowance: 0, canAdmit: false });
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 1, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(1);
  });

  it('an admission holds capacity for reserveMs, and only for a waiter heard from within it', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 1, reserveMs: 1_000 });
    await enter(a, 'x', 'normal', false);
    await enter(a, 'x', 'normal', false);
    await enter(a, 'x', 'normal', false);
    // The first waiter was just heard from: its admission holds the one slot...
    let r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(1);
    expect(r!.room.waiting).toBe(2);
    clock.advance(900);
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(1);
    // ...until reserveMs has passed: the next is admitted, the first stays admitted (not collected).
    clock.advance(200);
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(2);
    expect(r!.room.waiting).toBe(1);
    // The second was last heard from 1.1 s ago (away, like a program waiting out its Retry-After): its
    // admission keeps nothing, so the third is admitted at once.
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.waiting).toBe(0);
    expect(r!.room.pending).toBe(3);
    clock.advance(1_001);
    await a.sync({ ensure: [], collected: [], forget: [] }, idle);
    expect(await db.admin.zcard(`anteroom:{anteroom-room}:rsv`)).toBe(0);
  });

  it('admits a few ahead of the limit when asked (admitAhead), to wait for a slot at their instance', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 4, admitAhead: 1 });
    for (let i = 0; i < 3; i++) await enter(a, 'x', 'normal', false);
    // 4 in flight: one more is admitted, and no further.
    let r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 4, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(1);
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 4, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(1);
    expect(r!.room.waiting).toBe(2);
  });

  it('an instance that stops reporting stops holding capacity once its heartbeat is stale (no leak)', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 2 });
    const b = await queue(clock, 'b', { limit: 2 });
    await enter(a, 'x');
    await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 2, allowance: 0, canAdmit: false });
    let r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(0);
    expect(r!.room.instances).toBe(2);
    // b dies without a word; after its TTL its two slots are free.
    clock.advance(POLICY.instanceTtlMs + 1);
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.mine).toHaveLength(1);
    expect(r!.room.instances).toBe(1);
  });

  it('an admission nobody collects expires after the grace and frees its capacity', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 1 });
    await enter(a, 'x', 'normal', false);
    await enter(a, 'x', 'normal', false);
    let r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.pending).toBe(1);
    expect(r!.room.waiting).toBe(1);
    clock.advance(POLICY.graceMs / 2);
    // The second waiter keeps polling; the first admission is never collected.
    await a.sync({ ensure: [{ id: (await waitingIds())[0]!, held: false }], collected: [], forget: [] }, idle);
    clock.advance(POLICY.graceMs / 2 + 1);
    r = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(r!.room.waiting).toBe(0);
    expect(r!.room.pending).toBe(1);
  });

  it('fast path: while nobody waits, an instance may go straight up to its share of what the others leave; shrinking waits one call', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { limit: 4 });
    const b = await queue(clock, 'b', { limit: 4 });
    const ra = await a.sync({ ensure: [], collected: [], forget: [] }, idle);
    expect(ra!.allowance).toBe(2);
    let rb = await b.sync({ ensure: [], collected: [], forget: [] }, idle);
    expect(rb!.allowance).toBe(2);
    const c = await queue(clock, 'c', { limit: 4 });
    // Three instances now, but a and b hold the whole limit between them.
    expect((await c.sync({ ensure: [], collected: [], forget: [] }, idle))!.allowance).toBe(0);
    // A waiter at b. b's next call takes its allowance back, but still counts the 2 b may have sent
    // straight on meanwhile: nothing is admitted yet.
    await enter(b, 'x', 'normal', true, { inFlight: 0, allowance: 2, canAdmit: false });
    rb = await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 2, canAdmit: true });
    expect(rb!.allowance).toBe(0);
    expect(rb!.mine).toHaveLength(0);
    // b has adopted 0 and has nothing in flight; a still holds 2: the waiter fits in the other 2.
    rb = await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    expect(rb!.mine).toHaveLength(1);
    // Something is pending: no instance gets an allowance until it is collected.
    expect((await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 2, canAdmit: false }))!.allowance).toBe(0);
  });

  it('sessionsPerMinute is one outflow rate for the whole fleet', async () => {
    const clock = new FakeClock();
    const a = await queue(clock, 'a', { outflowPerSecond: 2 });
    const b = await queue(clock, 'b', { outflowPerSecond: 2 });
    for (let i = 0; i < 10; i++) await enter(i % 2 ? a : b, 'x');
    const admitted = async (): Promise<number> => {
      const ra = await a.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
      const rb = await b.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
      return ra!.mine.length + ra!.inbox.length + rb!.mine.length + rb!.inbox.length;
    };
    expect(await admitted()).toBe(2);
    expect(await admitted()).toBe(0);
    clock.advance(1_000);
    expect(await admitted()).toBe(2);
  });
});

describe('abandonment, tickets, bounds', () => {
  it('a place not heard from for longer than the grace is skipped; a held one touched by its instance is not', async () => {
    const clock = new FakeClock();
    const q = await queue(clock, 'a');
    const gone = await enter(q, 'x', 'normal', false);
    const held = await enter(q, 'x', 'normal', true);
    const later = await enter(q, 'x', 'normal', false);
    for (let i = 0; i < 4; i++) {
      clock.advance(POLICY.graceMs / 3);
      await q.sync({ ensure: [{ id: held.id, held: true }, { id: later.id, held: false }], collected: [], forget: [] }, idle);
    }
    expect((await q.positions([gone.id, held.id, later.id], idle))!.positions).toEqual([null, 1, 2]);
    expect(await admitNext(q)).toBe(held.id);
  });

  it('a ticket brings its place back within the grace (after Redis lost it), and a fresh place after', async () => {
    const clock = new FakeClock();
    const q = await queue(clock, 'a');
    const first = await enter(q, 'x');
    clock.advance(1);
    const second = await enter(q, 'x');
    const issuedAt = clock.t;
    await db.admin.flushall();
    clock.advance(1);
    const newcomer = await enter(q, 'x');
    const back = await q.enter({ tenant: 'x', cls: 'normal', held: true, ticket: { seq: first.seq, issuedAt } }, idle);
    expect(back).toMatchObject({ state: 'queued', id: first.id, restored: true, position: 1 });
    clock.advance(POLICY.graceMs + 1);
    const late = await q.enter({ tenant: 'x', cls: 'normal', held: true, ticket: { seq: second.seq, issuedAt } }, idle);
    expect(late!.restored).toBe(false);
    expect(late!.id).not.toBe(second.id);
    expect(late!.position).toBe(3);
    expect(newcomer.position).toBe(1);
  });

  it('an admission made while the client was away is collected by its ticket, once', async () => {
    const clock = new FakeClock();
    const q = await queue(clock, 'a', { limit: 10 });
    const w = await enter(q, 'x', 'normal', false);
    await q.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true });
    const ticket = { seq: w.seq, issuedAt: clock.t };
    expect((await q.enter({ tenant: 'x', cls: 'normal', held: false, ticket }, idle))!.state).toBe('admitted');
    expect((await q.enter({ tenant: 'x', cls: 'normal', held: false, ticket }, idle))!.state).toBe('queued');
  });

  it('full beyond maxPerTenant and maxTotal', async () => {
    const q = await queue(new FakeClock(), 'a', { maxPerTenant: 2, maxTotal: 3 });
    expect((await enter(q, 'x')).state).toBe('queued');
    expect((await enter(q, 'x')).state).toBe('queued');
    expect((await enter(q, 'x')).state).toBe('full');
    expect((await enter(q, 'y')).state).toBe('queued');
    expect((await enter(q, 'z')).state).toBe('full');
  });

  it('a script that reaches Redis after its deadline changes nothing', async () => {
    const q = await queue(new FakeClock(), 'a');
    // Learned the clock mapping from the connecting sync; now make every deadline already past.
    (q as unknown as { redisOffset: number }).redisOffset -= 60_000;
    expect(await q.enter({ tenant: 'x', cls: 'normal', held: false }, idle)).toBeNull();
    expect(await db.admin.zcard('anteroom:{anteroom-room}:seen')).toBe(0);
  });
});

async function onlyPending(): Promise<string> {
  const ids = await db.admin.zrange('anteroom:{anteroom-room}:adm', '0', '-1');
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

async function waitingIds(): Promise<string[]> {
  return db.admin.zrange('anteroom:{anteroom-room}:seen', '0', '-1');
}

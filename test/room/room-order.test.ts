/**
 * The room's order at the proxy, through real sockets: held API waiters are admitted in arrival order,
 * one tenant's flood does not hold another tenant back (deficit round robin, `room.weights` shifts the
 * share), and bulk traffic still gets its minimum share while critical traffic is always waiting.
 *
 * Each test holds the upstream's only slot with a blocking request, queues its waiters strictly one
 * after another (each is in the room before the next is sent, so arrival order is known), then lets the
 * blocker go and reads the admission order at the origin. Nothing here depends on timing: every
 * admission waits for the previous request to finish (`room.concurrency: 1`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blockingOrigin, harness, occupy, send, until, type Harness, type Reply } from './proxyHelpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Queues one held API request per header set, each in the room before the next is sent. */
async function queueInOrder(h: Harness, path: (i: number) => string, headers: (i: number) => Record<string, string>, n: number): Promise<Promise<Reply>[]> {
  const replies: Promise<Reply>[] = [];
  for (let i = 0; i < n; i++) {
    const before = h.room.waiting;
    replies.push(send(h.proxy.port, path(i), { headers: headers(i) }).reply);
    await until(() => h.room.waiting === before + 1, `waiter ${i} in the room`);
  }
  return replies;
}

describe('FIFO', () => {
  it('1,000 held API waiters are admitted in the order they arrived, one at a time', { timeout: 60_000 }, async () => {
    h = await harness(await blockingOrigin(), { room: { concurrency: 1, hold: { apiMs: 60_000 } } });
    await occupy(h);
    const n = 1_000;
    const replies = await queueInOrder(h, (i) => `/w/${i}`, (i) => ({ 'x-index': String(i) }), n);
    expect(h.room.waiting).toBe(n);
    expect(h.origin.arrived).toHaveLength(1);
    h.origin.release('/block');
    const all = await Promise.all(replies);
    expect(all.filter((r) => r.status === 200)).toHaveLength(n);
    const order = h.origin.arrived.slice(1).map((a) => a.index);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(h.origin.maxInFlight).toBe(1);
    expect(h.room.waiting).toBe(0);
  });
});

describe('fairness across tenants', () => {
  const tenantPatch = { identity: { tenant: [{ header: 'x-tenant-id' }] } };

  /** Tenant a queues 300, then tenant b queues 10; returns the tenants in admission order. */
  async function floodThenTen(room: Record<string, unknown>): Promise<string[]> {
    h = await harness(await blockingOrigin(), { ...tenantPatch, room: { concurrency: 1, hold: { apiMs: 60_000 }, ...room } });
    await occupy(h);
    const a = await queueInOrder(h, (i) => `/a/${i}`, (i) => ({ 'x-tenant-id': 'a', 'x-index': String(i) }), 300);
    const b = await queueInOrder(h, (i) => `/b/${i}`, (i) => ({ 'x-tenant-id': 'b', 'x-index': String(i) }), 10);
    h.origin.release('/block');
    const replies = await Promise.all([...a, ...b]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(h.origin.maxInFlight).toBe(1);
    const order = h.origin.arrived.slice(1);
    // Within each tenant, arrival order is kept.
    expect(order.filter((x) => x.tenant === 'b').map((x) => x.index)).toEqual([...Array(10).keys()]);
    expect(order.filter((x) => x.tenant === 'a').map((x) => x.index)).toEqual([...Array(300).keys()]);
    return order.map((x) => x.tenant);
  }

  it("tenant b's 10 waiters are all in within about 2 x 10 admissions, though tenant a queued 300 before them", { timeout: 30_000 }, async () => {
    const tenants = await floodThenTen({});
    const lastB = tenants.lastIndexOf('b') + 1;
    // Equal weights: a and b alternate, so b's 10th is the 20th admission (FIFO would make it the 310th).
    expect(lastB).toBeLessThanOrEqual(21);
    expect(tenants.slice(0, 20).filter((t) => t === 'b')).toHaveLength(10);
  });

  it('room.weights shifts the share: with a weighing 3, b gets 1 admission in 4 while both wait', { timeout: 30_000 }, async () => {
    const tenants = await floodThenTen({ weights: { a: 3 } });
    const bInFirst20 = tenants.slice(0, 20).filter((t) => t === 'b').length;
    expect(bInFirst20).toBeGreaterThanOrEqual(4);
    expect(bInFirst20).toBeLessThanOrEqual(6);
    // Still bounded: b's 10 are through within about 4 x 10 admissions.
    expect(tenants.lastIndexOf('b') + 1).toBeLessThanOrEqual(42);
  });
});

describe('classes', () => {
  const routes = [
    { name: 'inbox', path: '/crit/**', class: 'critical' },
    { name: 'automation', path: '/bulk/**', class: 'bulk' },
  ];

  /** 20 bulk waiters, then 200 critical ones; returns the classes of the first 100 admissions. */
  async function bulkThenCritical(room: Record<string, unknown>): Promise<string[]> {
    h = await harness(await blockingOrigin(), { routes, room: { concurrency: 1, hold: { apiMs: 60_000 }, ...room } });
    await occupy(h);
    const bulk = await queueInOrder(h, (i) => `/bulk/${i}`, (i) => ({ 'x-index': String(i) }), 20);
    const crit = await queueInOrder(h, (i) => `/crit/${i}`, (i) => ({ 'x-index': String(i) }), 200);
    h.origin.release('/block');
    const replies = await Promise.all([...bulk, ...crit]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    return h.origin.arrived.slice(1, 101).map((a) => (a.path.startsWith('/bulk/') ? 'bulk' : 'critical'));
  }

  it('bulk is not starved: with critical always waiting, bulk gets its 5% minimum share, no more', { timeout: 30_000 }, async () => {
    const classes = await bulkThenCritical({});
    const bulk = classes.filter((c) => c === 'bulk').length;
    // Strict priority would give bulk 0 of these 100, arrival order 20.
    expect(bulk).toBeGreaterThanOrEqual(5);
    expect(bulk).toBeLessThanOrEqual(6);
    expect(classes[0]).toBe('critical');
  });

  it('room.minShares.bulk raises the share', { timeout: 30_000 }, async () => {
    const classes = await bulkThenCritical({ minShares: { bulk: 0.2 } });
    const bulk = classes.filter((c) => c === 'bulk').length;
    // 20% of 100 admissions; bulk has exactly 20 waiters, all of them in.
    expect(bulk).toBe(20);
  });
});

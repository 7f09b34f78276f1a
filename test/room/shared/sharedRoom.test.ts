/**
 * Two (or three) Anteroom instances sharing one waiting room through a private redis-server (never
 * the shared Redis on 6379), through real sockets: one global order, the same positions on every
 * instance, tickets that work on any instance, a restart that loses nobody's place, and an outage
 * (Redis frozen with SIGSTOP) that falls back to local queues and comes back.
 *
 * Every test holds the upstream's only slot (`room.concurrency: 1` across the fleet) with a blocking
 * request, queues its waiters strictly one after another (each is in Redis before the next is sent),
 * then lets the origin answer one request at a time and reads the admission order there. Since one
 * admission waits for the previous request to finish, the order is exact: the "within one admission
 * interval" slack of the design does not come into play at this concurrency.
 */
import { describe, expect, it } from 'vitest';
import type { SharedRoom } from '../../../src/room/shared/sharedRoom.js';
import { startProxy, type Proxy } from '../../helpers/index.js';
import { redisPerFile } from '../../helpers/redisPerFile.js';
import { countingOrigin, navigate, SECRET, send, sleep, statusOf, until, within, type CountingOrigin, type Reply } from '../proxyHelpers.js';

const SEEN = 'anteroom:{anteroom-room}:seen';

let origin: CountingOrigin | undefined;
const proxies: Proxy[] = [];

const db = redisPerFile(async () => {
  db.server.resume();
  origin?.releaseAll();
  await Promise.all(proxies.splice(0).map((p) => p.stop(1_000)));
  await origin?.close();
  origin = undefined;
});

/** An instance on the shared Redis, connected to it. */
async function instance(patch: Record<string, unknown> = {}, commandTimeoutMs = 1_000): Promise<Proxy> {
  const p = await startProxy(origin!.url, {
    secret: SECRET,
    store: { kind: 'redis', url: db.server.url, commandTimeoutMs },
    identity: { client: [{ header: 'x-client-id' }] },
    ...patch,
    room: { concurrency: 1, hold: { apiMs: 60_000 }, ...((patch['room'] as object | undefined) ?? {}) },
  });
  proxies.push(p);
  expect(await room(p).ready(5_000)).toBe(true);
  return p;
}

function room(p: Proxy): SharedRoom {
  return p.app.rt.room as SharedRoom;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

/** Sends `/block` to `p` and waits until the origin holds it: the fleet is at its limit of 1. */
async function occupy(p: Proxy): Promise<void> {
  const reply = send(p.port, '/block', { headers: { 'x-client-id': 'blocker' } }).reply;
  reply.catch(() => undefined);
  await until(() => origin!.held === 1, 'the blocking request at the origin');
}

/** Queues held API request `i` at `p`, and waits until it is in Redis; `reply` is its answer to come. */
async function queue(p: Proxy, i: number, headers: Record<string, string> = {}): Promise<{ reply: Promise<Reply> }> {
  const before = await db.admin.zcard(SEEN);
  const reply = send(p.port, `/w/${i}`, { headers: { 'x-client-id': `c${i}`, 'x-index': String(i), ...headers } }).reply;
  await eventually(async () => (await db.admin.zcard(SEEN)) === before + 1 || origin!.arrived.some((a) => a.index === i), `waiter ${i} in the shared room`);
  return { reply };
}

/** Releases the blocker, then answers whatever arrives, one request at a time, until `n` waiters got through. */
async function drainOrigin(n: number): Promise<number[]> {
  origin!.release('/block');
  const order: number[] = [];
  while (order.length < n) {
    await until(() => origin!.held === 1, `waiter ${order.length + 1} of ${n} at the origin`);
    order.push(origin!.arrived[origin!.arrived.length - 1]!.index);
    origin!.release();
  }
  return order;
}

const holdAll = (): Promise<CountingOrigin> => countingOrigin({ hold: () => true });

describe('one order across instances', () => {
  it('waiters arriving alternately at A and B are admitted in arrival order, one at a time across the fleet', async () => {
    origin = await holdAll();
    const a = await instance();
    const b = await instance();
    await occupy(b);
    const replies: Promise<Reply>[] = [];
    for (let i = 0; i < 10; i++) replies.push((await queue(i % 2 === 0 ? a : b, i)).reply);
    expect(await db.admin.zcard(SEEN)).toBe(10);
    expect(await drainOrigin(10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual(Array(10).fill(200));
    // The room's limit held for the fleet, not per instance.
    expect(origin.maxInFlight).toBe(1);
  });
});

describe('positions and tickets', () => {
  it('the same ticket reads the same position on A and on B, and each position is the global one', async () => {
    origin = await holdAll();
    const a = await instance();
    const b = await instance();
    await occupy(a);
    const tickets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await navigate(i % 2 === 0 ? a.port : b.port, `/page/${i}`, { 'x-client-id': `p${i}` });
      expect(page.status).toBe(503);
      tickets.push(page.cookie('anteroom_ticket')!.value);
    }
    for (let i = 0; i < 4; i++) {
      const onA = (await statusOf(a.port, tickets[i]!, { 'x-client-id': `p${i}` })).json();
      const onB = (await statusOf(b.port, tickets[i]!, { 'x-client-id': `p${i}` })).json();
      expect(onA['state']).toBe('waiting');
      expect(onA['position']).toBe(i + 1);
      expect(onB['position']).toBe(onA['position']);
    }
  });

  it('a browser queued at A is let in through B: its status poll there is admitted, and B honours the session', async () => {
    origin = await countingOrigin({ hold: (req) => req.url === '/block' });
    const a = await instance();
    const b = await instance();
    await occupy(a);
    const page = await navigate(a.port, '/page', { 'x-client-id': 'br' });
    expect(page.status).toBe(503);
    const ticket = page.cookie('anteroom_ticket')!.value;
    expect((await statusOf(b.port, ticket, { 'x-client-id': 'br' })).json()['state']).toBe('waiting');
    origin.release('/block');
    let admitted: Reply | undefined;
    await eventually(async () => {
      const r = await statusOf(b.port, ticket, { 'x-client-id': 'br' });
      if (r.json()['state'] === 'admitted') admitted = r;
      return admitted !== undefined;
    }, 'admitted on B');
    const session = admitted!.cookie('anteroom_session')!.value;
    const inside = await navigate(b.port, '/page', { 'x-client-id': 'br', cookie: `anteroom_session=${session}` });
    expect(inside.status).toBe(200);
    expect(inside.body).toBe('ok /page');
  });

  it('an API client\'s ticket from A keeps its place when the retry goes to B', async () => {
    origin = await holdAll();
    const a = await instance({ room: { hold: { apiMs: 300 } } });
    const b = await instance({ room: { hold: { apiMs: 60_000 } } });
    await occupy(b);
    const first = (await queue(a, 0)).reply;
    const second = (await queue(b, 1)).reply;
    const timedOut = await within(first, 5_000, 'the hold at A to run out');
    expect(timedOut.status).toBe(503);
    expect(timedOut.json()['position']).toBe(1);
    const ticket = timedOut.headers['anteroom-ticket'] as string;
    const retry = send(b.port, '/w/0', { headers: { 'x-client-id': 'c0', 'x-index': '0', 'anteroom-ticket': ticket } }).reply;
    await eventually(async () => room(b)['held'].size === 2, 'the retry held at B');
    expect(await drainOrigin(2)).toEqual([0, 1]);
    expect((await retry).status).toBe(200);
    expect((await second).status).toBe(200);
  });
});

describe('restart', () => {
  it('stopping A answers its held clients with tickets; at a new A they keep their places and the order', async () => {
    origin = await holdAll();
    let a = await instance();
    const b = await instance();
    await occupy(b);
    const replies = new Map<number, Promise<Reply>>();
    for (let i = 0; i < 6; i++) replies.set(i, (await queue(i % 2 === 0 ? a : b, i)).reply);
    await a.stop(5_000);
    proxies.splice(proxies.indexOf(a), 1);
    const tickets = new Map<number, string>();
    for (const i of [0, 2, 4]) {
      const r = await replies.get(i)!;
      expect(r.status).toBe(503);
      expect(r.json()['position']).toBe(i + 1);
      tickets.set(i, r.headers['anteroom-ticket'] as string);
    }
    // Nobody's place went with A.
    expect(await db.admin.zcard(SEEN)).toBe(6);
    a = await instance();
    for (const i of [4, 0, 2]) {
      replies.set(i, send(a.port, `/w/${i}`, { headers: { 'x-client-id': `c${i}`, 'x-index': String(i), 'anteroom-ticket': tickets.get(i)! } }).reply);
    }
    await eventually(async () => room(a)['held'].size === 3, 'the three retries held at the new A');
    expect(await db.admin.zcard(SEEN)).toBe(6);
    expect(await drainOrigin(6)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const i of [0, 1, 2, 3, 4, 5]) expect((await replies.get(i)!).status).toBe(200);
  });
});

describe('Redis outage', () => {
  it('requests are answered while Redis is frozen, held waiters are let in by the local queue, and the shared queue resumes', async () => {
    origin = await countingOrigin({ hold: (req) => req.url === '/block' });
    const a = await instance({}, 100);
    const b = await instance({}, 100);
    await occupy(a);
    const held = (await queue(a, 0)).reply;
    db.server.pause();
    // Within a bounded time (a few command timeouts), both instances answer on their own.
    await until(() => room(a).queueMode === 'local-fallback', 'A notices the outage', 2_000);
    const quick = await within(send(b.port, '/q', { headers: { 'x-client-id': 'q' } }).reply, 2_000, 'a request at B during the outage');
    expect(quick.status).toBe(200);
    const readyz = await within(send(a.port, '/__anteroom/readyz').reply, 1_000, 'readyz at A');
    expect(readyz.json()).toMatchObject({ store: 'redis', roomQueue: 'local-fallback' });
    // The waiter held at A is now in A's local queue, and is let in when A's slot frees.
    expect(room(a).waiting).toBe(1);
    origin.release('/block');
    expect((await within(held, 2_000, 'the held waiter let in locally')).status).toBe(200);
    // Another local queue at A: over A's share, a new request waits and goes in when the slot frees.
    await occupy(a);
    const local = send(a.port, '/w/1', { headers: { 'x-client-id': 'c1', 'x-index': '1' } }).reply;
    await until(() => room(a).waiting === 1, 'a local waiter at A');
    origin.release('/block');
    expect((await within(local, 2_000, 'the local waiter')).status).toBe(200);

    db.server.resume();
    await until(() => room(a).queueMode === 'shared' && room(b).queueMode === 'shared', 'both back on the shared queue', 5_000);
    // The waiter admitted locally does not linger in Redis as a ghost.
    await eventually(async () => (await db.admin.zcard(SEEN)) === 0, 'no ghost places in Redis');
    // Shared again: a waiter at B is in Redis and is admitted when A's request finishes.
    await occupy(a);
    const again = (await queue(b, 2)).reply;
    expect(await db.admin.zcard(SEEN)).toBe(1);
    origin.release('/block');
    expect((await within(again, 2_000, 'the shared waiter')).status).toBe(200);
  });
});

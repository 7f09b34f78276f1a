/**
 * Room modes set at runtime through the admin API, against a real proxy and origin:
 * - maintenance answers the waiting page with the operator's message (503 for programs, 1013 for
 *   upgrades), admits nobody even when the upstream is free, and keeps every place: positions are the
 *   same after switching back, and admission resumes in order;
 * - pause admits nobody from the queue, newcomers queue, held API requests get their 503 with a ticket
 *   as usual and keep their places; admitted sessions go on;
 * - a tenant's mode applies to that tenant only, and wins over the global one.
 *
 * Clients are told apart by `x-client-id`, tenants by `x-tenant-id`; the room admits one at a time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { blockingOrigin, harness, navigate, occupy, send, statusOf, until, type Harness, type Reply } from '../room/proxyHelpers.js';
import { adminOk, TOKEN } from '../admin/adminClient.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function setup(room: Record<string, unknown> = {}): Promise<Harness> {
  h = await harness(await blockingOrigin(), {
    admin: { token: TOKEN },
    identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
    room: { concurrency: 1, hold: { apiMs: 200 }, ...room },
  });
  return h;
}

function who(client: string, tenant = 'acme'): Record<string, string> {
  return { 'x-client-id': client, 'x-tenant-id': tenant };
}

function api(h: Harness, client: string, tenant = 'acme', ticket?: string): Promise<Reply> {
  const headers = who(client, tenant);
  if (ticket !== undefined) headers['anteroom-ticket'] = ticket;
  return send(h.proxy.port, `/api/${client}`, { headers }).reply;
}

interface Waiting {
  client: string;
  ticket: string;
}

/** Where each waiter stands now, by its status poll (which also keeps its place and renews its ticket). */
async function standings(h: Harness, waiters: Waiting[]): Promise<{ state: unknown; position: unknown; message?: unknown }[]> {
  const out = [];
  for (const w of waiters) {
    const r = await statusOf(h.proxy.port, w.ticket, who(w.client));
    expect(r.status).toBe(200);
    const body = r.json();
    if (typeof body['ticket'] === 'string') w.ticket = body['ticket'];
    out.push({ state: body['state'], position: body['position'], ...(body['message'] !== undefined ? { message: body['message'] } : {}) });
  }
  return out;
}

/** Three browsers of acme queue behind a held request: positions 1, 2, 3. */
async function threeWaiting(h: Harness): Promise<Waiting[]> {
  const waiters: Waiting[] = [];
  for (const client of ['w1', 'w2', 'w3']) {
    const page = await navigate(h.proxy.port, `/page/${client}`, who(client));
    expect(page.status).toBe(503);
    waiters.push({ client, ticket: page.cookie('anteroom_ticket')!.value });
  }
  expect(await standings(h, waiters)).toEqual([1, 2, 3].map((position) => ({ state: 'waiting', position })));
  return waiters;
}

describe('maintenance', () => {
  it('admits nobody of the tenant, keeps every place, and lets them in in order once lifted', async () => {
    const h = await setup();
    const blocker = await occupy(h);
    const waiters = await threeWaiting(h);

    await adminOk(h.proxy, 'PUT', '/modes/tenants/acme', { mode: 'maintenance', message: 'Back at noon' });
    const inMaintenance = [1, 2, 3].map((position) => ({ state: 'maintenance', position, message: 'Back at noon' }));
    expect(await standings(h, waiters)).toEqual(inMaintenance);

    // The page, with the operator's message, for a navigation that brings its ticket.
    const page = await navigate(h.proxy.port, '/page/w2', { ...who('w2'), cookie: `anteroom_ticket=${waiters[1]!.ticket}` });
    expect(page.status).toBe(503);
    expect(page.body).toContain('Back at noon');
    expect(page.body).toContain('down for maintenance');
    waiters[1]!.ticket = page.cookie('anteroom_ticket')!.value;
    // Programs get 503 ANT_MAINTENANCE; with a ticket they keep their place and get it renewed.
    const plain = await api(h, 'p1');
    expect(plain.status).toBe(503);
    expect(plain.json()).toMatchObject({ code: 'ANT_MAINTENANCE', detail: 'The site is down for maintenance: Back at noon' });
    expect(Number(plain.headers['retry-after'])).toBeGreaterThanOrEqual(30);

    // The upstream frees up: still nobody of acme is let in.
    const arrived = h.origin.arrived.length;
    h.origin.release('/block');
    expect((await blocker.reply).status).toBe(200);
    expect(await standings(h, waiters)).toEqual(inMaintenance);
    expect(h.origin.arrived.length).toBe(arrived);

    // Another tenant is not in maintenance, and acme's waiters are held back by the operator, not waiting
    // for capacity: it takes the free slot.
    await occupy(h);
    expect(h.origin.arrived.at(-1)!.path).toBe('/block');

    // Lifted while the upstream is busy: the same places as before.
    await adminOk(h.proxy, 'DELETE', '/modes/tenants/acme');
    expect(await standings(h, waiters)).toEqual([1, 2, 3].map((position) => ({ state: 'waiting', position })));
    // And in order once there is room.
    h.origin.release('/block');
    await until(() => h.origin.held === 0, 'the second blocker answered');
    // (Asked last to first: a browser's admission frees its capacity as its poll collects it.)
    expect(await standings(h, [waiters[2]!, waiters[1]!])).toEqual([2, 1].map((position) => ({ state: 'waiting', position })));
    expect((await standings(h, [waiters[0]!]))[0]!.state).toBe('admitted');
  });

  it('gives a newcomer the page, which takes a place by its first poll; refuses upgrades with 1013', async () => {
    const h = await setup();
    await adminOk(h.proxy, 'PUT', '/modes', { mode: 'maintenance' });
    const page = await navigate(h.proxy.port, '/home', who('n1'));
    expect(page.status).toBe(503);
    expect(page.cookie('anteroom_ticket')).toBeUndefined();
    expect(page.body).toContain('/__anteroom/status?join=1');
    const poll = await send(h.proxy.port, '/__anteroom/status?join=1', { headers: { ...who('n1'), accept: 'application/json' } }).reply;
    expect(poll.json()).toMatchObject({ state: 'maintenance', position: 1 });
    const ticket = poll.json()['ticket'] as string;

    const ws = new WebSocket(`ws://127.0.0.1:${h.proxy.port}/live`, { headers: who('n2') });
    const [code, reason] = await new Promise<[number, string]>((resolve, reject) => {
      ws.once('close', (c, r) => resolve([c, r.toString()]));
      ws.once('error', reject);
    });
    expect(code).toBe(1013);
    expect(JSON.parse(reason)).toMatchObject({ code: 'ANT_MAINTENANCE' });

    // The origin saw nothing; once lifted, the person who waited through it is let in.
    expect(h.origin.arrived).toEqual([]);
    await adminOk(h.proxy, 'DELETE', '/modes');
    expect((await statusOf(h.proxy.port, ticket, who('n1'))).json()['state']).toBe('admitted');
  });
});

describe('pause', () => {
  it('admits nobody from the queue, answers held requests with their tickets, and keeps their places', async () => {
    const h = await setup();
    // A browser admitted before the pause keeps its session through it.
    const before = await navigate(h.proxy.port, '/page/s', who('s'));
    expect(before.status).toBe(200);
    const session = before.cookie('anteroom_session')!.value;

    await adminOk(h.proxy, 'PUT', '/modes', { mode: 'pause', reason: 'draining the queue' });
    // The upstream is free, and still the newcomers wait: held, then 503 with a ticket.
    const first = await api(h, 'x');
    const second = await api(h, 'y');
    for (const [r, position] of [[first, 1], [second, 2]] as const) {
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ code: 'ANT_QUEUE_TIMEOUT', position });
    }
    expect(h.origin.arrived.filter((a) => a.path.startsWith('/api/'))).toEqual([]);
    // A retry during the pause keeps its place.
    const retried = await api(h, 'x', 'acme', first.headers['anteroom-ticket'] as string);
    expect(retried.json()).toMatchObject({ code: 'ANT_QUEUE_TIMEOUT', position: 1 });
    // Sessions go on.
    expect((await navigate(h.proxy.port, '/page/s2', { ...who('s'), cookie: `anteroom_session=${session}` })).status).toBe(200);

    await adminOk(h.proxy, 'DELETE', '/modes');
    const x = await api(h, 'x', 'acme', retried.headers['anteroom-ticket'] as string);
    expect(x.status, x.body).toBe(200);
    const y = await api(h, 'y', 'acme', second.headers['anteroom-ticket'] as string);
    expect(y.status, y.body).toBe(200);
    expect(h.origin.arrived.filter((a) => a.path.startsWith('/api/')).map((a) => a.path)).toEqual(['/api/x', '/api/y']);
  });
});

describe('per-tenant modes', () => {
  it('queue-all for one tenant meters it through the room, and its waiters do not hold up the others', async () => {
    // One admission a minute through the room (the first is in the bucket); the fast path is not metered.
    const h = await setup({ sessionsPerMinute: 1 });
    await adminOk(h.proxy, 'PUT', '/modes/tenants/acme', { mode: 'queue-all' });
    expect((await navigate(h.proxy.port, '/a', who('a1', 'acme'))).status).toBe(200);
    expect((await navigate(h.proxy.port, '/a', who('a2', 'acme'))).status).toBe(503);
    expect(h.room.waiting).toBe(1);
    // globex is in auto mode and the upstream is free: acme's waiter is no reason for it to wait.
    expect((await navigate(h.proxy.port, '/g', who('g1', 'globex'))).status).toBe(200);
    expect((await navigate(h.proxy.port, '/g', who('g2', 'globex'))).status).toBe(200);
    // Back to auto, acme's newcomers are no longer metered... but one of theirs is waiting: behind it.
    await adminOk(h.proxy, 'DELETE', '/modes/tenants/acme');
    expect((await navigate(h.proxy.port, '/a', who('a3', 'acme'))).status).toBe(503);
  });

  it("a tenant's own mode wins over the global one: open during a global pause", async () => {
    const h = await setup();
    await adminOk(h.proxy, 'PUT', '/modes', { mode: 'pause' });
    await adminOk(h.proxy, 'PUT', '/modes/tenants/vip', { mode: 'open' });
    expect((await api(h, 'v', 'vip')).status).toBe(200);
    expect((await api(h, 'o', 'other')).json()).toMatchObject({ code: 'ANT_QUEUE_TIMEOUT' });
    const modes = await adminOk(h.proxy, 'GET', '/modes');
    expect(modes).toMatchObject({ global: { mode: 'pause' }, tenants: [{ tenant: 'vip', mode: 'open' }] });
    const status = await adminOk(h.proxy, 'GET', '/status');
    const tenants = status['tenants'] as { tenant: string; mode: string }[];
    expect(tenants.find((t) => t.tenant === 'vip')!.mode).toBe('open');
    expect(tenants.find((t) => t.tenant === 'other')!.mode).toBe('pause');
  });

  it('maintenance of one tenant leaves the others alone', async () => {
    const h = await setup();
    await adminOk(h.proxy, 'PUT', '/modes/tenants/acme', { mode: 'maintenance' });
    expect((await api(h, 'a', 'acme')).json()).toMatchObject({ code: 'ANT_MAINTENANCE' });
    expect((await api(h, 'g', 'globex')).status).toBe(200);
  });
});

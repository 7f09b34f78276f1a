/**
 * Concurrency caps in the admit phase, through real sockets: an origin that counts its own in-flight
 * requests (from arrival until it answers) must never see more than the cap, waiters are admitted
 * oldest first, a wait ends in 503 after `limits.wait.timeoutMs` or at once beyond `maxWaiting`, and a
 * waiter that goes away leaves the queue. Requests are held by the origin until the test lets them
 * go, so "in flight" and "waiting" are states the test controls, not races it hopes to win.
 *
 * With an upstream cap and the room in its default `auto` mode, requests over the cap wait in the
 * waiting room (test/room covers that); the tests of the bounded FIFO wait (`limits.wait`) set
 * `room.mode: open`, where nobody waits in the room and the caps still hold. Tenant and route caps
 * are the FIFO's in either mode.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { Proxy } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';
import { count, countingOrigin, get, sleep, until, type CountingOrigin, type Reply } from './util.js';

const rig = proxyRig<CountingOrigin>();

/** Nobody waits in the room: requests over a cap wait in the concurrency gate's FIFO (limits.wait). */
const ROOM_OPEN = { mode: 'open' };

/** The origin holds every request until the test releases it, unless `options` say otherwise. */
async function setup(patch: Record<string, unknown>, options: Parameters<typeof countingOrigin>[0] = { hold: () => true }): Promise<{ origin: CountingOrigin; proxy: Proxy }> {
  rig.origin = await countingOrigin(options);
  return { origin: rig.origin, proxy: await rig.startProxy(rig.origin.url, patch) };
}

function gate(p: Proxy) {
  return p.app.rt.limits.gate;
}

describe('upstream concurrency cap', () => {
  for (const mode of ['open', 'auto'] as const) {
    it(`the origin never sees more than \`concurrency\` requests at once under a parallel burst, and all are served (room ${mode})`, async () => {
      const { origin, proxy } = await setup(
        { upstreams: { app: { concurrency: 3 } }, limits: { wait: { timeoutMs: 20_000 } }, room: { mode, hold: { apiMs: 20_000 } } },
        { delayMs: 30 },
      );
      const replies = await Promise.all(Array.from({ length: 24 }, (_, i) => get(proxy.port, `/work/${i}`)));
      expect(count(replies, 200)).toBe(24);
      expect(origin.paths).toHaveLength(24);
      expect(origin.maxInFlight).toBe(3);
      expect(gate(proxy).inFlight('app')).toBe(0);
      expect(gate(proxy).waiting).toBe(0);
    });
  }

  it('admits waiters in the order they came', async () => {
    const { origin, proxy } = await setup({ upstreams: { app: { concurrency: 1 } }, limits: { wait: { timeoutMs: 20_000 } }, room: ROOM_OPEN });
    const first = get(proxy.port, '/first');
    await until(() => origin.held === 1, 'the first request at the origin');
    const waiting: Promise<Reply>[] = [];
    for (let i = 1; i <= 6; i++) {
      waiting.push(get(proxy.port, `/w${i}`));
      await until(() => gate(proxy).waiting === i, `waiter ${i} queued`);
    }
    for (let i = 0; i <= 6; i++) {
      await until(() => origin.held === 1, 'one request at the origin');
      expect(origin.inFlight).toBe(1);
      origin.release();
    }
    const replies = await Promise.all([first, ...waiting]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(origin.paths).toEqual(['/first', '/w1', '/w2', '/w3', '/w4', '/w5', '/w6']);
    expect(origin.maxInFlight).toBe(1);
  });

  it('a waiter not admitted within limits.wait.timeoutMs gets 503 ANT_CAPACITY with Retry-After', async () => {
    const { origin, proxy } = await setup({ upstreams: { app: { concurrency: 1 } }, limits: { wait: { timeoutMs: 150 } }, room: ROOM_OPEN });
    const first = get(proxy.port, '/slow');
    await until(() => origin.held === 1, 'the first request at the origin');
    const started = performance.now();
    const r = await get(proxy.port, '/waits');
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(r.headers['content-type']).toBe('application/problem+json');
    const body = r.json();
    expect(body['code']).toBe('ANT_CAPACITY');
    expect(String(body['detail'])).toContain('no slot freed within 150 ms');
    expect(origin.paths).toEqual(['/slow']);
    expect(gate(proxy).waiting).toBe(0);
    origin.release();
    expect((await first).status).toBe(200);
  });

  it('beyond limits.wait.maxWaiting a request gets 503 ANT_QUEUE_FULL at once; the queued ones are served', async () => {
    const { origin, proxy } = await setup({ upstreams: { app: { concurrency: 1 } }, limits: { wait: { timeoutMs: 20_000, maxWaiting: 2 } }, room: ROOM_OPEN });
    const first = get(proxy.port, '/slow');
    await until(() => origin.held === 1, 'the first request at the origin');
    const queued = [get(proxy.port, '/q1'), get(proxy.port, '/q2')];
    await until(() => gate(proxy).waiting === 2, 'two waiters');
    const full = await get(proxy.port, '/q3');
    expect(full.status).toBe(503);
    expect(full.json()['code']).toBe('ANT_QUEUE_FULL');
    expect(full.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(gate(proxy).waiting).toBe(2);
    origin.release();
    await until(() => origin.held === 1, 'q1 at the origin');
    origin.release();
    await until(() => origin.held === 1, 'q2 at the origin');
    origin.release();
    expect((await Promise.all([first, ...queued])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(origin.paths).toEqual(['/slow', '/q1', '/q2']);
  });

  it('a waiting client that disconnects leaves the queue and never takes a slot', async () => {
    const { origin, proxy } = await setup({ upstreams: { app: { concurrency: 1 } }, limits: { wait: { timeoutMs: 20_000 } }, room: ROOM_OPEN });
    const first = get(proxy.port, '/slow');
    await until(() => origin.held === 1, 'the first request at the origin');
    const gone: ClientRequest = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/gone', agent: false });
    gone.on('error', () => undefined);
    gone.end();
    const behind = get(proxy.port, '/behind');
    await until(() => gate(proxy).waiting === 2, 'two waiters');
    gone.destroy();
    await until(() => gate(proxy).waiting === 1, 'the disconnected waiter removed');
    origin.release();
    // The slot goes to the waiter behind it, not to the client that left.
    await until(() => origin.held === 1, 'the next request at the origin');
    expect(origin.paths).toEqual(['/slow', '/behind']);
    origin.release();
    expect((await first).status).toBe(200);
    expect((await behind).status).toBe(200);
    await until(() => gate(proxy).inFlight('app') === 0, 'the slot released');
    // The slot is free: a new request goes straight through, with nobody queued.
    const next = get(proxy.port, '/next');
    await until(() => origin.held === 1, 'the new request at the origin');
    expect(gate(proxy).waiting).toBe(0);
    origin.release();
    expect((await next).status).toBe(200);
    expect(origin.paths).toEqual(['/slow', '/behind', '/next']);
    expect(origin.maxInFlight).toBe(1);
  });

  it('a client that disconnects while its request is at the origin frees its slot', async () => {
    const { origin, proxy } = await setup({ upstreams: { app: { concurrency: 1 } }, limits: { wait: { timeoutMs: 20_000 } }, room: ROOM_OPEN });
    const gone: ClientRequest = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/gone', agent: false });
    gone.on('error', () => undefined);
    gone.end();
    await until(() => origin.held === 1, 'the request at the origin');
    const behind = get(proxy.port, '/behind');
    await until(() => gate(proxy).waiting === 1, 'one waiter');
    gone.destroy();
    // The proxy aborts the upstream request; the origin sees it go before the waiter is let in.
    await until(() => origin.paths.length === 2, 'the waiter at the origin');
    expect(origin.maxInFlight).toBe(1);
    origin.release('/behind');
    expect((await behind).status).toBe(200);
  });
});

describe('tenant concurrency cap', () => {
  it("isolates tenants: one tenant's flood waits at its cap while another tenant gets through", async () => {
    const { origin, proxy } = await setup({
      upstreams: { app: { concurrency: 6 } },
      identity: { tenant: [{ header: 'x-tenant-id' }] },
      limits: { tenant: { concurrency: 2 }, tenants: { vip: { concurrency: 3 } }, wait: { timeoutMs: 20_000 } },
      room: ROOM_OPEN,
    });
    const flood = Array.from({ length: 12 }, (_, i) => get(proxy.port, `/a/${i}`, { headers: { 'x-tenant-id': 'flooder' } }));
    await until(() => origin.held === 2 && gate(proxy).waiting === 10, 'the flooder at its cap with 10 waiting');
    // Tenant B is not behind A's queue: its requests reach the origin while A's wait.
    const b = [get(proxy.port, '/b/0', { headers: { 'x-tenant-id': 'other' } }), get(proxy.port, '/b/1', { headers: { 'x-tenant-id': 'other' } })];
    await until(() => origin.held === 4, "the other tenant's requests at the origin");
    // The override gives vip 3 at once.
    const vip = Array.from({ length: 4 }, (_, i) => get(proxy.port, `/v/${i}`, { headers: { 'x-tenant-id': 'vip' } }));
    await until(() => origin.held === 6 && gate(proxy).waiting === 12, 'vip at the upstream cap');
    expect(origin.paths.filter((p) => p.startsWith('/a/'))).toHaveLength(2);
    expect(origin.paths.filter((p) => p.startsWith('/b/'))).toHaveLength(2);
    expect(origin.paths.filter((p) => p.startsWith('/v/'))).toHaveLength(2);
    expect(gate(proxy).tenantInFlight('flooder')).toBe(2);
    // Let everything through, one answer at a time, checking the caps hold all the way.
    let maxFlooder = 0;
    while (origin.paths.length < 18 || origin.held > 0) {
      await until(() => origin.held > 0, 'a request at the origin');
      maxFlooder = Math.max(maxFlooder, gate(proxy).tenantInFlight('flooder'));
      origin.release();
      await sleep(1);
    }
    const replies = await Promise.all([...flood, ...b, ...vip]);
    expect(count(replies, 200)).toBe(18);
    expect(maxFlooder).toBe(2);
    expect(origin.maxInFlight).toBe(6);
  });
});

describe('route concurrency cap', () => {
  it('routes[].limits.concurrency caps one route without holding others back', async () => {
    const { origin, proxy } = await setup({
      routes: [{ name: 'report', path: '/reports/**', limits: { concurrency: 2 } }],
      limits: { wait: { timeoutMs: 20_000 } },
    });
    const reports = Array.from({ length: 6 }, (_, i) => get(proxy.port, `/reports/${i}`));
    await until(() => origin.held === 2 && gate(proxy).waiting === 4, 'two reports at the origin, four waiting');
    const others = Array.from({ length: 5 }, (_, i) => get(proxy.port, `/orders/${i}`));
    await until(() => origin.held === 7, 'the other route at the origin');
    for (let i = 0; i < 5; i++) origin.release(`/orders/${i}`);
    expect(count(await Promise.all(others), 200)).toBe(5);
    let maxReports = 0;
    while (origin.paths.filter((p) => p.startsWith('/reports/')).length < 6 || origin.held > 0) {
      await until(() => origin.held > 0, 'a report at the origin');
      maxReports = Math.max(maxReports, gate(proxy).routeInFlight('report'));
      expect(origin.held).toBeLessThanOrEqual(2);
      origin.release();
      await sleep(1);
    }
    expect(count(await Promise.all(reports), 200)).toBe(6);
    expect(maxReports).toBe(2);
  });

  it('bypass routes hold no slot and never wait, in the gate or in the room', async () => {
    // The room in its default mode: a request over the cap would wait there, a bypass route does not.
    const { origin, proxy } = await setup({
      upstreams: { app: { concurrency: 1 } },
      routes: [{ name: 'static', path: '/static/**', bypass: true }],
      limits: { wait: { timeoutMs: 20_000 } },
    });
    const slow = get(proxy.port, '/slow');
    await until(() => origin.held === 1, 'the capped request at the origin');
    const statics = Array.from({ length: 4 }, (_, i) => get(proxy.port, `/static/${i}.js`));
    await until(() => origin.held === 5, 'the static requests at the origin');
    expect(gate(proxy).waiting).toBe(0);
    origin.releaseAll();
    expect(count(await Promise.all([slow, ...statics]), 200)).toBe(5);
  });
});

/**
 * The metrics of a real proxy driven with real requests: forwarded, rate-limited, waiting in the room
 * (held and admitted, held and timed out, the waiting page and a browser let in), waiting for a
 * concurrency slot, websocket upgrades admitted and refused. Every scrape goes through the strict
 * exposition parser, and the counts the test controls are asserted exactly. Counts are made when an
 * exchange is over (the server's `close`), which can come just after the client has its answer, so
 * the test scrapes until the total it expects is there.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Metrics } from '../../src/admin/metrics.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { startProxy, type Proxy } from '../helpers/index.js';
import { quickOrigin } from '../pipeline/util.js';
import { blockingOrigin, get, harness, navigate, occupy, send, statusOf, until, type Harness } from '../room/proxyHelpers.js';
import { parseExposition, type Exposition } from './exposition.js';

const cleanup = cleanupAfterEach();

async function scrape(metrics: Metrics): Promise<Exposition> {
  return parseExposition(await metrics.render());
}

/** Scrapes until `check` holds (counts land when the server sees the exchange close). */
async function scrapeUntil(metrics: Metrics, check: (e: Exposition) => boolean, what: string, timeoutMs = 10_000): Promise<Exposition> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const e = await scrape(metrics);
    if (check(e)) return e;
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}\n${(await metrics.render()).split('\n').filter((l) => l.startsWith('anteroom_')).join('\n')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const requests = (e: Exposition): number => e.sum('anteroom_requests_total');

describe('metrics of a running proxy', () => {
  it('counts forwarded and rate-limited requests by decision, class, status and tenant, with upstream latency', async () => {
    const origin = await quickOrigin();
    cleanup.push(() => origin.close());
    const proxy = await startProxy(origin.url, {
      identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
      limits: { client: { rate: '5/min', burst: 5 } },
      routes: [{ name: 'reports', path: '/reports/**', class: 'bulk' }],
      metrics: { tenants: 2 },
    });
    cleanup.push(() => proxy.stop());
    const metrics = new Metrics(proxy.app.rt, { processMetrics: false });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(proxy.port, '/api/items', { 'x-tenant-id': 'acme', 'x-client-id': 'c1' })).status);
    for (let i = 0; i < 2; i++) statuses.push((await get(proxy.port, '/reports/q1', { 'x-tenant-id': 'globex', 'x-client-id': 'c2' })).status);
    // Three more tenants: with two names, the first two tenants seen keep them; these count as other.
    for (const t of ['t3', 't4', 't5']) statuses.push((await get(proxy.port, '/api/items', { 'x-tenant-id': t, 'x-client-id': t })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 200, 200, 200, 200, 200]);

    const e = await scrapeUntil(metrics, (x) => requests(x) === 13, '13 requests counted');
    expect(e.value('anteroom_requests_total', { decision: 'forward', class: 'normal', status: '200' })).toBe(8);
    expect(e.value('anteroom_requests_total', { decision: 'refuse', class: 'normal', status: '429' })).toBe(3);
    expect(e.value('anteroom_requests_total', { decision: 'forward', class: 'bulk', status: '200' })).toBe(2);
    expect(e.samples('anteroom_requests_total')).toHaveLength(3);

    expect(e.value('anteroom_tenant_requests_total', { tenant: 'acme', decision: 'forward' })).toBe(5);
    expect(e.value('anteroom_tenant_requests_total', { tenant: 'acme', decision: 'refuse' })).toBe(3);
    expect(e.value('anteroom_tenant_requests_total', { tenant: 'globex', decision: 'forward' })).toBe(2);
    expect(e.value('anteroom_tenant_requests_total', { tenant: 'other', decision: 'forward' })).toBe(3);
    expect(new Set(e.samples('anteroom_tenant_requests_total').map((s) => s.labels['tenant']))).toEqual(new Set(['acme', 'globex', 'other']));

    // One latency observation per forwarded request, all of them within the histogram's range.
    expect(e.value('anteroom_upstream_latency_seconds_count', { upstream: 'app' })).toBe(10);
    expect(e.value('anteroom_upstream_latency_seconds_bucket', { upstream: 'app', le: '60' })).toBe(10);
    expect(e.value('anteroom_upstream_latency_seconds_sum', { upstream: 'app' })).toBeGreaterThan(0);
    expect(e.value('anteroom_upstream_in_flight', { upstream: 'app' })).toBe(0);
    expect(e.value('anteroom_room_queue_mode', { mode: 'local' })).toBe(1);
    expect(e.value('anteroom_limit_store_degraded')).toBe(0);
  });

  it('shows the room: waiting per class and tenant, held requests admitted and timed out, the waiting page, a browser let in', async () => {
    const origin = await blockingOrigin((req) => req.url === '/api/slow');
    const h: Harness = await harness(origin, {
      identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
      room: { concurrency: 1, hold: { apiMs: 30_000, websocketMs: 100 } },
    });
    cleanup.push(() => h.stop());
    const rt = h.proxy.app.rt;
    const metrics = new Metrics(rt, { processMetrics: false });
    const blocker = await occupy(h);

    // An API request held in the room; a browser that gets the waiting page.
    const held = send(h.proxy.port, '/api/slow', { headers: { 'x-tenant-id': 'acme', 'x-client-id': 'api' } });
    await until(() => h.room.waiting === 1, 'the API request waiting');
    const page = await navigate(h.proxy.port, '/home', { 'x-tenant-id': 'globex', 'x-client-id': 'browser' });
    expect(page.status).toBe(503);
    const ticket = page.cookie('anteroom_ticket')!.value;
    let e = await scrapeUntil(metrics, (x) => x.value('anteroom_requests_total', { decision: 'queue', class: 'normal', status: '503' }) === 1, 'the waiting page counted');
    expect(e.value('anteroom_room_waiting')).toBe(2);
    expect(e.value('anteroom_room_waiting_class', { class: 'normal' })).toBe(2);
    expect(e.value('anteroom_room_waiting_class', { class: 'critical' })).toBe(0);
    expect(e.value('anteroom_room_engaged')).toBe(1);
    expect(e.value('anteroom_room_limit')).toBe(1);
    expect(e.value('anteroom_upstream_limit', { upstream: 'app' })).toBe(1);
    expect(e.value('anteroom_upstream_slots_in_use', { upstream: 'app' })).toBe(1);
    expect(e.value('anteroom_upstream_in_flight', { upstream: 'app' })).toBe(1);

    // The blocker's slot frees: the held request goes first and is held at the origin in turn.
    h.origin.release('/block');
    await blocker.reply;
    await until(() => h.origin.held === 1 && rt.room.admitted === 1, 'the held request admitted and at the origin');
    e = await scrapeUntil(metrics, (x) => x.value('anteroom_room_wait_seconds_count', { kind: 'api', outcome: 'admitted' }) === 1, 'the admitted wait');
    expect(e.value('anteroom_room_admitted_total')).toBe(1);
    expect(e.value('anteroom_room_waiting')).toBe(1);
    expect(e.value('anteroom_room_waiting_tenant', { tenant: 'globex' })).toBe(1);
    expect(e.value('anteroom_room_waiting_tenant', { tenant: 'other' })).toBe(0);
    // It waited at least until the blocker was released, and not for minutes.
    expect(e.value('anteroom_room_wait_seconds_bucket', { kind: 'api', outcome: 'admitted', le: '0.005' })).toBe(0);
    expect(e.value('anteroom_room_wait_seconds_bucket', { kind: 'api', outcome: 'admitted', le: '60' })).toBe(1);

    // A websocket upgrade waits behind the browser (same tenant and class: first come, first served),
    // and its 100 ms hold runs out: 1013 with a ticket.
    const ws = new WebSocket(`ws://127.0.0.1:${h.proxy.port}/live`, { headers: { 'x-tenant-id': 'globex', 'x-client-id': 'ws' } });
    ws.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1013);
    e = await scrapeUntil(metrics, (x) => x.value('anteroom_websocket_upgrades_refused_total', { reason: 'queue_timeout' }) === 1, 'the refused upgrade counted');
    expect(e.value('anteroom_room_wait_seconds_count', { kind: 'websocket', outcome: 'timeout' })).toBe(1);
    expect(e.value('anteroom_room_wait_seconds_bucket', { kind: 'websocket', outcome: 'timeout', le: '0.025' })).toBe(0);
    expect(e.value('anteroom_websocket_upgrades_total')).toBe(1);
    expect(e.value('anteroom_websocket_upgrades_admitted_total')).toBe(0);

    // The held request completes; the browser is let in next and collects its admission by polling.
    h.origin.release('/api/slow');
    expect((await held.reply).status).toBe(200);
    await until(() => rt.room.admitted === 2, 'the browser admitted');
    const status = await statusOf(h.proxy.port, ticket, { 'x-tenant-id': 'globex', 'x-client-id': 'browser' });
    expect(status.json()['state']).toBe('admitted');
    e = await scrapeUntil(metrics, (x) => x.value('anteroom_room_wait_seconds_count', { kind: 'browser', outcome: 'admitted' }) === 1, 'the browser admission');
    expect(e.value('anteroom_room_active_sessions')).toBe(1);
    // blocker and held request forwarded; the waiting page; the websocket refused in its handshake's 101.
    e = await scrapeUntil(metrics, (x) => x.value('anteroom_requests_total', { decision: 'forward', class: 'normal', status: '200' }) === 2, 'both forwards counted');
    expect(e.value('anteroom_requests_total', { decision: 'refuse', class: 'normal', status: '101' })).toBe(1);
    expect(e.value('anteroom_requests_total', { decision: 'own', class: 'normal', status: '200' })).toBe(1);
  });

  it('times the wait for a concurrency slot: one admitted, one timed out with 503', async () => {
    const origin = await blockingOrigin();
    const h = await harness(origin, {
      upstreams: { app: { url: origin.url, concurrency: 1 } },
      room: { mode: 'open' },
      limits: { wait: { timeoutMs: 100 } },
    });
    cleanup.push(() => h.stop());
    const metrics = new Metrics(h.proxy.app.rt, { processMetrics: false });
    const blocker = await occupy(h);
    expect((await get(h.proxy.port, '/late')).status).toBe(503);
    const waiting = send(h.proxy.port, '/waits');
    await until(() => h.gate.waiting === 1, 'a request waiting for the slot');
    const during = await scrape(metrics);
    expect(during.value('anteroom_concurrency_waiting')).toBe(1);
    h.origin.release('/block');
    await blocker.reply;
    expect((await waiting.reply).status).toBe(200);
    const e = await scrapeUntil(metrics, (x) => requests(x) === 3, 'three requests counted');
    expect(e.value('anteroom_concurrency_wait_seconds_count', { outcome: 'timeout' })).toBe(1);
    expect(e.value('anteroom_concurrency_wait_seconds_count', { outcome: 'admitted' })).toBe(1);
    // The timeout came after its 100 ms, not before.
    expect(e.value('anteroom_concurrency_wait_seconds_bucket', { outcome: 'timeout', le: '0.025' })).toBe(0);
    expect(e.value('anteroom_requests_total', { decision: 'refuse', class: 'normal', status: '503' })).toBe(1);
    expect(e.value('anteroom_concurrency_waiting')).toBe(0);
  });

  it('counts websocket upgrades requested, admitted, refused by rate limit and by the open cap, opened and closed', async () => {
    const origin = await quickOrigin();
    cleanup.push(() => origin.close());
    const wss = new WebSocketServer({ server: origin.server });
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    const proxy: Proxy = await startProxy(origin.url, {
      identity: { client: [{ header: 'x-client-id' }] },
      limits: { websocket: { perClient: { rate: '3/min', burst: 3 }, perTenantOpen: 2 } },
    });
    cleanup.push(() => proxy.stop());
    const metrics = new Metrics(proxy.app.rt, { processMetrics: false });
    const sockets: WebSocket[] = [];
    cleanup.push(async () => sockets.forEach((s) => s.terminate()));
    /** Opens a websocket: 'open', or the close code when it is refused with one. */
    const connect = (client: string): Promise<{ ws: WebSocket; outcome: 'open' | number }> => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/live`, { headers: { 'x-client-id': client } });
      sockets.push(ws);
      ws.on('error', () => undefined);
      return new Promise((resolve) => {
        ws.once('open', () => {
          const timer = setTimeout(() => resolve({ ws, outcome: 'open' }), 50);
          ws.once('close', (code) => {
            clearTimeout(timer);
            resolve({ ws, outcome: code });
          });
        });
      });
    };
    const close = (ws: WebSocket) => new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close(1000)));

    const one = await connect('a');
    const two = await connect('a');
    expect([one.outcome, two.outcome]).toEqual(['open', 'open']);
    expect((await connect('b')).outcome).toBe(1013); // the tenant has 2 open
    await close(one.ws);
    await until(() => proxy.app.rt.websockets.size === 1, 'the first websocket closed at the proxy');
    const three = await connect('a'); // a's third upgrade token
    expect(three.outcome).toBe('open');
    await close(three.ws);
    await until(() => proxy.app.rt.websockets.size === 1, 'the third websocket closed at the proxy');
    expect((await connect('a')).outcome).toBe(1013); // a has no token left

    const e = await scrapeUntil(metrics, (x) => x.sum('anteroom_websocket_upgrades_refused_total') === 2 && x.value('anteroom_websocket_closed_total') === 2, 'refusals and closes counted');
    expect(e.value('anteroom_websocket_upgrades_total')).toBe(5);
    expect(e.value('anteroom_websocket_upgrades_admitted_total')).toBe(3);
    expect(e.value('anteroom_websocket_upgrades_refused_total', { reason: 'open_cap' })).toBe(1);
    expect(e.value('anteroom_websocket_upgrades_refused_total', { reason: 'rate_limit' })).toBe(1);
    expect(e.value('anteroom_websocket_opened_total')).toBe(3);
    expect(e.value('anteroom_websockets_open')).toBe(1);
    // Counted as requests when they close: two websockets (101 from the upstream), two refusals.
    const done = await scrapeUntil(metrics, (x) => requests(x) === 4, 'closed websockets counted as requests');
    expect(done.value('anteroom_requests_total', { decision: 'forward', class: 'normal', status: '101' })).toBe(2);
    expect(done.value('anteroom_requests_total', { decision: 'refuse', class: 'normal', status: '101' })).toBe(2);
    // Timed to the upstream's 101, recorded with the rest when the websocket closes.
    expect(done.value('anteroom_upstream_latency_seconds_count', { upstream: 'app' })).toBe(2);
  });

  it('renders valid text with the process metrics, and a Content-Type Prometheus reads', async () => {
    const origin = await quickOrigin();
    cleanup.push(() => origin.close());
    const proxy = await startProxy(origin.url);
    cleanup.push(() => proxy.stop());
    const metrics = new Metrics(proxy.app.rt);
    expect((await get(proxy.port, '/x')).status).toBe(200);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const e = await scrapeUntil(metrics, (x) => requests(x) === 1, 'the request counted');
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(e.families.has(name), name).toBe(true);
    }
    // Every anteroom metric has a help text and a type, and is named anteroom_*.
    const own = [...e.families.values()].filter((f) => f.name.startsWith('anteroom_'));
    expect(own.length).toBeGreaterThan(30);
    for (const f of own) {
      expect(f.help, f.name).toMatch(/\S{3,}/);
      expect(f.type, f.name).not.toBe('untyped');
      if (f.type === 'counter') expect(f.name).toMatch(/_total$/);
    }
    // prom-client's own parser-side view agrees: the registry's JSON has the same families.
    const json = await metrics.registry.getMetricsAsJSON();
    expect(new Set(json.map((m) => m.name))).toEqual(new Set(e.families.keys()));
  });
});

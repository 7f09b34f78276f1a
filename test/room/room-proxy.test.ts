/**
 * The room in front of a real origin, through real sockets: a held client that disconnects leaves the
 * queue at once; a full queue answers 503 ANT_QUEUE_FULL (API) or the "full" waiting page (browser);
 * an admitted browser's session lets its next navigation and its XHR and asset requests pass while
 * others wait, and the cookie is renewed; and under a parallel burst the origin never sees more than
 * `room.concurrency` requests in flight while every request ends in a proxied response, the waiting
 * page or a 503 with Retry-After.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  blockingOrigin,
  countingOrigin,
  get,
  harness,
  navigate,
  occupy,
  send,
  sign,
  sleep,
  statusOf,
  tokenFields,
  until,
  within,
  type Harness,
  type Reply,
} from './proxyHelpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** The sentence in the waiting page's live region. */
function liveText(page: Reply): string | undefined {
  return /id="anteroom-position"[^>]*>([^<]*)</.exec(page.body)?.[1];
}

const clients = { identity: { client: [{ header: 'x-client-id' }] } };

describe('disconnect', () => {
  it('a held client that disconnects is gone from the queue: the next waiter moves up, the origin never sees it', async () => {
    h = await harness(await blockingOrigin(), { ...clients, room: { concurrency: 1, hold: { apiMs: 60_000 } } });
    await occupy(h);
    const gone = send(h.proxy.port, '/gone', { headers: { 'x-client-id': 'gone' } });
    gone.reply.catch(() => undefined);
    await until(() => h!.room.waiting === 1, 'the first waiter');
    const behind = send(h.proxy.port, '/behind', { headers: { 'x-client-id': 'behind' } });
    await until(() => h!.room.waiting === 2, 'the second waiter');
    const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'browser' });
    const ticket = page.cookie('anteroom_ticket')!.value;
    expect((await statusOf(h.proxy.port, ticket, { 'x-client-id': 'browser' })).json()['position']).toBe(3);

    gone.req.destroy();
    await until(() => h!.room.waiting === 2, 'the disconnected waiter removed');
    expect((await statusOf(h.proxy.port, ticket, { 'x-client-id': 'browser' })).json()['position']).toBe(2);

    h.origin.release('/block');
    expect((await behind.reply).status).toBe(200);
    expect(h.origin.arrived.map((a) => a.path)).toEqual(['/block', '/behind']);
    // The browser is next; it is let in on its next poll.
    await until(() => h!.room.waiting === 0, 'the browser admitted');
    const st = await statusOf(h.proxy.port, ticket, { 'x-client-id': 'browser' });
    expect(st.json()['state']).toBe('admitted');
    expect(h.origin.arrived.map((a) => a.path)).not.toContain('/gone');
  });
});

describe('queue full (room.maxPerTenant)', () => {
  it('503 ANT_QUEUE_FULL with Retry-After for an API request; the "full" waiting page for a browser; other tenants still queue', async () => {
    h = await harness(await blockingOrigin(), {
      ...clients,
      identity: { client: [{ header: 'x-client-id' }], tenant: [{ header: 'x-tenant-id' }] },
      room: { concurrency: 1, maxPerTenant: 3, hold: { apiMs: 60_000 } },
    });
    await occupy(h);
    const waiting = [0, 1, 2].map((i) => send(h!.proxy.port, `/w/${i}`, { headers: { 'x-client-id': `w${i}`, 'x-tenant-id': 'a' } }).reply);
    await until(() => h!.room.waiting === 3, 'three waiting');

    const api = await get(h.proxy.port, '/api/more', { 'x-client-id': 'late', 'x-tenant-id': 'a' });
    expect(api.status).toBe(503);
    expect(api.headers['content-type']).toBe('application/problem+json');
    expect(api.json()['code']).toBe('ANT_QUEUE_FULL');
    expect(Number(api.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(api.headers['anteroom-ticket']).toBeUndefined();

    const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'late-browser', 'x-tenant-id': 'a' });
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(liveText(page)).toBe('The waiting room is full at the moment. Please keep this page open; we keep trying.');
    expect(Number(page.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(page.cookie('anteroom_ticket')).toBeUndefined();
    expect(h.room.waiting).toBe(3);
    // The full page's polls ask for a place (join=1) and hear `full`; a bare poll (a probe) takes none.
    const fullPoll = await get(h.proxy.port, '/__anteroom/status?join=1&ticket=', { 'x-client-id': 'late-browser', 'x-tenant-id': 'a' });
    expect(fullPoll.json()).toMatchObject({ state: 'full', position: null });
    const probe = await get(h.proxy.port, '/__anteroom/status', { 'x-client-id': 'probe', 'x-tenant-id': 'b' });
    expect(probe.json()).toMatchObject({ state: 'unknown' });
    expect(h.room.waiting).toBe(3);

    // The bound is per tenant: tenant b still gets a place.
    const b = await navigate(h.proxy.port, '/page', { 'x-client-id': 'b', 'x-tenant-id': 'b' });
    expect(b.status).toBe(503);
    expect(liveText(b)).toBe('You are number 2 in line.');
    expect(b.cookie('anteroom_ticket')).toBeDefined();
    expect(h.room.waiting).toBe(4);

    h.origin.release('/block');
    // b's turn comes between a's (fair queueing); its admission waits for its poll, so poll it in.
    const bTicket = b.cookie('anteroom_ticket')!.value;
    await until(() => h!.room.waiting < 4, 'the first admissions');
    for (let i = 0; (await statusOf(h.proxy.port, bTicket, { 'x-client-id': 'b', 'x-tenant-id': 'b' })).json()['state'] !== 'admitted'; i++) {
      expect(i).toBeLessThan(100);
      await sleep(20);
    }
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(h.origin.arrived.map((a) => a.path)).not.toContain('/api/more');
  });
});

describe('admission session', () => {
  it("once admitted, the browser's next navigation, XHR and asset requests pass while the room is engaged; the cookie is bound to the client and renewed", async () => {
    h = await harness(await blockingOrigin(), { ...clients, room: { concurrency: 1, sessionTtlS: 600 } });
    const port = h.proxy.port;
    await occupy(h);
    const x = { 'x-client-id': 'x' };
    const first = await navigate(port, '/shop', x);
    expect(first.status).toBe(503);
    let ticket = first.cookie('anteroom_ticket')!.value;
    // Someone else waits behind x.
    const w = await navigate(port, '/shop', { 'x-client-id': 'w' });
    expect(w.status).toBe(503);

    const waitingStatus = (await statusOf(port, ticket, x)).json();
    expect(waitingStatus).toMatchObject({ state: 'waiting', position: 1 });
    ticket = waitingStatus['ticket'] as string;

    h.origin.release('/block');
    await until(() => h!.room.waiting === 1, 'x admitted, w still waiting');
    const admitted = await statusOf(port, ticket, x);
    expect(admitted.json()['state']).toBe('admitted');
    const session = admitted.cookie('anteroom_session');
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(session?.attributes).toContain('Max-Age=600');
    expect(admitted.cookie('anteroom_ticket')?.attributes).toContain('Max-Age=0');

    // The room is still engaged: a newcomer without a session waits.
    const newcomer = await navigate(port, '/shop', { 'x-client-id': 'new' });
    expect(newcomer.status).toBe(503);
    expect(newcomer.cookie('anteroom_ticket')).toBeDefined();

    // x comes and goes without queueing: its navigation, an XHR and an asset.
    const cookie = `anteroom_session=${session!.value}`;
    const before = h.origin.arrived.length;
    const nav = await navigate(port, '/shop/cart', { ...x, cookie });
    const xhr = await get(port, '/api/cart', { ...x, cookie, accept: 'application/json' });
    const asset = await get(port, '/static/app.js', { ...x, cookie, accept: '*/*' });
    expect([nav.status, xhr.status, asset.status]).toEqual([200, 200, 200]);
    expect(nav.body).toBe('ok /shop/cart');
    expect(h.origin.arrived.slice(before).map((a) => a.path)).toEqual(['/shop/cart', '/api/cart', '/static/app.js']);
    // A fresh cookie is not renewed on every request.
    expect(nav.cookie('anteroom_session')).toBeUndefined();

    // The cookie is x's: another client presenting it waits like anyone else.
    const thief = await navigate(port, '/shop', { 'x-client-id': 'thief', cookie });
    expect(thief.status).toBe(503);
    expect(h.origin.arrived.map((a) => a.path)).not.toContain('/shop');

    // Past half its lifetime, the cookie is renewed on use: the same session, a later expiry.
    const [v, tenant, clientHash] = tokenFields(session!.value) as [number, string, string];
    const now = Date.now();
    const aged = sign('anteroom-session', [v, tenant, clientHash, now - 400_000, now + 200_000, now - 400_000]);
    const renewed = await navigate(port, '/shop/checkout', { ...x, cookie: `anteroom_session=${aged}` });
    expect(renewed.status).toBe(200);
    const next = renewed.cookie('anteroom_session');
    expect(next?.attributes).toContain('Max-Age=600');
    const fields = tokenFields(next!.value);
    expect(fields[2]).toBe(clientHash);
    expect(fields[4] as number).toBeGreaterThan(now + 500_000);
    // The admission time is kept across renewals.
    expect(fields[5]).toBe(now - 400_000);
  });
});

describe('room.sessionsPerMinute', () => {
  it('queue-all with one admission a minute: the first newcomer goes in, the others wait however free the upstream is', async () => {
    h = await harness(await countingOrigin(), { ...clients, room: { mode: 'queue-all', sessionsPerMinute: 1, hold: { apiMs: 200 } } });
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await get(h.proxy.port, `/api/${i}`, { 'x-client-id': `c${i}` }));
    expect(replies.map((r) => r.status)).toEqual([200, 503, 503, 503, 503]);
    expect(replies.slice(1).map((r) => r.json()['code'])).toEqual(Array(4).fill('ANT_QUEUE_TIMEOUT'));
    expect(h.origin.arrived.map((a) => a.path)).toEqual(['/api/0']);
    const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'browser' });
    expect(page.status).toBe(503);
    expect(h.room.waiting).toBe(5);
  });
});

describe('the invariant under a burst', () => {
  for (const mode of ['auto', 'queue-all'] as const) {
    it(`${mode}: 200 parallel requests, room.concurrency 4: the origin never sees more than 4 in flight; none is lost`, { timeout: 30_000 }, async () => {
      const n = 4;
      h = await harness(await countingOrigin({ delayMs: 5 }), { ...clients, room: { mode, concurrency: n, hold: { apiMs: 2_000 } } });
      const port = h.proxy.port;
      const sent = Array.from({ length: 200 }, (_, i) => {
        const headers: Record<string, string> = { 'x-client-id': `c${i}`, 'x-index': String(i) };
        if (i % 5 === 0) return navigate(port, `/page/${i}`, headers);
        if (i % 7 === 0) return send(port, `/api/${i}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"x":1}' }).reply;
        return get(port, `/api/${i}`, headers);
      });
      const replies: Reply[] = await within(Promise.all(sent), 20_000, 'every request of the burst');
      const kinds = { proxied: 0, page: 0, retry: 0 };
      replies.forEach((r, i) => {
        if (r.status === 200) {
          expect(r.body).toBe(`ok ${i % 5 === 0 ? '/page' : '/api'}/${i}`);
          kinds.proxied++;
        } else if (r.status === 503 && r.headers['content-type'] === 'text/html; charset=utf-8' && r.cookie('anteroom_ticket') !== undefined) {
          expect(i % 5).toBe(0);
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          kinds.page++;
        } else {
          expect(r.status, r.body).toBe(503);
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          expect(r.headers['anteroom-ticket']).toBeDefined();
          kinds.retry++;
        }
      });
      expect(kinds.proxied + kinds.page + kinds.retry).toBe(200);
      expect(kinds.proxied).toBeGreaterThan(0);
      expect(kinds.proxied).toBe(h.origin.arrived.length);
      expect(h.origin.maxInFlight).toBeLessThanOrEqual(n);
      await until(() => h!.gate.inFlight('app') === 0, 'every slot released');
      expect(h.log.lines.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    });
  }
});

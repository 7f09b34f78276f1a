/**
 * Tickets at the proxy, through real sockets: a held request whose hold ran out comes back with its
 * `Anteroom-Ticket` and keeps its place; a forged, tampered, expired or borrowed ticket gets a fresh
 * place at the back and a log line, never a 500; parallel requests that present the same ticket all get
 * an answer; Retry-After always brings a client back within the grace.
 *
 * Clients are told apart by an `x-client-id` header (the client key a ticket is bound to).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blockingOrigin, harness, navigate, occupy, send, sign, statusOf, ticketSeq, tokenFields, until, within, type Harness, type Reply, SECRET } from './proxyHelpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const HOLD_MS = 150;

async function setup(room: Record<string, unknown> = {}): Promise<Harness> {
  h = await harness(await blockingOrigin(), {
    identity: { client: [{ header: 'x-client-id' }] },
    room: { concurrency: 1, hold: { apiMs: HOLD_MS }, ...room },
  });
  return h;
}

function api(h: Harness, client: string, path = `/api/${client}`, ticket?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'x-client-id': client };
  if (ticket !== undefined) headers['anteroom-ticket'] = ticket;
  return send(h.proxy.port, path, { headers }).reply;
}

/** The parts of a held request's 503 that a retrying client uses. */
function held503(r: Reply): { position: number; ticket: string; retryAfter: number } {
  expect(r.status, r.body).toBe(503);
  expect(r.headers['content-type']).toBe('application/problem+json');
  const body = r.json();
  expect(body['code']).toBe('ANT_QUEUE_TIMEOUT');
  const ticket = r.headers['anteroom-ticket'];
  expect(typeof ticket).toBe('string');
  expect(body['ticket']).toBe(ticket);
  expect(r.cookie('anteroom_ticket')?.value).toBe(ticket);
  const retryAfter = Number(r.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(body['position']).toEqual(expect.any(Number));
  return { position: body['position'] as number, ticket: ticket as string, retryAfter };
}

function refusedLines(h: Harness): Record<string, unknown>[] {
  return h.log.lines.filter((l) => l['msg'] === 'ticket refused; fresh place at the back');
}

describe('a held request that timed out', () => {
  it('retries with its Anteroom-Ticket and keeps its place: it is admitted before those who came after it', async () => {
    const h = await setup();
    await occupy(h);
    const first = held503(await api(h, 'x'));
    expect(first.position).toBe(1);
    // Three browsers queue behind it, then an API client without a ticket.
    for (const c of ['y1', 'y2', 'y3']) expect((await navigate(h.proxy.port, `/page/${c}`, { 'x-client-id': c })).status).toBe(503);
    const retry = held503(await api(h, 'x', '/api/x', first.ticket));
    expect(retry.position).toBeLessThanOrEqual(first.position);
    expect(ticketSeq(retry.ticket)).toBe(ticketSeq(first.ticket));
    const fresh = held503(await api(h, 'z'));
    expect(fresh.position).toBe(5);
    expect(refusedLines(h)).toEqual([]);

    // The slot frees; x, retrying with its latest ticket, is the next one at the origin.
    h.origin.release('/block');
    let ticket = retry.ticket;
    let r: Reply;
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(20);
      r = await api(h, 'x', '/api/x', ticket);
      if (r.status === 200) break;
      ticket = held503(r).ticket;
    }
    expect(r.body).toBe('ok /api/x');
    expect(h.origin.arrived.map((a) => a.path)).toEqual(['/block', '/api/x']);
  });

  it('the ticket also works from the cookie the 503 set', async () => {
    const h = await setup();
    await occupy(h);
    const first = held503(await api(h, 'x'));
    await navigate(h.proxy.port, '/page/y', { 'x-client-id': 'y' });
    const r = await send(h.proxy.port, '/api/x', { headers: { 'x-client-id': 'x', cookie: `anteroom_ticket=${first.ticket}` } }).reply;
    const again = held503(r);
    expect(again.position).toBe(1);
    expect(ticketSeq(again.ticket)).toBe(ticketSeq(first.ticket));
  });
});

describe('a ticket is good for one admission', () => {
  it('presented again after its holder was let in, it gets a fresh place at the back, not its old place at the front', async () => {
    const h = await setup({ hold: { apiMs: 300 } });
    await occupy(h);
    const { ticket } = held503(await api(h, 'x'));
    for (const c of ['y1', 'y2']) await navigate(h.proxy.port, `/page/${c}`, { 'x-client-id': c });
    h.origin.release('/block');
    // x is next: let in on its retry.
    await until(() => h.room.waiting === 2, 'x admitted');
    const inside = await api(h, 'x', '/api/x', ticket);
    expect(inside.status).toBe(200);
    // y1 is let in next (its browser has not collected it yet), y2 still waits.
    await until(() => h.room.waiting === 1, 'y1 admitted');
    // The same ticket again, within the grace: a new request, so it waits behind y2.
    const again = held503(await api(h, 'x', '/api/x/again', ticket));
    expect(again.position).toBe(h.room.waiting);
    expect(again.position).toBe(2);
    expect(ticketSeq(again.ticket)).not.toBe(ticketSeq(ticket));
    expect(h.log.lines.some((l) => l['msg'] === 'ticket already used; fresh place at the back')).toBe(true);
  });
});

describe('a ticket that does not hold gets a fresh place at the back, a log line, and never a 500', () => {
  /** x holds a real ticket at position 1 and two browsers wait behind it. */
  async function withRealTicket(): Promise<{ h: Harness; ticket: string }> {
    const h = await setup();
    await occupy(h);
    const { ticket, position } = held503(await api(h, 'x'));
    expect(position).toBe(1);
    for (const c of ['y1', 'y2']) await navigate(h.proxy.port, `/page/${c}`, { 'x-client-id': c });
    return { h, ticket };
  }

  async function expectBack(h: Harness, r: Reply, oldTicket: string, reason: string): Promise<void> {
    const answer = held503(r);
    // The newest waiter: the back of the line, behind x and the two browsers.
    expect(answer.position).toBe(h.room.waiting);
    expect(answer.position).toBeGreaterThanOrEqual(4);
    expect(ticketSeq(answer.ticket)).not.toBe(ticketSeq(oldTicket));
    const lines = refusedLines(h);
    expect(lines).toHaveLength(1);
    expect(lines[0]!['reason']).toBe(reason);
    expect(h.log.lines.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
  }

  it('forged: signed with another secret', async () => {
    const { h, ticket } = await withRealTicket();
    const forged = sign('anteroom-ticket', tokenFields(ticket), 'not-the-secret');
    await expectBack(h, await api(h, 'x', '/api/x', forged), ticket, 'bad-signature');
  });

  it('tampered: one character of the payload changed (a better seq)', async () => {
    const { h, ticket } = await withRealTicket();
    const fields = tokenFields(ticket);
    fields[3] = (fields[3] as number) - 1_000_000;
    const tampered = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}${ticket.slice(ticket.indexOf('.'))}`;
    await expectBack(h, await api(h, 'x', '/api/x', tampered), ticket, 'bad-signature');
  });

  it('expired: correctly signed, but past its expiry', async () => {
    const { h, ticket } = await withRealTicket();
    const fields = tokenFields(ticket);
    const now = Date.now();
    fields[4] = now - 7 * 3600_000;
    fields[5] = now - 3600_000;
    await expectBack(h, await api(h, 'x', '/api/x', sign('anteroom-ticket', fields, SECRET)), ticket, 'expired');
  });

  it("borrowed: another client's ticket", async () => {
    const { h, ticket } = await withRealTicket();
    await expectBack(h, await api(h, 'thief', '/api/thief', ticket), ticket, 'wrong-client');
  });

  it('garbage in the header or the cookie, a bad ticket on a navigation or a status poll: no 500 anywhere', async () => {
    const { h, ticket } = await withRealTicket();
    const garbage = ['x', '.', `${'A'.repeat(2000)}.${'B'.repeat(43)}`, 'e30.AAAA', `${ticket}x`, '%00%ff', 'null'];
    for (const g of garbage) {
      const viaHeader = await api(h, 'x', '/api/x', g);
      expect(viaHeader.status, g).toBe(503);
      const viaCookie = await send(h.proxy.port, '/api/x', { headers: { 'x-client-id': 'x', cookie: `anteroom_ticket=${g}` } }).reply;
      expect(viaCookie.status, g).toBe(503);
      const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'x', cookie: `anteroom_ticket=${g}` });
      expect(page.status, g).toBe(503);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.cookie('anteroom_ticket')?.value).not.toBe(g);
      const status = await statusOf(h.proxy.port, g, { 'x-client-id': 'x' });
      expect(status.status, g).toBe(200);
      expect(status.json()['state']).toBe('unknown');
    }
    // A status poll with a borrowed ticket does not reveal or move the place.
    const borrowed = await statusOf(h.proxy.port, ticket, { 'x-client-id': 'thief' });
    expect(borrowed.json()).toMatchObject({ state: 'unknown', position: null });
    expect(h.log.lines.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    expect(refusedLines(h).length).toBeGreaterThanOrEqual(garbage.length * 3);
  });
});

describe('the same ticket on parallel requests', () => {
  it('every request gets an answer; none hangs', async () => {
    const h = await setup({ hold: { apiMs: 300 } });
    await occupy(h);
    const { ticket } = held503(await api(h, 'x'));
    // A client that shares its last ticket among parallel requests (or retries before the first gave up).
    const parallel = [api(h, 'x', '/api/x/1', ticket), api(h, 'x', '/api/x/2', ticket), api(h, 'x', '/api/x/3', ticket)];
    const replies = await within(Promise.all(parallel), 5_000, 'three requests presenting one ticket');
    for (const r of replies) expect([503]).toContain(r.status);
    // They share one place: the room holds one waiter for x, not three.
    expect(h.room.waiting).toBe(1);
    // A retry after they all got their answer still finds the place and gets in when the slot frees.
    h.origin.release('/block');
    const last = held503(replies[2]!);
    let t = last.ticket;
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(20);
      const r = await within(api(h, 'x', '/api/x/4', t), 5_000, 'the retry');
      if (r.status === 200) break;
      t = held503(r).ticket;
    }
  });
});

describe('Retry-After', () => {
  it('always brings an obedient client back within room.graceS', async () => {
    const graceS = 5;
    const h = await setup({ graceS, hold: { apiMs: 1 } });
    await occupy(h);
    for (let i = 0; i < 30; i++) {
      const r = held503(await api(h, `c${i}`));
      expect(r.retryAfter).toBeLessThan(graceS);
    }
    const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'browser' });
    expect(Number(page.headers['retry-after'])).toBeLessThan(graceS);
  });
});

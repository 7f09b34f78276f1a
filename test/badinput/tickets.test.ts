/**
 * Bad tickets while people wait: forged, tampered, truncated, huge, not base64, expired, another
 * tenant's, another client's, replayed on many connections at once, and replayed in parallel after
 * their admission. Each gets a fresh place at the back of the line (503 with a new ticket once its
 * hold runs out) and a log line naming why, never an error, and never moves a waiter who holds a good
 * ticket: the invariant of harness.ts holds around every attack.
 *
 * The room's state changes with every attack (attackers take places), so each test has a proxy of its
 * own, in this process. test/room/room-tickets.test.ts covers one request per kind of bad ticket; this
 * file covers them arriving together, in parallel and while others wait.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { navigate, send, sign, ticketSeq, tokenFields, within, type Reply } from '../room/proxyHelpers.js';
import { arena, SECRET, underAttack, type Arena } from './harness.js';

const HOLD_MS = 300;
const WAITERS = 4;

let a: Arena | undefined;
afterEach(async () => {
  await a?.close();
  a = undefined;
});

async function setup(): Promise<Arena> {
  a = await arena({ room: { hold: { apiMs: HOLD_MS } } }, 'in-process');
  return a;
}

/** An API request that presents `ticket` (if any) as `client`; resolves with its answer. */
function api(a: Arena, client: string, path: string, ticket?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const h: Record<string, string> = { 'x-client-id': client, ...headers };
  if (ticket !== undefined) h['anteroom-ticket'] = ticket;
  return send(a.target.port, path, { headers: h }).reply;
}

/** The 503 a held request gets when its hold runs out: its position and its (new) ticket. */
function backOfLine(r: Reply, what: string): { position: number; ticket: string } {
  expect(r.status, `${what}: ${r.body}`).toBe(503);
  const body = r.json();
  expect(body['code'], what).toBe('ANT_QUEUE_TIMEOUT');
  const ticket = r.headers['anteroom-ticket'] as string;
  expect(body['ticket'], what).toBe(ticket);
  return { position: body['position'] as number, ticket };
}

function linesWith(a: Arena, msg: string): Record<string, unknown>[] {
  return a.target.lines().filter((l) => l['msg'] === msg);
}

describe('bad tickets', () => {
  it('forged, tampered, truncated, huge, not base64 and expired tickets arriving together each get a fresh place behind everyone waiting, and a log line naming the reason', async () => {
    const a = await setup();
    await underAttack(a, async () => {
      // A real ticket of the attacker's own, to forge from: its place is behind the waiters.
      const own = backOfLine(await api(a, 'mallory', '/x/own'), 'own ticket');
      expect(own.position).toBe(WAITERS + 1);
      const fields = tokenFields(own.ticket);
      const mac = own.ticket.slice(own.ticket.indexOf('.'));
      const front = [...fields];
      front[3] = 1;
      const expired = [...fields];
      expired[4] = Date.now() - 7 * 3600_000;
      expired[5] = Date.now() - 3600_000;
      const bad: [string, string, string][] = [
        ['forged', sign('anteroom-ticket', front, 'not-the-secret-at-all-0123456789'), 'bad-signature'],
        ['tampered', `${Buffer.from(JSON.stringify(front)).toString('base64url')}${mac}`, 'bad-signature'],
        ['truncated', own.ticket.slice(0, -5), 'malformed'],
        ['huge', `${'A'.repeat(7_000)}${mac}`, 'malformed'],
        ['not base64', '!!not*base64!!.@@@', 'malformed'],
        ['expired', sign('anteroom-ticket', expired, SECRET), 'expired'],
      ];
      const answers = await within(
        Promise.all(bad.map(([name, ticket]) => api(a, 'mallory', `/x/${name.replace(' ', '-')}`, ticket))),
        10_000,
        'every bad ticket answered',
      );
      const positions = answers.map((r, i) => backOfLine(r, bad[i]![0]));
      for (const [i, p] of positions.entries()) {
        // Behind the waiters and the attacker's own place, never at the place it claimed.
        expect(p.position, bad[i]![0]).toBeGreaterThan(WAITERS + 1);
        expect(ticketSeq(p.ticket), bad[i]![0]).not.toBe(1);
        expect(ticketSeq(p.ticket), bad[i]![0]).toBeGreaterThan(ticketSeq(own.ticket));
      }
      expect(new Set(positions.map((p) => p.position)).size).toBe(bad.length);
      const reasons = linesWith(a, 'ticket refused; fresh place at the back').map((l) => l['reason']);
      expect(reasons.sort()).toEqual(bad.map(([, , reason]) => reason).sort());
      // The same tickets in a browser's cookie: the waiting page with a new ticket, not the one sent.
      for (const [name, ticket] of bad.slice(0, 3)) {
        const page = await navigate(a.target.port, `/x/page-${name}`, { 'x-client-id': 'mallory', cookie: `anteroom_ticket=${ticket}` });
        expect(page.status, name).toBe(503);
        expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
        const issued = page.cookie('anteroom_ticket')?.value;
        expect(issued).toBeDefined();
        expect(issued).not.toBe(ticket);
      }
    });
  });

  it("another client's ticket and another tenant's ticket each get a fresh place at the back; the waiter whose ticket was borrowed keeps its own", async () => {
    const a = await setup();
    await underAttack(a, async (waiters) => {
      const browser = waiters.all.find((w) => w.kind === 'browser')!;
      const borrowed = backOfLine(await api(a, 'thief', '/x/borrowed', browser.ticket), 'borrowed');
      expect(borrowed.position).toBe(WAITERS + 1);
      expect(linesWith(a, 'ticket refused; fresh place at the back').map((l) => l['reason'])).toEqual(['wrong-client']);
      // A correctly signed ticket of the attacker's own, but for tenant acme, presented as tenant default.
      const own = backOfLine(await api(a, 'mallory', '/x/own'), 'own ticket');
      const acme = tokenFields(own.ticket);
      acme[1] = 'acme';
      acme[3] = 1;
      const other = backOfLine(await api(a, 'mallory', '/x/other-tenant', sign('anteroom-ticket', acme, SECRET)), "another tenant's");
      expect(other.position).toBe(WAITERS + 3);
      expect(linesWith(a, 'ticket of another tenant; fresh place at the back')).toHaveLength(1);
    });
  });

  it('one ticket replayed on 30 connections at once: every request is answered, they share the one place it names, and nobody else moves', async () => {
    const a = await setup();
    await underAttack(a, async () => {
      const own = backOfLine(await api(a, 'mallory', '/x/own'), 'own ticket');
      expect(own.position).toBe(WAITERS + 1);
      const replies = await within(Promise.all(Array.from({ length: 30 }, (_, i) => api(a, 'mallory', `/x/replay/${i}`, own.ticket))), 10_000, '30 replays answered');
      for (const r of replies) {
        const back = backOfLine(r, 'replay');
        expect(back.position).toBe(WAITERS + 1);
        expect(ticketSeq(back.ticket)).toBe(ticketSeq(own.ticket));
      }
      expect(await a.target.waiting()).toBe(WAITERS + 1);
      expect(linesWith(a, 'ticket refused; fresh place at the back')).toEqual([]);
    });
  });

  it('a ticket replayed on 20 connections at once after its holder was let in: each replay is a newcomer, never the old place', async () => {
    const a = await setup();
    let used: string | undefined;
    let holder = '';
    await underAttack(a, async (waiters) => {
      // The first waiter's hold runs out while the attack waits: it has a ticket for its place.
      const first = waiters.all[0]!;
      await within(
        (async () => {
          while (first.ticket === undefined) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        "the first waiter's ticket",
      );
      used = first.ticket;
      holder = first.client;
    });
    // Everyone was let in, the first waiter with that ticket. Now it comes back 20 times at once.
    const replies = await within(Promise.all(Array.from({ length: 20 }, (_, i) => api(a, holder, `/x/again/${i}`, used))), 10_000, '20 replays answered');
    for (const r of replies) expect([200, 503]).toContain(r.status);
    for (const r of replies.filter((r) => r.status === 503)) expect(ticketSeq(backOfLine(r, 'replay').ticket)).not.toBe(ticketSeq(used!));
    expect(linesWith(a, 'ticket already used; fresh place at the back')).toHaveLength(20);
    a.target.expectAlive();
  });
});

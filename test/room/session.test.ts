import { describe, expect, it } from 'vitest';
import { ActiveSessions } from '../../src/room/activeSessions.js';
import { clientKeyHash } from '../../src/room/clientKeyHash.js';
import { SessionSigner } from '../../src/room/session.js';
import { TicketSigner } from '../../src/room/ticket.js';
import { FakeClock } from './helpers.js';

const T0 = 1_700_000_000_000;
const TTL = 600_000;
const signer = new SessionSigner({ secrets: ['k1'], ttlMs: TTL });
const me = { clientKey: 'client-a' };

describe('SessionSigner: admission cookies', () => {
  it('signs and verifies, bound to the tenant and client', () => {
    const cookie = signer.issue({ tenant: 'acme', clientKey: 'client-a', now: T0 });
    expect(cookie).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(signer.verify(cookie, { ...me, now: T0 + 1 })).toEqual({
      ok: true,
      session: { version: 1, tenant: 'acme', clientHash: clientKeyHash('client-a'), issuedAt: T0, expiresAt: T0 + TTL, admittedAt: T0 },
    });
    expect(signer.verify(cookie, { clientKey: 'client-b', now: T0 + 1 })).toEqual({ ok: false, reason: 'wrong-client' });
  });

  it('expires after the TTL', () => {
    const cookie = signer.issue({ tenant: 'acme', clientKey: 'client-a', now: T0 });
    expect(signer.verify(cookie, { ...me, now: T0 + TTL - 1 }).ok).toBe(true);
    expect(signer.verify(cookie, { ...me, now: T0 + TTL })).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses forged, tampered and foreign values', () => {
    const cookie = signer.issue({ tenant: 'acme', clientKey: 'client-a', now: T0 });
    const other = new SessionSigner({ secrets: ['k2'], ttlMs: TTL }).issue({ tenant: 'acme', clientKey: 'client-a', now: T0 });
    expect(signer.verify(other, { ...me, now: T0 })).toEqual({ ok: false, reason: 'bad-signature' });
    const tampered = (cookie[0] === 'A' ? 'B' : 'A') + cookie.slice(1);
    expect(signer.verify(tampered, { ...me, now: T0 })).toEqual({ ok: false, reason: 'bad-signature' });
    const ticket = new TicketSigner({ secrets: ['k1'], ttlMs: TTL }).issue({ tenant: 'acme', cls: 'normal', seq: 1, clientKey: 'client-a', now: T0 });
    expect(signer.verify(ticket, { ...me, now: T0 })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(signer.verify('x'.repeat(5000), { ...me, now: T0 })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('renews only once more than half the TTL has gone, keeping the admission time', () => {
    const cookie = signer.issue({ tenant: 'acme', clientKey: 'client-a', now: T0 });
    const s = signer.verify(cookie, { ...me, now: T0 })as { ok: true; session: Parameters<SessionSigner['renew']>[0] };
    expect(signer.renew(s.session, T0 + TTL / 2)).toBeNull();
    const renewed = signer.renew(s.session, T0 + TTL / 2 + 1)!;
    expect(renewed).not.toBeNull();
    const r = signer.verify(renewed, { ...me, now: T0 + TTL + 1000 });
    expect(r.ok && r.session.expiresAt).toBe(T0 + TTL / 2 + 1 + TTL);
    expect(r.ok && r.session.admittedAt).toBe(T0);
    expect(signer.renew(s.session, T0 + TTL)).toBeNull(); // too late: it has expired
  });

  it('stops renewing at the maximum age', () => {
    const capped = new SessionSigner({ secrets: ['k1'], ttlMs: TTL, maxAgeMs: TTL + 60_000 });
    const first = capped.verify(capped.issue({ tenant: 'acme', clientKey: 'client-a', now: T0 }), { ...me, now: T0 });
    if (!first.ok) throw new Error('expected a session');
    const renewed = capped.verify(capped.renew(first.session, T0 + TTL - 1000)!, { ...me, now: T0 + TTL });
    if (!renewed.ok) throw new Error('expected a renewed session');
    expect(renewed.session.expiresAt).toBe(T0 + TTL + 60_000);
    expect(capped.renew(renewed.session, T0 + TTL + 59_000)).toBeNull();
  });
});

describe('ActiveSessions', () => {
  it('counts per tenant against the maxima and frees capacity as sessions expire', () => {
    const clock = new FakeClock(T0);
    const active = new ActiveSessions({ now: clock.now, ttlMs: TTL, maxTotal: 3, maxPerTenant: 2, tenantMax: { big: 3 } });
    expect(active.admit('a', 'c1')).toBe(true);
    expect(active.admit('a', 'c2')).toBe(true);
    expect(active.admit('a', 'c3')).toBe(false);
    expect(active.admit('a', 'c1')).toBe(true); // already in: a refresh, not a new session
    expect(active.admit('big', 'c1')).toBe(true);
    expect(active.canAdmit('big')).toBe(false); // the total is reached
    expect(active.count()).toBe(3);
    expect(active.count('a')).toBe(2);

    clock.advance(TTL / 2);
    expect(active.touch('a', 'c2')).toBe(true);
    clock.advance(TTL / 2);
    // c1 of a and c1 of big were last seen a TTL ago; c2 of a is still active.
    expect(active.count()).toBe(1);
    expect(active.has('a', 'c1')).toBe(false);
    expect(active.has('a', 'c2')).toBe(true);
    expect(active.admit('big', 'c9')).toBe(true);
    expect(active.end('a', 'c2')).toBe(true);
    expect(active.count('a')).toBe(0);
    expect(active.count()).toBe(1);
  });
});

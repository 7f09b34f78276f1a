import { describe, expect, it } from 'vitest';
import { clientKeyHash } from '../../src/room/clientKeyHash.js';
import { SequenceClock } from '../../src/room/sequence.js';
import { MAX_TOKEN_LENGTH, TokenSigner } from '../../src/room/signedToken.js';
import { TicketSigner } from '../../src/room/ticket.js';

const T0 = 1_700_000_000_000;
const TTL = 30 * 60_000;
const signer = new TicketSigner({ secrets: ['s3cret-current'], ttlMs: TTL });
const issue = (over: Partial<Parameters<TicketSigner['issue']>[0]> = {}) =>
  signer.issue({ tenant: 'acme', cls: 'normal', seq: 1_700_000_000_000_123, clientKey: 'client-a', now: T0, ...over });
const at = { clientKey: 'client-a', now: T0 + 1000 };

/** Replaces the character at `i` by another base64url character, so the string stays well-formed. */
function flip(token: string, i: number): string {
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

describe('tickets', () => {
  it('round-trips every field, in a compact URL-safe form', () => {
    const token = issue();
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBeLessThan(200);
    const r = signer.verify(token, at);
    expect(r).toEqual({
      ok: true,
      ticket: {
        version: 1,
        tenant: 'acme',
        cls: 'normal',
        seq: 1_700_000_000_000_123,
        issuedAt: T0,
        expiresAt: T0 + TTL,
        clientHash: clientKeyHash('client-a'),
      },
    });
  });

  it('refuses a ticket signed with another secret as a forgery', () => {
    const forger = new TicketSigner({ secrets: ['guessed'], ttlMs: TTL });
    const forged = forger.issue({ tenant: 'acme', cls: 'critical', seq: 1, clientKey: 'client-a', now: T0 });
    expect(signer.verify(forged, at)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a ticket with any character of its payload changed', () => {
    const token = issue();
    const dot = token.indexOf('.');
    for (const i of [0, 5, dot - 1]) expect(signer.verify(flip(token, i), at)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a ticket with its MAC changed, including a non-canonical last character', () => {
    const token = issue();
    expect(signer.verify(flip(token, token.indexOf('.') + 1), at)).toEqual({ ok: false, reason: 'bad-signature' });
    // The 43rd character carries 2 spare bits: a decoder would map a variant of it to the same bytes.
    const last = token[token.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(signer.verify(token.slice(0, -1) + variant, at)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a payload re-signed by someone who edited it without the secret', () => {
    const token = issue();
    const [payload, mac] = token.split('.') as [string, string];
    const fields = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown[];
    fields[3] = 1; // the first place in the queue
    const edited = Buffer.from(JSON.stringify(fields)).toString('base64url');
    expect(signer.verify(`${edited}.${mac}`, at)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an expired ticket, from the instant of expiry', () => {
    const token = issue();
    expect(signer.verify(token, { clientKey: 'client-a', now: T0 + TTL - 1 }).ok).toBe(true);
    expect(signer.verify(token, { clientKey: 'client-a', now: T0 + TTL })).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a ticket presented by another client', () => {
    expect(signer.verify(issue(), { clientKey: 'client-b', now: T0 + 1000 })).toEqual({ ok: false, reason: 'wrong-client' });
  });

  it('refuses an oversized token as malformed', () => {
    const big = `${'A'.repeat(MAX_TOKEN_LENGTH)}.${'B'.repeat(43)}`;
    expect(signer.verify(big, at)).toEqual({ ok: false, reason: 'malformed' });
    // One character over the limit is enough, even when the rest is a valid ticket.
    expect(signer.verify(issue() + 'x'.repeat(MAX_TOKEN_LENGTH), at)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('answers garbage with malformed and never throws', () => {
    const garbage: unknown[] = ['', '.', 'abc', 'a.b', 'a.b.c', `${'%%'}.${'A'.repeat(43)}`, `.${'A'.repeat(43)}`, 'A'.repeat(100), null, undefined, 42, {}, ['x']];
    for (const g of garbage) expect(signer.verify(g, at)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses well-signed payloads of the wrong shape or an unknown version', () => {
    const raw = new TokenSigner(['s3cret-current'], 'anteroom-ticket');
    const hash = clientKeyHash('client-a');
    expect(signer.verify(raw.sign([2, 'acme', 'normal', 1, T0, T0 + TTL, hash]), at)).toEqual({ ok: false, reason: 'unsupported-version' });
    expect(signer.verify(raw.sign([1, 'acme', 'vip', 1, T0, T0 + TTL, hash]), at)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(raw.sign([1, 'acme', 'normal', -1, T0, T0 + TTL, hash]), at)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(raw.sign([1, 'acme', 'normal', 1, T0]), at)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(raw.sign(['1']), at)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('does not accept an admission cookie as a ticket (purpose separation)', () => {
    const cookieSigner = new TokenSigner(['s3cret-current'], 'anteroom-session');
    const token = cookieSigner.sign([1, 'acme', 'normal', 1, T0, T0 + TTL, clientKeyHash('client-a')]);
    expect(signer.verify(token, at)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rotates secrets: signs with the first, accepts any listed, refuses a dropped one', () => {
    const old = new TicketSigner({ secrets: ['old'], ttlMs: TTL });
    const rotated = new TicketSigner({ secrets: ['new', 'old'], ttlMs: TTL });
    const newOnly = new TicketSigner({ secrets: ['new'], ttlMs: TTL });
    const oldTicket = old.issue({ tenant: 'acme', cls: 'bulk', seq: 7, clientKey: 'client-a', now: T0 });
    expect(rotated.verify(oldTicket, at).ok).toBe(true);
    const newTicket = rotated.issue({ tenant: 'acme', cls: 'bulk', seq: 7, clientKey: 'client-a', now: T0 });
    expect(newOnly.verify(newTicket, at).ok).toBe(true);
    expect(old.verify(newTicket, at)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(newOnly.verify(oldTicket, at)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses to be built without a secret', () => {
    expect(() => new TicketSigner({ secrets: [], ttlMs: TTL })).toThrow(/secret/);
    expect(() => new TicketSigner({ secrets: [''], ttlMs: TTL })).toThrow(/empty/);
  });
});

describe('SequenceClock', () => {
  it('is strictly increasing within one clock tick and follows time across instances', () => {
    let now = T0;
    const a = new SequenceClock(() => now);
    const b = new SequenceClock(() => now);
    const first = a.next();
    expect(a.next()).toBe(first + 1);
    now += 5;
    const later = b.next();
    expect(later).toBeGreaterThan(first + 1);
    expect(Number.isSafeInteger(later)).toBe(true);
  });
});

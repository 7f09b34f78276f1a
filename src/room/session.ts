/**
 * Admission cookies: once let in, a browser carries a signed cookie that says so, and comes and goes
 * without queueing again until it expires. The cookie is bound to the tenant (the caller compares
 * `session.tenant`) and to the client by a hash of its client key, so a copied cookie does not let
 * a second client skip the room.
 *
 * Sliding renewal: an active visitor is not thrown back into the queue in the middle of what they are
 * doing. Once more than half the TTL has gone, `renew` issues a fresh cookie; an idle one simply
 * expires and its capacity goes back to the room. `maxAgeMs` caps the whole stay from the admission,
 * for operators who want turnover even among active visitors.
 *
 * Wire form (see signedToken.ts): base64url(JSON [v, tenant, clientHash, issuedAt, expiresAt, admittedAt])
 * '.' base64url(HMAC-SHA256), cookie-safe as is.
 */
import { CLIENT_KEY_HASH_LENGTH, clientKeyHash } from './clientKeyHash.js';
import { TokenSigner } from './signedToken.js';
import type { TicketFailure } from './ticket.js';

export const SESSION_VERSION = 1;

export interface AdmissionSession {
  readonly version: number;
  readonly tenant: string;
  readonly clientHash: string;
  /** ms since the epoch, of this cookie value. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** ms since the epoch, of the admission this cookie descends from; kept across renewals. */
  readonly admittedAt: number;
}

export type SessionFailure = TicketFailure;
export type SessionVerification = { ok: true; session: AdmissionSession } | { ok: false; reason: SessionFailure };

export interface SessionSignerOptions {
  /** Newest first: sign with the first, accept any. */
  secrets: readonly (string | Buffer)[];
  ttlMs: number;
  /** Cap on the stay since admission, renewals included. Unlimited by default. */
  maxAgeMs?: number;
}

export class SessionSigner {
  readonly #signer: TokenSigner;
  readonly #ttlMs: number;
  readonly #maxAgeMs: number;

  constructor(opts: SessionSignerOptions) {
    if (!(opts.ttlMs > 0)) throw new Error(`anteroom: session ttlMs must be positive, got ${opts.ttlMs}`);
    this.#signer = new TokenSigner(opts.secrets, 'anteroom-session');
    this.#ttlMs = opts.ttlMs;
    this.#maxAgeMs = opts.maxAgeMs ?? Infinity;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A new admission's cookie value. */
  issue(s: { tenant: string; clientKey: string; now: number }): string {
    return this.#sign(s.tenant, clientKeyHash(s.clientKey), s.now, s.now);
  }

  /** Never throws. */
  verify(value: unknown, at: { clientKey: string; now: number }): SessionVerification {
    const opened = this.#signer.open(value);
    if (!opened.ok) return opened;
    const f = opened.fields;
    if (f[0] !== SESSION_VERSION) return { ok: false, reason: typeof f[0] === 'number' ? 'unsupported-version' : 'malformed' };
    const [, tenant, clientHash, issuedAt, expiresAt, admittedAt] = f;
    if (
      f.length !== 6 ||
      typeof tenant !== 'string' ||
      typeof clientHash !== 'string' ||
      clientHash.length !== CLIENT_KEY_HASH_LENGTH ||
      !Number.isFinite(issuedAt) ||
      !Number.isFinite(expiresAt) ||
      !Number.isFinite(admittedAt)
    ) {
      return { ok: false, reason: 'malformed' };
    }
    if (at.now >= (expiresAt as number)) return { ok: false, reason: 'expired' };
    if (clientKeyHash(at.clientKey) !== clientHash) return { ok: false, reason: 'wrong-client' };
    return {
      ok: true,
      session: {
        version: SESSION_VERSION,
        tenant,
        clientHash,
        issuedAt: issuedAt as number,
        expiresAt: expiresAt as number,
        admittedAt: admittedAt as number,
      },
    };
  }

  /**
   * A fresh cookie value once more than half the TTL of this one has gone, else null (keep the cookie
   * you have). Also null when the max age leaves nothing to extend.
   */
  renew(session: AdmissionSession, now: number): string | null {
    if (now - session.issuedAt <= this.#ttlMs / 2 || now >= session.expiresAt) return null;
    if (Math.min(now + this.#ttlMs, session.admittedAt + this.#maxAgeMs) <= session.expiresAt) return null;
    return this.#sign(session.tenant, session.clientHash, now, session.admittedAt);
  }

  #sign(tenant: string, clientHash: string, now: number, admittedAt: number): string {
    const expiresAt = Math.min(now + this.#ttlMs, admittedAt + this.#maxAgeMs);
    return this.#signer.sign([SESSION_VERSION, tenant, clientHash, now, expiresAt, admittedAt]);
  }
}

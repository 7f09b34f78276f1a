/**
 * Queue tickets: the proof of a place in the waiting room, handed to a waiting browser (in the page and
 * its status polls) and to a held API client (in the 503 body and a header). A client that comes back
 * with a valid ticket is put back at its place (its `seq`) on whichever instance it reaches, so a lost
 * connection, a Retry-After or a proxy restart does not send anyone to the back (DESIGN: "nobody who
 * waits is lost").
 *
 * A ticket is bound to its client by a hash of the client key: a ticket copied to another client (a
 * shared link, a scraped header) is refused as `wrong-client` rather than jumping that client ahead. It
 * is also bound to a tenant; the caller must compare `ticket.tenant` with the request's tenant.
 *
 * Wire form (see signedToken.ts): base64url(JSON [v, tenant, class, seq, issuedAt, expiresAt, clientHash])
 * '.' base64url(HMAC-SHA256). About 150 characters for a short tenant name.
 */
import type { RoomClass } from './classes.js';
import { classIndex } from './classes.js';
import { CLIENT_KEY_HASH_LENGTH, clientKeyHash } from './clientKeyHash.js';
import { MAX_TOKEN_LENGTH, TokenSigner } from './signedToken.js';

export const TICKET_VERSION = 1;
/** Tenant names longer than this cannot be put in a ticket (the whole token must fit in 1 KB). */
export const MAX_TICKET_TENANT_LENGTH = 256;

export interface Ticket {
  readonly version: number;
  readonly tenant: string;
  readonly cls: RoomClass;
  /** The place: orders this ticket within its (tenant, class) queue on any instance. See sequence.ts. */
  readonly seq: number;
  /** ms since the epoch. */
  readonly issuedAt: number;
  /** ms since the epoch; the ticket is refused from this instant on. */
  readonly expiresAt: number;
  /** `clientKeyHash` of the client the ticket was issued to. */
  readonly clientHash: string;
}

export type TicketFailure = 'malformed' | 'bad-signature' | 'expired' | 'wrong-client' | 'unsupported-version';

export type TicketVerification = { ok: true; ticket: Ticket } | { ok: false; reason: TicketFailure };

export interface IssueTicket {
  tenant: string;
  cls: RoomClass;
  seq: number;
  clientKey: string;
  /** ms since the epoch. */
  now: number;
}

export interface TicketSignerOptions {
  /** Newest first: tickets are signed with the first and accepted with any (key rotation). */
  secrets: readonly (string | Buffer)[];
  /** How long a ticket stays valid. It must outlast the longest wait plus the abandonment grace. */
  ttlMs: number;
}

export class TicketSigner {
  readonly #signer: TokenSigner;
  readonly #ttlMs: number;

  constructor(opts: TicketSignerOptions) {
    if (!(opts.ttlMs > 0)) throw new Error(`anteroom: ticket ttlMs must be positive, got ${opts.ttlMs}`);
    this.#signer = new TokenSigner(opts.secrets, 'anteroom-ticket');
    this.#ttlMs = opts.ttlMs;
  }

  /**
   * Issues a ticket. Throws RangeError for a tenant name over MAX_TICKET_TENANT_LENGTH or a seq that is
   * not a safe non-negative integer: both are bounded upstream (identity, SequenceClock), so this is a
   * programming error, not a request error.
   */
  issue(t: IssueTicket): string {
    if (t.tenant.length > MAX_TICKET_TENANT_LENGTH) {
      throw new RangeError(`anteroom: tenant name longer than ${MAX_TICKET_TENANT_LENGTH} characters cannot be put in a ticket`);
    }
    if (!Number.isSafeInteger(t.seq) || t.seq < 0) throw new RangeError(`anteroom: ticket seq must be a safe non-negative integer, got ${t.seq}`);
    const token = this.#signer.sign([TICKET_VERSION, t.tenant, t.cls, t.seq, t.now, t.now + this.#ttlMs, clientKeyHash(t.clientKey)]);
    // Multi-byte tenant names inflate base64; a token we could not read back must not be handed out.
    if (token.length > MAX_TOKEN_LENGTH) throw new RangeError('anteroom: ticket would exceed the maximum token length');
    return token;
  }

  /** Never throws. Order of checks: size and form, signature, version, fields, expiry, client. */
  verify(token: unknown, at: { clientKey: string; now: number }): TicketVerification {
    const opened = this.#signer.open(token);
    if (!opened.ok) return opened;
    const f = opened.fields;
    if (f[0] !== TICKET_VERSION) return typeof f[0] === 'number' ? UNSUPPORTED : MALFORMED;
    if (f.length !== 7) return MALFORMED;
    const [, tenant, cls, seq, issuedAt, expiresAt, clientHash] = f;
    if (
      typeof tenant !== 'string' ||
      typeof cls !== 'string' ||
      classIndex(cls) < 0 ||
      !Number.isSafeInteger(seq) ||
      (seq as number) < 0 ||
      !Number.isFinite(issuedAt) ||
      !Number.isFinite(expiresAt) ||
      typeof clientHash !== 'string' ||
      clientHash.length !== CLIENT_KEY_HASH_LENGTH
    ) {
      return MALFORMED;
    }
    if (at.now >= (expiresAt as number)) return EXPIRED;
    if (clientKeyHash(at.clientKey) !== clientHash) return WRONG_CLIENT;
    return {
      ok: true,
      ticket: {
        version: TICKET_VERSION,
        tenant,
        cls: cls as RoomClass,
        seq: seq as number,
        issuedAt: issuedAt as number,
        expiresAt: expiresAt as number,
        clientHash,
      },
    };
  }
}

const fail = (reason: TicketFailure): TicketVerification => Object.freeze({ ok: false, reason }) as TicketVerification;
const MALFORMED = fail('malformed');
const UNSUPPORTED = fail('unsupported-version');
const EXPIRED = fail('expired');
const WRONG_CLIENT = fail('wrong-client');

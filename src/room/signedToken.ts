/**
 * The envelope shared by queue tickets and admission cookies: `base64url(JSON array) '.' base64url(MAC)`,
 * with MAC = HMAC-SHA256(secret, purpose || 0x00 || payload-as-sent). Both halves use only
 * `[A-Za-z0-9_-]`, so a token is safe unescaped in a URL, a header and a cookie value.
 *
 * Why these details:
 * - The MAC covers the payload characters as sent, not the decoded bytes. Base64 decoders ignore the
 *   spare bits of the last character, so two different strings can decode to the same bytes; MACing
 *   the string means any changed character is a bad signature.
 * - The purpose label separates the uses: a ticket is never accepted as an admission cookie, nor the
 *   reverse, even though one secret signs both.
 * - Length is checked before any decoding or crypto, so a hostile megabyte costs nothing.
 * - Key rotation: sign with the first secret, accept any of them. Put the new secret first, keep the old
 *   one until every token it signed has expired, then drop it.
 * - `open` never throws: every input, however broken, ends in a result.
 */
import { createHmac, timingSafeEqual, type KeyObject, createSecretKey } from 'node:crypto';

/** Tokens longer than this are refused unread. */
export const MAX_TOKEN_LENGTH = 1024;

const MAC_BYTES = 32;
/** base64url length of a 32-byte MAC, without padding. */
const MAC_CHARS = 43;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type OpenResult =
  | { ok: true; fields: unknown[] }
  | { ok: false; reason: 'malformed' | 'bad-signature' };

export class TokenSigner {
  readonly #keys: KeyObject[];
  readonly #prefix: Buffer;

  /**
   * `secrets`: the newest first. Throws on an empty list or an empty secret: that is a configuration
   * error, found at boot, never on a request.
   */
  constructor(secrets: readonly (string | Buffer)[], purpose: string) {
    if (secrets.length === 0) throw new Error('anteroom: at least one signing secret is required');
    this.#keys = secrets.map((s, i) => {
      const key = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
      if (key.length === 0) throw new Error(`anteroom: signing secret #${i + 1} is empty`);
      return createSecretKey(key);
    });
    this.#prefix = Buffer.from(`${purpose}\u0000`, 'utf8');
  }

  /** Signs `fields` (JSON-serialisable) with the first secret. */
  sign(fields: readonly unknown[]): string {
    const payload = Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
    return `${payload}.${this.#mac(this.#keys[0]!, payload).toString('base64url')}`;
  }

  /** Checks the envelope and the MAC, then parses the payload. Field validation is the caller's. */
  open(token: unknown): OpenResult {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return MALFORMED;
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length - dot - 1 !== MAC_CHARS) return MALFORMED;
    const payload = token.slice(0, dot);
    const macText = token.slice(dot + 1);
    if (!BASE64URL.test(payload) || !BASE64URL.test(macText)) return MALFORMED;
    const mac = Buffer.from(macText, 'base64url');
    // A non-canonical last character decodes to the same bytes; refuse it so a token has one spelling.
    if (mac.length !== MAC_BYTES || mac.toString('base64url') !== macText) return MALFORMED;
    let good = false;
    for (const key of this.#keys) {
      // Constant time per key; which key matched may leak, and that is harmless.
      if (timingSafeEqual(this.#mac(key, payload), mac)) {
        good = true;
        break;
      }
    }
    if (!good) return BAD_SIGNATURE;
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return MALFORMED;
    }
    if (!Array.isArray(fields)) return MALFORMED;
    return { ok: true, fields };
  }

  #mac(key: KeyObject, payload: string): Buffer {
    return createHmac('sha256', key).update(this.#prefix).update(payload, 'latin1').digest();
  }
}

const MALFORMED: OpenResult = Object.freeze({ ok: false, reason: 'malformed' }) as OpenResult;
const BAD_SIGNATURE: OpenResult = Object.freeze({ ok: false, reason: 'bad-signature' }) as OpenResult;

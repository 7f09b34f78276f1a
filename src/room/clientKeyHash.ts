/**
 * Tickets and admission cookies are bound to the client that received them by a hash of its client
 * key (session cookie, API key or address), never the key itself: the token travels in URLs, headers
 * and logs, and an API key must not leak through them. 16 bytes of SHA-256 is plenty to tell two
 * clients apart; it is not a secret, the MAC over it is what makes it unforgeable.
 */
import { createHash } from 'node:crypto';

/** base64url of the first 16 bytes of SHA-256(clientKey): always 22 characters. */
export function clientKeyHash(clientKey: string): string {
  return createHash('sha256').update(clientKey, 'utf8').digest().subarray(0, 16).toString('base64url');
}

/** Length of every value `clientKeyHash` returns. */
export const CLIENT_KEY_HASH_LENGTH = 22;

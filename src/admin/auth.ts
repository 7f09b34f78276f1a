/**
 * Who may use the admin API: whoever holds the bearer token (`admin.token`, else the environment's
 * ANTEROOM_ADMIN_TOKEN). Without a token the listener is open, so it may listen on loopback only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export const TOKEN_ENV = 'ANTEROOM_ADMIN_TOKEN';

/** The token in force: the config's, else the environment's; '' for none. */
export function adminToken(configured: string, env: NodeJS.ProcessEnv): string {
  return configured !== '' ? configured : (env[TOKEN_ENV] ?? '');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether a listen host reaches this machine only. `0.0.0.0`, `::` and names other than localhost do not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether an `Authorization` header carries the token. Both sides are hashed first, so that the
 * comparison takes the same time whatever the lengths (timingSafeEqual needs equal lengths).
 */
export function bearerMatches(header: string | undefined, token: string): 'ok' | 'missing' | 'wrong' {
  if (header === undefined) return 'missing';
  const m = /^bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null) return 'missing';
  const given = createHash('sha256').update(m[1]!).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) ? 'ok' : 'wrong';
}

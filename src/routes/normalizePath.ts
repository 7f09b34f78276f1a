/**
 * The path a route rule is matched against. Requests are forwarded as received, but the upstream will
 * most likely resolve `/static/../api/export` to `/api/export`; matching the raw text would let that
 * request ride a `/static/**` bypass route past the waiting room (incident 003: traffic that bypassed
 * the queue). So rules see the path with percent-encoded unreserved characters decoded (RFC 3986
 * 6.2.2.2, which turns `%2e` into `.`), backslashes read as slashes (as IIS and some frameworks
 * do), empty segments merged as nginx and most servers do, and dot segments removed (RFC 3986 5.2.4).
 */

// Only paths containing one of these can change; every other path is returned as it is, unallocated.
const SUSPECT = /%|\/\/|\/\.|\\/;
const PERCENT = /%[0-9A-Fa-f]{2}/g;

export function normalizePath(path: string): string {
  if (!path.startsWith('/') || !SUSPECT.test(path)) return path;
  let decoded = path.includes('%') ? path.replace(PERCENT, decodeUnreserved) : path;
  if (decoded.includes('\\')) decoded = decoded.replaceAll('\\', '/');
  const segments = decoded.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '' || segment === '.') {
      if (last) trailingSlash = true;
      continue;
    }
    if (segment === '..') {
      out.pop();
      if (last) trailingSlash = true;
      continue;
    }
    out.push(segment);
  }
  if (out.length === 0) return '/';
  return trailingSlash ? `/${out.join('/')}/` : `/${out.join('/')}`;
}

function decodeUnreserved(escape: string): string {
  const c = parseInt(escape.slice(1), 16);
  const unreserved =
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
  return unreserved ? String.fromCharCode(c) : escape.toUpperCase();
}

/**
 * The client key of an address. IPv4 addresses are keyed as they are. IPv6 addresses are keyed by their
 * prefix (a /64 by default): one subscriber or one cloud VM is routinely handed a whole /64, so keying
 * single IPv6 addresses would let one client pick a fresh identity per request (RFC 6177, RFC 8273).
 *
 * The parsers are hand-written single passes: this runs on every request, and `net.isIP` plus
 * split/map/join cost several microseconds for an IPv6 address.
 */

/** The key every unparseable address shares, so that garbage cannot mint a fresh identity per request. */
export const INVALID_IP_KEY = 'ip:invalid';

/** Scratch space for one parsed IPv6 address; `ipKey` is synchronous, so one buffer serves every call. */
const groups = new Uint16Array(8);

/** `ip:203.0.113.7`, `ip:2001:db8:1:2::/64`; IPv4-mapped IPv6 addresses are keyed as IPv4. */
export function ipKey(ip: string, ipv6Prefix: number): string {
  const zone = ip.indexOf('%');
  const addr = zone === -1 ? ip : ip.slice(0, zone);
  if (!addr.includes(':')) return parseIPv4(addr, 0) === -1 ? INVALID_IP_KEY : `ip:${addr}`;
  if (!parseIPv6(addr)) return INVALID_IP_KEY;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `ip:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(16, Math.max(0, ipv6Prefix - i * 16));
    groups[i] = keep === 0 ? 0 : groups[i]! & ((0xffff << (16 - keep)) & 0xffff);
  }
  return `ip:${formatIPv6()}/${ipv6Prefix}`;
}

/**
 * Dotted-quad IPv4 from `start` to the end of `s`, as Node's `net.isIPv4` accepts it (decimal octets
 * without leading zeros), as an unsigned 32-bit number; -1 when it is not one.
 */
function parseIPv4(s: string, start: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  const len = s.length;
  while (octets < 4) {
    const first = i;
    let octet = 0;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === len ? value : -1;
}

/** Parses an IPv6 address (RFC 4291 2.2 text forms) into `groups`; false when it is not one. */
function parseIPv6(s: string): boolean {
  const len = s.length;
  let n = 0; // groups parsed
  let gap = -1; // where `::` stands, as a group index
  let i = 0;
  if (len < 2) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    let j = i;
    let value = 0;
    while (j < len && j - i < 5) {
      const h = hexValue(s.charCodeAt(j));
      if (h === -1) break;
      value = value * 16 + h;
      j++;
    }
    if (j < len && s.charCodeAt(j) === 46) {
      // An embedded IPv4 address ends the text and fills two groups.
      if (n > 6) return false;
      const v4 = parseIPv4(s, i);
      if (v4 === -1) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    const digits = j - i;
    if (digits === 0 || digits > 4) return false;
    groups[n++] = value;
    if (j === len) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j === len) return false; // a trailing single colon
    if (s.charCodeAt(j) === 58) {
      if (gap !== -1) return false;
      gap = n;
      j++;
    }
    i = j;
  }
  if (gap === -1) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 1; k <= tail; k++) groups[8 - k] = groups[n - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 5952 text form of `groups`: lower-case hex, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIPv6(): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += groups[i]!.toString(16);
  }
  return text;
}

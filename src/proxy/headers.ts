/**
 * Header hygiene for both directions (RFC 9110 section 7.6.1): hop-by-hop headers and every header
 * named in `Connection` stay on their own hop. X-Forwarded-* and X-Request-Id are set on the way up.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Headers anteroom sets itself on the way up; the client's copies are replaced. */
const REPLACED_UPSTREAM = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/**
 * Everything dropped on the way up by name alone (hop-by-hop, replaced, and Expect, see below), so
 * that each request header costs one lookup on the hot path instead of three.
 */
const DROPPED_UPSTREAM = new Set([...HOP_BY_HOP, ...REPLACED_UPSTREAM, 'expect']);

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-');
}

/**
 * A filter in front of the lower-casing of header names: bit (first letter - 'a') of MASK[length] is
 * set for every name in `names`, and for every `proxy-*` length. A name that misses it is none of
 * them and is passed on without a lower-cased copy, which spares most of a request's headers (Host,
 * Accept, Cookie, User-Agent, Content-Type...) the string copy. The filter only skips work: a name
 * that passes it is lower-cased and checked as before.
 */
function nameFilter(names: Iterable<string>): Uint32Array {
  const mask = new Uint32Array(64);
  for (const name of names) mask[name.length] = mask[name.length]! | (1 << (name.charCodeAt(0) - 97));
  for (let n = 'proxy-'.length; n < mask.length; n++) mask[n] = mask[n]! | (1 << ('p'.charCodeAt(0) - 97));
  return mask;
}

function passes(mask: Uint32Array, name: string): boolean {
  const n = name.length;
  // Longer names are always checked. A first character that is not a letter maps to a bit no name
  // sets (or wraps around to one), so such a name is passed on or checked: either way correctly.
  if (n >= mask.length) return true;
  return ((mask[n]! >>> ((name.charCodeAt(0) | 0x20) - 97)) & 1) === 1;
}

const UP_FILTER = nameFilter(DROPPED_UPSTREAM);
/** On the way down: hop-by-hop, X-Request-Id (replaced by ours) and Content-Type (read). */
const DOWN_FILTER = nameFilter([...HOP_BY_HOP, 'x-request-id', 'content-type']);

/** Lower-cased header names listed in a Connection header value, or null when there is none. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  // Nearly every Connection header is a bare `keep-alive` or `close`, which name no other header:
  // answer those without splitting the value and building a set.
  if (typeof value === 'string' && value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  const joined = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const token of joined.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') set.add(t);
  }
  return set.size === 0 ? null : set;
}

export interface ForwardedFacts {
  requestId: string;
  /** The full X-Forwarded-For chain to send: existing trusted entries plus the peer. */
  forwardedFor: string;
  proto: string;
  host: string;
}

/**
 * Builds the flat `[name, value, ...]` list sent upstream from the client's raw headers. Keeping the
 * raw list preserves the order and the repetition of headers (several Cookie lines stay several).
 * With `upgrade` set, `Connection: upgrade` and `Upgrade` are kept: they are the point of the request.
 */
export function upstreamRequestHeaders(raw: string[], connection: string | string[] | undefined, facts: ForwardedFacts, upgrade = false): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (named !== null || passes(UP_FILTER, name)) {
      const lower = name.toLowerCase();
      // Expect is met at this hop: Node's server already sent the client `100 Continue`, and undici
      // refuses to send the header at all (the request would fail before reaching the upstream).
      if (DROPPED_UPSTREAM.has(lower) || lower.startsWith('proxy-') || (named !== null && named.has(lower))) continue;
    }
    out.push(name, raw[i + 1]!);
  }
  out.push('x-forwarded-for', facts.forwardedFor, 'x-forwarded-proto', facts.proto, 'x-forwarded-host', facts.host, 'x-request-id', facts.requestId);
  if (upgrade) out.push('connection', 'upgrade', 'upgrade', 'websocket');
  return out;
}

/** The upstream's response headers minus hop-by-hop ones, ready for `res.writeHead`. */
export function clientResponseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const named = connectionTokens(headers['connection']);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (isHopByHop(name) || (named !== null && named.has(name))) continue;
    out[name] = headers[name];
  }
  out['x-request-id'] = requestId;
  return out;
}

/**
 * Node's latin1 decoder for a whole Buffer, called directly. `buf.toString('latin1')` looks up toString,
 * then the encoding's table, then latin1Slice, on each header name and value; V8's optimized code
 * did not inline those lookups on the buffers undici hands over (each was a generic property lookup).
 */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Buffer, start: number, end: number): string }).latin1Slice;
export function latin1(buf: Buffer): string {
  return latin1Slice.call(buf, 0, buf.length);
}

/**
 * The upstream's response headers as undici's parser hands them over (raw `[name, value, ...]`
 * buffers), minus hop-by-hop ones, appended to `out` as the flat `[name, value, ...]` list that
 * `res.writeHead` takes, followed by our X-Request-Id. Names keep the upstream's spelling; repeated
 * fields stay repeated (several Set-Cookie lines stay several). Returns the Content-Type, if any. This
 * is the hot path: no headers object is built in either direction.
 */
export function appendClientResponseHeaders(raw: readonly Buffer[], requestId: string, out: string[]): string | undefined {
  let connection: string | null = null;
  let contentType: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    const value = latin1(raw[i + 1]!);
    if (passes(DOWN_FILTER, name)) {
      const lower = name.toLowerCase();
      if (lower === 'content-type') contentType ??= value;
      else if (lower === 'connection') {
        connection = connection === null ? value : `${connection},${value}`;
        continue;
      } else if (lower === 'x-request-id' || isHopByHop(lower)) continue;
    }
    out.push(name, value);
  }
  // Headers named in Connection stay on the upstream's hop too (rare: the list is filtered again only then).
  const named = connectionTokens(connection ?? undefined);
  if (named !== null) {
    let w = 0;
    for (let r = 0; r < out.length; r += 2) {
      if (named.has(out[r]!.toLowerCase())) continue;
      out[w++] = out[r]!;
      out[w++] = out[r + 1]!;
    }
    out.length = w;
  }
  out.push('x-request-id', requestId);
  return contentType;
}

/** Every value of `name` (lower case) in a flat header list, whatever its spelling there, removed from it. */
export function takeHeaderField(list: string[], name: string): string[] {
  const values: string[] = [];
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (list[r]!.length === name.length && list[r]!.toLowerCase() === name) values.push(list[r + 1]!);
    else {
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
  }
  list.length = w;
  return values;
}

/** Same as clientResponseHeaders, as `[name, value]` lines for writing a raw response on a socket. */
export function headerLines(headers: OutgoingHttpHeaders): string {
  let s = '';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) s += `${name}: ${item}\r\n`;
    else s += `${name}: ${String(v)}\r\n`;
  }
  return s;
}

/**
 * Header hygiene on the hot path skips lower-casing names that cannot be dropped. These tests hold the
 * fast lists to the plain rule (lower-case every name, drop the hop-by-hop ones, those named in
 * Connection and the ones anteroom sets itself) over every dropped name in many spellings, mixed with
 * ordinary and unusual ones.
 */
import { describe, expect, it } from 'vitest';
import { appendClientResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';

const HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'];
const SET_BY_US = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id'];
const ORDINARY = ['host', 'accept', 'cookie', 'user-agent', 'content-type', 'content-length', 'pragma', 'p', 'tea', 'trailers', 'x-request-ids', 'proxy', 'Proxy-Foo', '0-weird', '_x', 'a'.repeat(80), 'Accept-Encoding', 'expect-ct', 'etag', 'upgrade-insecure-requests', 'Date', 'Server', 'Set-Cookie'];

/** A spelling of `name` with random upper-case letters. */
function spell(name: string, rnd: () => number): string {
  return [...name].map((ch) => (rnd() < 0.5 ? ch.toUpperCase() : ch)).join('');
}

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pick<T>(list: readonly T[], rnd: () => number): T {
  return list[Math.floor(rnd() * list.length)]!;
}

const FACTS = { requestId: 'id-1', forwardedFor: '10.0.0.1', proto: 'http', host: 'example.test' };

describe('header hygiene', () => {
  it('on the way up, drops exactly what the plain rule drops, in any spelling', () => {
    const rnd = random(7);
    for (let round = 0; round < 2_000; round++) {
      const raw: string[] = [];
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const base = r < 0.35 ? pick(HOP, rnd) : r < 0.5 ? pick([...SET_BY_US, 'expect'], rnd) : r < 0.6 ? `proxy-${pick(['x', 'foo', 'Bar-Baz'], rnd)}` : pick(ORDINARY, rnd);
        raw.push(spell(base, rnd), `v${i}`);
      }
      const connection = rnd() < 0.2 ? spell('close, Pragma, x-custom', rnd) : undefined;
      if (connection !== undefined) raw.push('X-Custom', 'named');
      const named = new Set((connection ?? '').split(',').map((t) => t.trim().toLowerCase()));
      const expected: string[] = [];
      for (let i = 0; i < raw.length; i += 2) {
        const lower = raw[i]!.toLowerCase();
        if (HOP.includes(lower) || SET_BY_US.includes(lower) || lower === 'expect' || lower.startsWith('proxy-') || named.has(lower)) continue;
        expected.push(raw[i]!, raw[i + 1]!);
      }
      expected.push('x-forwarded-for', FACTS.forwardedFor, 'x-forwarded-proto', 'http', 'x-forwarded-host', FACTS.host, 'x-request-id', FACTS.requestId);
      expect(upstreamRequestHeaders(raw, connection, FACTS)).toEqual(expected);
    }
  });

  it('on the way down, drops hop-by-hop fields and theirs X-Request-Id, keeps spelling and order, and finds Content-Type', () => {
    const rnd = random(11);
    for (let round = 0; round < 2_000; round++) {
      const pairs: [string, string][] = [];
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const base = r < 0.35 ? pick(HOP, rnd) : r < 0.45 ? 'x-request-id' : r < 0.55 ? 'content-type' : r < 0.6 ? `proxy-${pick(['x', 'foo'], rnd)}` : pick(ORDINARY, rnd);
        pairs.push([spell(base, rnd), `v${i}`]);
      }
      const connection = rnd() < 0.2 ? 'keep-alive, X-Secret' : null;
      if (connection !== null) pairs.push(['Connection', connection], ['x-secret', 'hidden'], ['X-Secret', 'hidden too']);
      const expected: string[] = [];
      let type: string | undefined;
      for (const [name, value] of pairs) {
        const lower = name.toLowerCase();
        if (lower === 'content-type') type ??= value;
        if (HOP.includes(lower) || lower === 'x-request-id' || lower.startsWith('proxy-') || (connection !== null && lower === 'x-secret')) continue;
        expected.push(name, value);
      }
      expected.push('x-request-id', 'ours');
      const out: string[] = [];
      const raw = pairs.flatMap(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]);
      expect(appendClientResponseHeaders(raw, 'ours', out)).toBe(type);
      expect(out).toEqual(expected);
    }
  });

  it('keeps the bytes of a value that is not ASCII', () => {
    const out: string[] = [];
    appendClientResponseHeaders([Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])], 'id', out);
    expect(Buffer.from(out[1]!, 'latin1')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });
});

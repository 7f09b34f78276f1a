/**
 * Header floods against a proxy in its own process, with waiters in its room: more header fields than
 * listen.maxHeaderCount, and many connections at once each sending a header section over
 * listen.maxHeaderBytes or right at the count limit. Each gets 431 problem+json, the connection is
 * closed, nothing reaches the upstream, and the proxy's memory stays bounded. (One oversized header on
 * one connection is covered in test/server/client-errors.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/index.js';
import { until } from '../room/proxyHelpers.js';
import { arena, underAttack, type Arena, type ChildTarget } from './harness.js';

const MB = 1024 * 1024;
/** listen.maxHeaderCount here. */
const COUNT = 40;
/** listen.maxHeaderBytes here: room for thousands of small fields. */
const BYTES = 65_536;

let a: Arena;
beforeAll(async () => {
  a = await arena({ listen: { maxHeaderCount: COUNT, maxHeaderBytes: BYTES } });
});
afterAll(async () => {
  await a?.close();
});

/** `n` small header lines. */
function fields(n: number, prefix = 'fill-'): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${prefix}${i}: v\r\n`;
  return s;
}

async function send(request: string): Promise<{ status: number; body: Record<string, unknown>; closed: boolean; client: RawClient }> {
  const client = await RawClient.connect(a.target.port);
  client.write(request);
  const res = await client.readResponse();
  const closed = await Promise.race([client.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3_000))]);
  client.close();
  const body = res.header('content-type') === 'application/problem+json' ? (JSON.parse(res.body.toString()) as Record<string, unknown>) : { text: res.body.toString() };
  return { status: res.status, body, closed, client };
}

describe('listen.maxHeaderCount', () => {
  it('a request with more header fields than listen.maxHeaderCount gets 431 instead of losing the fields past the count (a Content-Length among them dropped the body)', async () => {
    await underAttack(a, async () => {
      const before = a.raw.requests.length;
      // Node's own default keeps about a thousand fields; the body's Content-Length comes after them.
      const r = await send(`POST /raw/many HTTP/1.1\r\nHost: shop.test\r\n${fields(1500)}Content-Length: 5\r\n\r\nhello`);
      expect(r.status).toBe(431);
      expect(r.body).toMatchObject({ code: 'ANT_HEADERS_TOO_LARGE', detail: `The request has more than ${COUNT} header fields.` });
      expect(r.closed).toBe(true);
      expect(a.raw.requests.length).toBe(before);
    });
  });

  it('exactly at the limit the request goes through with every field and its body; one over, 431', async () => {
    await underAttack(a, async () => {
      // Host, Content-Length and the filler make COUNT fields.
      const at = await send(`POST /raw/at-limit HTTP/1.1\r\nHost: shop.test\r\n${fields(COUNT - 2)}Content-Length: 5\r\n\r\nhello`);
      expect(at.status).toBe(200);
      const seen = a.raw.requests.find((r) => r.target === '/raw/at-limit')!;
      expect(seen.body.toString()).toBe('hello');
      expect(Object.keys(seen.headers).filter((h) => h.startsWith('fill-'))).toHaveLength(COUNT - 2);
      const over = await send(`POST /raw/over-limit HTTP/1.1\r\nHost: shop.test\r\n${fields(COUNT - 1)}Content-Length: 5\r\n\r\nhello`);
      expect(over.status).toBe(431);
      expect(a.raw.requests.some((r) => r.target === '/raw/over-limit')).toBe(false);
    });
  });

  it('a websocket upgrade over the count gets 431 too', async () => {
    await underAttack(a, async () => {
      const r = await send(
        `GET /raw/ws HTTP/1.1\r\nHost: shop.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${fields(COUNT)}\r\n`,
      );
      expect(r.status).toBe(431);
      expect(r.closed).toBe(true);
    });
  });
});

describe('floods from many connections at once', () => {
  it('200 connections, half over maxHeaderBytes and half over maxHeaderCount: every one gets 431 and is closed, none reaches the upstream, memory stays bounded', async () => {
    await underAttack(a, async () => {
      const target = a.target as ChildTarget;
      const before = await target.liveMemory();
      const requests = a.raw.requests.length;
      const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(a.target.port)));
      clients.forEach((c, i) =>
        c.write(i % 2 === 0 ? `GET /raw/flood/${i} HTTP/1.1\r\nHost: shop.test\r\nX-Big: ${'b'.repeat(BYTES)}\r\n\r\n` : `GET /raw/flood/${i} HTTP/1.1\r\nHost: shop.test\r\n${fields(COUNT * 5)}\r\n`),
      );
      const during = await target.liveMemory();
      const answers = await Promise.all(clients.map((c) => c.readResponse()));
      for (const res of answers) {
        expect(res.status).toBe(431);
        expect((JSON.parse(res.body.toString()) as Record<string, unknown>)['code']).toBe('ANT_HEADERS_TOO_LARGE');
      }
      await Promise.all(clients.map((c) => c.closed));
      expect(during - before).toBeLessThan(16 * MB);
      expect(a.raw.requests.length).toBe(requests);
      await until(() => a.target.lines().filter((l) => l['refusal'] === 'ANT_HEADERS_TOO_LARGE' || l['code'] === 'ANT_HEADERS_TOO_LARGE').length >= 200, 'every refusal logged');
    });
  });
});

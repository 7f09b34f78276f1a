/**
 * Slow clients against a proxy in its own process, with waiters in its room: a body that trickles past
 * listen.requestTimeoutMs, a body that stalls after the upstream has begun its answer, headers trickled
 * byte by byte (slowloris) from many connections, connections that never send anything, many idle
 * keep-alive connections, and a client that never reads its response. Each gets 408 or is closed, the
 * upstream request is never left open, and the proxy's memory stays bounded.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/index.js';
import { until } from '../room/proxyHelpers.js';
import { arenaPerFile, pollUntil, underAttack, type ChildTarget } from './harness.js';
import { BIG_BYTES } from './strictOrigin.js';

const MB = 1024 * 1024;

const a = arenaPerFile();

/** Writes `data` one piece every `everyMs` until the connection closes or the pieces run out. */
function trickle(client: RawClient, pieces: string[], everyMs: number): void {
  const timer = setInterval(() => {
    const piece = pieces.shift();
    if (piece === undefined || client.socket.destroyed) clearInterval(timer);
    else client.write(piece);
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

function problem(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString()) as Record<string, unknown>;
}

describe('a body slower than listen.requestTimeoutMs', () => {
  it('a trickling body and a chunked body whose last chunk never comes both get 408 ANT_REQUEST_TIMEOUT and a closed connection, and their upstream requests are aborted', async () => {
    await underAttack(a, async () => {
      const trickling = await RawClient.connect(a.target.port);
      trickling.write('POST /raw/slow-body HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1000\r\n\r\n');
      trickle(trickling, Array.from({ length: 1000 }, () => 'x'), 100);
      const unfinished = await RawClient.connect(a.target.port);
      unfinished.write('POST /raw/no-last-chunk HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      for (const [client, target] of [
        [trickling, '/raw/slow-body'],
        [unfinished, '/raw/no-last-chunk'],
      ] as const) {
        const res = await client.readResponse();
        expect(res.status, target).toBe(408);
        expect(res.header('content-type')).toBe('application/problem+json');
        expect(problem(res.body)).toMatchObject({ status: 408, code: 'ANT_REQUEST_TIMEOUT', detail: 'The request was not received in time.' });
        await client.closed;
        const seen = a.raw.requests.find((r) => r.target === target);
        expect(seen?.complete, target).toBe(false);
        await until(() => seen!.socketClosed, `the upstream request for ${target} aborted`);
      }
    });
  });

  it('a request that times out after its response began is cut off, not answered with a 408 inside the response body', async () => {
    await underAttack(a, async () => {
      const client = await RawClient.connect(a.target.port);
      client.write('POST /raw/early HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1000\r\n\r\n0123456789');
      // The upstream answers at once; the client never sends the rest of its body.
      const received = (await client.readToEnd()).toString('latin1');
      expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(received).toContain('\r\n\r\n5\r\nearly\r\n');
      expect(received).not.toContain('HTTP/1.1 408');
      const seen = a.raw.requests.find((r) => r.target === '/raw/early');
      await until(() => seen!.socketClosed, 'the upstream request aborted');
      // The proxy's log arrives over its stdout pipe, which can be read after the origin's socket closed.
      await until(
        () => a.target.lines().some((l) => l['msg'] === 'client error' && l['code'] === 'ANT_REQUEST_TIMEOUT' && l['responseStarted'] === true),
        'the client error logged',
      );
    });
  });
});

describe('slowloris', () => {
  it('100 connections trickling their headers a byte at a time all get 408 within headersTimeoutMs; memory stays bounded', async () => {
    await underAttack(a, async () => {
      const target = a.target as ChildTarget;
      const connectionsBefore = await target.connections();
      const before = await target.liveMemory();
      const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(a.target.port)));
      // Each sends its request line and a header at once, then the rest a byte every 50 ms.
      await Promise.all(
        clients.map(
          (c, i) =>
            new Promise<void>((resolve) => {
              c.socket.write(`GET /raw/slowloris/${i} HTTP/1.1\r\nHost: shop.test\r\nX-Padding: ${'a'.repeat(4000)}`, () => resolve());
              trickle(c, [...'a'.repeat(4000)], 50);
            }),
        ),
      );
      await pollUntil(async () => (await target.connections()) >= connectionsBefore + 100, 'every slowloris connection accepted');
      // While they are all open: what the proxy holds for them is bounded by maxHeaderBytes each.
      const during = await target.liveMemory();
      const answers = await Promise.all(clients.map((c) => c.readResponse()));
      for (const res of answers) {
        expect(res.status).toBe(408);
        expect(problem(res.body)['code']).toBe('ANT_REQUEST_TIMEOUT');
      }
      await Promise.all(clients.map((c) => c.closed));
      expect(during - before).toBeLessThan(16 * MB);
      expect(a.raw.requests.filter((r) => r.target.startsWith('/raw/slowloris'))).toEqual([]);
    });
  });
});

describe('idle connections', () => {
  it('200 connections that never send a byte are answered 408 and closed; 200 idle keep-alive connections are closed after keepAliveTimeoutMs', async () => {
    await underAttack(a, async () => {
      const silent = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(a.target.port)));
      const kept = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(a.target.port)));
      const answers = await Promise.all(
        kept.map(async (c, i) => {
          c.write(`GET /raw/keep/${i} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
          return c.readResponse();
        }),
      );
      for (const res of answers) expect(res.status).toBe(200);
      // Both kinds are closed by the proxy, not by the test.
      await Promise.all([...silent, ...kept].map((c) => c.closed));
      for (const c of kept) expect(c.pending.length).toBe(0);
      for (const c of silent) {
        const res = await c.readResponse();
        expect(res.status).toBe(408);
      }
    });
  });
});

describe('a client that never reads its response', () => {
  it('holds neither proxy memory nor the upstream request: the proxy stops reading from the upstream, and after listen.sendTimeoutMs cuts the client off and aborts the upstream request', async () => {
    await underAttack(a, async () => {
      const target = a.target as ChildTarget;
      const before = await target.liveMemory();
      const client = await RawClient.connect(a.target.port);
      client.socket.pause();
      client.write('GET /raw/big HTTP/1.1\r\nHost: shop.test\r\n\r\n');
      await until(() => a.raw.requests.some((r) => r.target === '/raw/big' && r.written > 0), 'the origin answering');
      const seen = a.raw.requests.find((r) => r.target === '/raw/big')!;
      // The origin's writes stall once the buffers between it and the unread client are full.
      let last = -1;
      await pollUntil(async () => {
        const stalled = seen.written === last;
        last = seen.written;
        await new Promise((r) => setTimeout(r, 100));
        return stalled || seen.socketClosed;
      }, 'the origin stalled');
      const during = await target.liveMemory();
      expect(during - before).toBeLessThan(16 * MB);
      await until(() => seen.socketClosed, 'the upstream request aborted', 15_000);
      expect(seen.written).toBeLessThan(BIG_BYTES);
      client.socket.resume();
      await client.closed;
      await until(() => a.target.lines().some((l) => l['msg'] === 'request' && l['path'] === '/raw/big'), 'the request logged');
      const line = a.target.lines().find((l) => l['msg'] === 'request' && l['path'] === '/raw/big')!;
      expect(line).toMatchObject({ status: 200, clientAborted: true });
      expect(line['upstreamError']).toContain('listen.sendTimeoutMs');
    });
  });
});

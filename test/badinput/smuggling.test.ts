/**
 * Request smuggling against a proxy in its own process, with waiters in its room. Each shape either is
 * refused with 400 and a closed connection, or is read by the proxy as some number of requests; in
 * both cases the strict origin behind it (strictOrigin.ts) must receive exactly the requests the proxy
 * says it forwarded (matched by X-Request-Id, method and path), never one hidden in another's body,
 * and never framing it cannot accept. Cases test/server/client-errors.test.ts already covers on their
 * own (Content-Length with Transfer-Encoding in either order, Transfer-Encoding: gzip) appear here only
 * inside the count comparison.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, startProxy } from '../helpers/index.js';
import { countingOrigin, until } from '../room/proxyHelpers.js';
import { arenaPerFile, heartbeat, pollUntil, underAttack } from './harness.js';

const a = arenaPerFile();

const HIDDEN = 'GET /raw/hidden HTTP/1.1\r\nHost: shop.test\r\n\r\n';

interface Shape {
  name: string;
  request: string;
  /** The statuses of the answers the client gets, in order. */
  answers: number[];
  /** The proxy closes the connection after them. */
  closed: boolean;
}

const post = (headers: string, body: string): string => `POST /raw/smuggle HTTP/1.1\r\nHost: shop.test\r\n${headers}\r\n\r\n${body}`;

const SHAPES: Shape[] = [
  { name: 'CL.TE', request: post('Content-Length: 6\r\nTransfer-Encoding: chunked', `0\r\n\r\nX${HIDDEN}`), answers: [400], closed: true },
  { name: 'TE.CL', request: post('Transfer-Encoding: chunked\r\nContent-Length: 3', `8\r\n${HIDDEN.slice(0, 8)}\r\n0\r\n\r\n`), answers: [400], closed: true },
  { name: 'TE: chunked, identity', request: post('Transfer-Encoding: chunked, identity', `0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'TE: xchunked', request: post('Transfer-Encoding: xchunked', `0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'TE: gzip with a Content-Length', request: post('Transfer-Encoding: gzip\r\nContent-Length: 0', HIDDEN), answers: [400], closed: true },
  { name: 'TE twice', request: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', `0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'TE continued on an obs-fold line', request: post('X-Pad: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 3', 'abc'), answers: [400], closed: true },
  { name: 'TE with a space before the colon', request: post('Transfer-Encoding : chunked\r\nContent-Length: 3', 'abc'), answers: [400], closed: true },
  { name: 'Transfer_Encoding beside a Content-Length', request: post('Content-Length: 5\r\nTransfer_Encoding: chunked', `0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'Content_Length beside chunked', request: post(`Transfer-Encoding: chunked\r\nContent_Length: ${HIDDEN.length}`, `0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'CL with a plus sign', request: post('Content-Length: +5', `abcde${HIDDEN}`), answers: [400], closed: true },
  { name: 'a chunk size with a trailing space', request: post('Transfer-Encoding: chunked', `3 \r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'a chunk size in 0x form', request: post('Transfer-Encoding: chunked', `0x3\r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'TE: identity, chunked (chunked last: one chunked body, then the next request)', request: post('Transfer-Encoding: identity, chunked', `0\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'TE with a leading space', request: post('Transfer-Encoding:  chunked', `3\r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'TE with a tab', request: post('Transfer-Encoding:\tchunked', `3\r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'TE in capitals', request: post('Transfer-Encoding: CHUNKED', `3\r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'TE with a trailing space', request: post('Transfer-Encoding: chunked ', `3\r\nabc\r\n0\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'CL with leading zeros', request: post('Content-Length: 0003', `abc${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'CL with a trailing space', request: post('Content-Length: 3 ', `abc${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'a trailer after the last chunk', request: post('Transfer-Encoding: chunked', `3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n${HIDDEN}`), answers: [200, 200], closed: false },
  { name: 'Content-Length named in Connection', request: post('Content-Length: 0\r\nConnection: Content-Length', HIDDEN), answers: [200, 200], closed: false },
  { name: 'a GET whose body is a request', request: `GET /raw/smuggle HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`, answers: [200], closed: false },
  { name: 'a next request where the trailers should end', request: post('Transfer-Encoding: chunked', `3\r\nabc\r\n0\r\n${HIDDEN}`), answers: [400], closed: true },
  { name: 'ten requests in one packet', request: Array.from({ length: 10 }, (_, i) => `GET /raw/pipelined/${i} HTTP/1.1\r\nHost: shop.test\r\n\r\n`).join(''), answers: Array.from({ length: 10 }, () => 200), closed: false },
];

describe('request smuggling', () => {
  it('the origin receives exactly the requests the proxy says it forwarded: none hidden in a body, none the proxy did not see', async () => {
    await underAttack(a, async () => {
      const firstSeen = a.raw.requests.length;
      for (const shape of SHAPES) {
        const client = await RawClient.connect(a.target.port);
        client.write(shape.request);
        const statuses: number[] = [];
        for (let i = 0; i < shape.answers.length; i++) statuses.push((await client.readResponse()).status);
        expect(statuses, shape.name).toEqual(shape.answers);
        if (shape.closed) {
          await client.closed;
          expect(client.pending.length, shape.name).toBe(0);
        }
        client.close();
      }
      const seen = a.raw.requests.slice(firstSeen);
      expect(a.raw.anomalies).toEqual([]);
      // Every request the origin saw carries an id the proxy logged, for the same method and path.
      const forwarded = (): Map<string, Record<string, unknown>> =>
        new Map(a.target.lines().filter((l) => l['msg'] === 'request' && l['upstream'] === 'raw' && l['decision'] === 'bypass').map((l) => [l['reqId'] as string, l]));
      await pollUntil(async () => seen.every((r) => forwarded().has(r.requestId ?? '')), 'a proxy log line for every request the origin saw');
      for (const r of seen) {
        const line = forwarded().get(r.requestId!)!;
        expect(`${line['method'] as string} ${line['path'] as string}`).toBe(`${r.method} ${r.target}`);
      }
      // And the other way round: what the proxy forwarded reached the origin, unless its body broke off
      // before the upstream exchange began (a bad chunk after good headers), in which case it was aborted.
      const ids = new Set(seen.map((r) => r.requestId));
      const sentByProxy = [...forwarded().values()].filter((l) => /^\/raw\/(smuggle|hidden|pipelined)/.test(l['path'] as string));
      for (const l of sentByProxy.filter((l) => !ids.has(l['reqId'] as string))) expect(l).toMatchObject({ status: 0, clientAborted: true });
      // The hidden request reached the origin only where the proxy itself read it as a request.
      const expectedHidden = SHAPES.filter((s) => s.answers.length === 2).length;
      expect(seen.filter((r) => r.target === '/raw/hidden')).toHaveLength(expectedHidden);
    });
  });

  it('headers that CGI-style servers read as framing or forwarding headers ("_" for "-") are refused with 400 naming them', async () => {
    await underAttack(a, async () => {
      for (const [header, meant] of [
        ['Transfer_Encoding: chunked', 'Transfer-Encoding'],
        ['content_length: 0', 'Content-Length'],
        ['X_Forwarded_For: 203.0.113.7', 'X-Forwarded-For'],
        ['X_Request_Id: forged', 'X-Request-Id'],
      ] as const) {
        const client = await RawClient.connect(a.target.port);
        client.write(`GET /raw/alias HTTP/1.1\r\nHost: shop.test\r\n${header}\r\n\r\n`);
        const res = await client.readResponse();
        expect(res.status, header).toBe(400);
        const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
        expect(body['detail']).toBe(`Header "${header.split(':')[0]!}" is refused: with "_" read as "-" it is ${meant}, which anteroom reads or sets itself.`);
        await client.closed;
      }
      // Other underscores are a matter for the upstream.
      const client = await RawClient.connect(a.target.port);
      client.write('GET /raw/alias-ok HTTP/1.1\r\nHost: shop.test\r\nX_Custom_Thing: 1\r\n\r\n');
      expect((await client.readResponse()).status).toBe(200);
      client.close();
      expect(a.raw.requests.filter((r) => r.target === '/raw/alias')).toEqual([]);
      expect(a.raw.requests.find((r) => r.target === '/raw/alias-ok')!.headers['x_custom_thing']).toEqual(['1']);
    });
  });
});

describe('pipelining', () => {
  it('nothing pipelined behind a response that closes the connection is processed (RFC 9112 section 9.6): not after a refusal, not after Connection: close', async () => {
    await underAttack(a, async () => {
      for (const [first, status] of [
        ['POST /raw/pipe-refused HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
        ['GET /raw/pipe-close HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n', 200],
      ] as const) {
        const client = await RawClient.connect(a.target.port);
        client.write(`${first}GET /raw/pipe-after HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
        expect((await client.readResponse()).status).toBe(status);
        await client.closed;
        expect(client.pending.length).toBe(0);
      }
      expect(a.raw.requests.filter((r) => r.target === '/raw/pipe-after')).toEqual([]);
      expect(a.raw.requests.filter((r) => r.target === '/raw/pipe-close')).toHaveLength(1);
    });
  });

  it('requests pipelined behind a slow one whose connection closes give back their concurrency slots (they were held for good)', async () => {
    // The gate is read directly here, so this proxy runs in this process, with an upstream cap instead of a room.
    const origin = await countingOrigin({ hold: (req) => (req.url ?? '').startsWith('/slow/') });
    const proxy = await startProxy(origin.url, { upstreams: { app: { url: origin.url, concurrency: 10 } } });
    const beat = heartbeat(proxy.port);
    try {
      const gate = proxy.app.rt.limits.gate;
      const client = await RawClient.connect(proxy.port);
      client.write([1, 2, 3].map((i) => `GET /slow/${i} HTTP/1.1\r\nHost: shop.test\r\n\r\n`).join(''));
      await until(() => origin.held === 1, 'the first request at the origin');
      // The others wait for their turn instead of being sent on beside it.
      expect(gate.inFlight('app')).toBe(1);
      client.close();
      await until(() => gate.inFlight('app') === 0, 'every slot given back');
      expect(origin.arrived.map((r) => r.path)).toEqual(['/slow/1']);
    } finally {
      await beat.stop();
      origin.releaseAll();
      await proxy.stop();
      await origin.close();
    }
  });
});

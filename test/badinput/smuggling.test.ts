/**
 * Request smuggling against a proxy in its own process, with waiters in its room. Each shape either is
 * refused with 400 and a closed connection, or is read by the proxy as some number of requests; in
 * both cases the strict origin behind it (strictOrigin.ts) must receive exactly the requests the proxy
 * says it forwarded (matched by X-Request-Id, method and path), never one hidden in another's body,
 * and never framing it cannot accept. Cases test/server/client-errors.test.ts already covers on their
 * own (Content-Length with Transfer-Encoding in either order, Transfer-Encoding: gzip) appear here only
 * inside the count comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/index.js';
import { arena, underAttack, type Arena } from './harness.js';

let a: Arena;
beforeAll(async () => {
  a = await arena();
});
afterAll(async () => {
  await a?.close();
});

describe('request smuggling', () => {
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

/**
 * Malformed HTTP on raw sockets against a proxy in its own process, with waiters in its room. Each
 * case gets a problem+json refusal whose detail names the problem (400, or 414/417/505 where those are
 * right), its connection is closed where the rest of the stream cannot be trusted, nothing of it
 * reaches the upstream, and the invariant of harness.ts holds. Cases test/server/client-errors.test.ts
 * already covers (Content-Length with Transfer-Encoding, a Transfer-Encoding not ending in chunked,
 * conflicting Content-Lengths, a garbage request line, a space in the target, HTTP/7.1, a space in a
 * header name, a bare LF in the headers, a missing or repeated Host, `OPTIONS *`) are not repeated.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, rawRequest, type RawResponse } from '../helpers/index.js';
import { arenaPerFile, pollUntil, underAttack, type ChildTarget } from './harness.js';

const a = arenaPerFile();

interface Case {
  name: string;
  request: string;
  status: number;
  code: string;
  /** What the detail must say. */
  detail: RegExp;
  /** The proxy must close the connection after its answer (the next request on it is never read). */
  close: boolean;
}

const PROBE = 'GET /raw/probe HTTP/1.1\r\nHost: shop.test\r\n\r\n';

/**
 * Sends the case, reads the answer, then a well-formed probe on the same connection: answered when the
 * connection was rightly kept, never read when it was closed.
 */
async function exchange(request: string): Promise<{ res: RawResponse; body: Record<string, unknown>; probe: RawResponse | null }> {
  const client = await RawClient.connect(a.target.port);
  try {
    // Byte for byte: every character below 256 is one byte.
    client.write(Buffer.from(request, 'latin1'));
    const res = await client.readResponse();
    expect(res.header('content-type'), `${res.head}\n${res.body.toString()}`).toBe('application/problem+json');
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(body['requestId']).toBe(res.header('x-request-id'));
    client.write(PROBE);
    const probe = await client.readResponse().catch(() => null);
    return { res, body, probe };
  } finally {
    client.close();
  }
}

/** Runs every case under one attack; each failure names its case. */
async function refuseAll(cases: Case[]): Promise<void> {
  await underAttack(a, async () => {
    for (const c of cases) {
      const before = a.raw.requests.filter((r) => !r.target.startsWith('/raw/probe')).length;
      const { res, body, probe } = await exchange(c.request);
      expect(res.status, c.name).toBe(c.status);
      expect(body['code'], c.name).toBe(c.code);
      expect(body['status'], c.name).toBe(c.status);
      expect(body['detail'], c.name).toMatch(c.detail);
      if (c.close) {
        expect(res.header('connection'), c.name).toBe('close');
        expect(probe, `${c.name}: the connection should have been closed`).toBeNull();
      } else {
        expect(probe?.status, `${c.name}: the connection should have been kept`).toBe(200);
      }
      expect(a.raw.requests.filter((r) => !r.target.startsWith('/raw/probe')).length, `${c.name} reached the upstream`).toBe(before);
    }
  });
}

describe('request lines', () => {
  it('bad methods, versions and targets are refused, each with a detail naming the problem', async () => {
    await refuseAll([
      { name: 'an HTTP/0.9 request line (no version)', request: 'GET /raw/v09\r\n\r\n', status: 505, code: 'ANT_HTTP_VERSION', detail: /^HTTP\/0\.9 is not supported here/, close: true },
      { name: 'HTTP/0.9 as a version', request: 'GET /raw/v09 HTTP/0.9\r\nHost: shop.test\r\n\r\n', status: 505, code: 'ANT_HTTP_VERSION', detail: /^HTTP\/0\.9 is not supported here/, close: true },
      { name: 'HTTP/2.0 on HTTP/1.1 framing', request: 'GET /raw/v2 HTTP/2.0\r\nHost: shop.test\r\n\r\n', status: 505, code: 'ANT_HTTP_VERSION', detail: /^HTTP\/2\.0 is not supported here/, close: true },
      { name: 'HTTP/1.2', request: 'GET /raw/v12 HTTP/1.2\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid HTTP version/, close: true },
      { name: 'a lower-case version', request: 'GET /raw/x http/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected HTTP\//, close: true },
      { name: 'a lower-case method', request: 'get /raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid method/, close: true },
      { name: 'an unknown method', request: 'BREW /raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid method/, close: true },
      { name: 'NUL in the method', request: 'G\0T /raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid method/, close: true },
      { name: 'a tab after the method', request: 'GET\t/raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected space after method/, close: true },
      { name: 'a space after the version', request: 'GET /raw/x HTTP/1.1 \r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected CRLF after version/, close: true },
      { name: 'a bare LF ending the request line', request: 'GET /raw/x HTTP/1.1\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected CRLF after version/, close: true },
      { name: 'a bare CR ending the request line', request: 'GET /raw/x HTTP/1.1\rHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected CRLF after version/, close: true },
      { name: 'NUL in the target', request: 'GET /raw/a\0b HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid char in url path/, close: true },
      { name: 'DEL in the target', request: 'GET /raw/a\x7fb HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid char in url path/, close: true },
      { name: 'a raw non-ASCII byte in the target', request: 'GET /raw/caf\xe9 HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid char in url path/, close: true },
      { name: 'an authority-form target on GET', request: 'GET shop.test:443 HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /url schema/, close: true },
      { name: 'CONNECT with an authority-form target', request: 'CONNECT shop.test:443 HTTP/1.1\r\nHost: shop.test:443\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /^CONNECT is not supported/, close: true },
      { name: 'CONNECT with a path', request: 'CONNECT /raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /^CONNECT is not supported/, close: true },
      { name: 'an asterisk-form target on GET', request: 'GET * HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /^Request target "\*" is not a path\.$/, close: false },
      { name: 'an absolute-form target that is no URL', request: 'GET http://[zz/raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /^Request target is not a valid URL\.$/, close: false },
      { name: 'an absolute-form target of another scheme', request: 'GET ftp://shop.test/raw/x HTTP/1.1\r\nHost: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /is not a path/, close: false },
    ]);
  });

  it('upgrades other than a websocket GET are refused instead of being sent upstream as websockets or dropped without an answer', async () => {
    await refuseAll([
      {
        name: 'Upgrade: h2c',
        request: 'GET /raw/h2c HTTP/1.1\r\nHost: shop.test\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
        status: 400,
        code: 'ANT_BAD_REQUEST',
        detail: /^Upgrade to "h2c" is not supported: only websocket upgrades are proxied/,
        close: true,
      },
      {
        name: 'a websocket upgrade with POST',
        request: 'POST /raw/ws HTTP/1.1\r\nHost: shop.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 3\r\n\r\nabc',
        status: 400,
        code: 'ANT_BAD_REQUEST',
        detail: /^A websocket upgrade must be a GET request, not POST/,
        close: true,
      },
    ]);
  });

  it('a refused upgrade whose client sends more and then goes away leaves no socket open at the proxy', async () => {
    await underAttack(a, async () => {
      const target = a.target as ChildTarget;
      // The blocker's and the held waiters' connections stay open meanwhile.
      const before = await target.connections();
      for (const request of [
        'GET /raw/h2c HTTP/1.1\r\nHost: shop.test\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
        'CONNECT shop.test:443 HTTP/1.1\r\nHost: shop.test:443\r\n\r\n',
      ]) {
        const client = await RawClient.connect(a.target.port);
        client.write(request);
        const res = await client.readResponse();
        expect(res.status).toBe(400);
        client.write('more bytes the proxy will never read\r\n');
        client.socket.end();
        await client.closed;
      }
      await pollUntil(async () => (await target.connections()) <= before, 'the refused upgrades closed');
    });
  });
});

describe('header lines', () => {
  it('control characters, NUL, obs-fold and bad line endings in the header section are refused', async () => {
    await refuseAll([
      { name: 'NUL in a header value', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A: b\0c\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header value char/, close: true },
      { name: 'BEL in a header value', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A: b\x07c\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header value char/, close: true },
      { name: 'ESC in a header value', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A: \x1b[31mred\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header value char/, close: true },
      { name: 'NUL in a header name', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX\0A: b\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header token/, close: true },
      { name: 'a non-ASCII header name', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nCaf\xe9: b\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header token/, close: true },
      { name: 'an empty header name', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\n: b\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header token/, close: true },
      { name: 'a space before the colon', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A : b\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid header (token|field char)/, close: true },
      { name: 'obs-fold continuing a header value', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A: b\r\n  folded\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Unexpected whitespace after header value/, close: true },
      { name: 'obs-fold as the first header line', request: 'GET /raw/x HTTP/1.1\r\n Host: shop.test\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Unexpected space after start line/, close: true },
      { name: 'a bare CR inside a header value', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\r\nX-A: b\rc\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Missing expected LF after header value/, close: true },
      { name: 'a bare CR ending a header line', request: 'GET /raw/x HTTP/1.1\r\nHost: shop.test\rX-A: b\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Missing expected LF after header value/, close: true },
      { name: 'only LF line endings', request: 'GET /raw/x HTTP/1.1\nHost: shop.test\n\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /Expected CRLF after version/, close: true },
    ]);
  });
});

describe('request targets', () => {
  it('a target over listen.maxUrlBytes gets 414, and so does a request line over the whole header limit (it said 431, headers too large)', async () => {
    await refuseAll([
      { name: 'a target over maxUrlBytes', request: `GET /raw/${'a'.repeat(3_000)} HTTP/1.1\r\nHost: shop.test\r\n\r\n`, status: 414, code: 'ANT_URI_TOO_LONG', detail: /^The request target is 3005 bytes long, over the limit of 2048 bytes\.$/, close: false },
      { name: 'a request line over maxHeaderBytes', request: `GET /raw/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: shop.test\r\n\r\n`, status: 414, code: 'ANT_URI_TOO_LONG', detail: /^The request line is longer than 8192 bytes/, close: true },
      { name: 'an absolute-form target over maxUrlBytes', request: `GET http://shop.test/raw/${'a'.repeat(3_000)} HTTP/1.1\r\nHost: shop.test\r\n\r\n`, status: 414, code: 'ANT_URI_TOO_LONG', detail: /over the limit of 2048 bytes/, close: false },
    ]);
  });

  it('a path with a broken percent-escape gets 400', async () => {
    const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: shop.test\r\n\r\n`;
    const bad = (name: string, path: string): Case => ({ name, request: get(path), status: 400, code: 'ANT_BAD_REQUEST', detail: /has a "%" that is not followed by two hex digits\.$/, close: false });
    await refuseAll([
      bad('non-hex digits', '/raw/%zz'),
      bad('a "%" at the end', '/raw/100%'),
      bad('one hex digit', '/raw/%2'),
      bad('a double "%"', '/raw/%%2e%2e/x'),
      bad('in an absolute-form target', 'http://shop.test/raw/%g0'),
    ]);
  });

  it('targets at the limit and well-formed escapes go through as they were sent', async () => {
    await underAttack(a, async () => {
      for (const target of [`/raw/${'a'.repeat(2_043)}`, '/raw/%41b%2D/caf%C3%A9', '/raw/q?x=100%&y=%zz']) {
        const res = await rawRequest(a.target.port, `GET ${target} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
        expect(res.status, target.slice(0, 40)).toBe(200);
        expect(a.raw.requests.at(-1)!.target).toBe(target);
      }
    });
  });
});

describe('Host', () => {
  it('a request without Host gets a problem+json 400 that says so, not a bare 400 with no body', async () => {
    await refuseAll([
      { name: 'no Host in HTTP/1.1', request: 'GET /raw/x HTTP/1.1\r\n\r\n', status: 400, code: 'ANT_BAD_REQUEST', detail: /^The request has no Host header/, close: false },
    ]);
  });

  it('an invalid Host gets 400 instead of being forwarded (or failing upstream as a 502)', async () => {
    const get = (host: string): string => `GET /raw/host HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const bad = (name: string, host: string): Case => ({ name, request: get(host), status: 400, code: 'ANT_BAD_REQUEST', detail: /^Host ".*" is not a valid host\[:port\]\.$/, close: false });
    await refuseAll([
      bad('a space in the host', 'shop test'),
      bad('a path in the host', 'shop.test/admin'),
      bad('userinfo in the host', 'user@shop.test'),
      bad('an unclosed IPv6 literal', '[::1'),
      bad('a port that is not a number', 'shop.test:80x'),
      bad('a port with six digits', 'shop.test:123456'),
      bad('two ports', 'shop.test:80:81'),
      bad('a bad percent-escape', 'shop%zz.test'),
    ]);
  });

  it('valid hosts go through as they were sent', async () => {
    await underAttack(a, async () => {
      for (const host of ['shop.test', 'shop.test:8080', '[::1]:8080', '127.0.0.1', 'shop.test.', 'xn--caf-dma.test', 'shop.test:']) {
        const res = await rawRequest(a.target.port, `GET /raw/valid-host HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        expect(res.status, host).toBe(200);
        expect(a.raw.requests.at(-1)!.headers['host'], host).toEqual([host]);
      }
    });
  });
});

describe('bodies', () => {
  it('bad chunk sizes and bad Content-Lengths are refused before anything reaches the upstream', async () => {
    const post = (headers: string, body: string): string => `POST /raw/body HTTP/1.1\r\nHost: shop.test\r\n${headers}\r\n\r\n${body}`;
    await refuseAll([
      { name: 'a chunk size that is not hex', request: post('Transfer-Encoding: chunked', 'zz\r\nabc\r\n0\r\n\r\n'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in chunk size/, close: true },
      { name: 'a negative chunk size', request: post('Transfer-Encoding: chunked', '-1\r\nabc\r\n0\r\n\r\n'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in chunk size/, close: true },
      { name: 'a chunk size that overflows', request: post('Transfer-Encoding: chunked', 'FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Chunk size overflow/, close: true },
      { name: 'a bare LF after a chunk size', request: post('Transfer-Encoding: chunked', '3\nabc\n0\n\n'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Missing expected CR after chunk size/, close: true },
      { name: 'a chunk extension over 16 KiB', request: post('Transfer-Encoding: chunked', `3;${'x'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`), status: 400, code: 'ANT_BAD_REQUEST', detail: /Chunk extensions overflow/, close: true },
      { name: 'a negative Content-Length', request: post('Content-Length: -1', ''), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in Content-Length/, close: true },
      { name: 'a Content-Length that is not a number', request: post('Content-Length: ten', ''), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in Content-Length/, close: true },
      { name: 'a Content-Length with a plus sign', request: post('Content-Length: +3', 'abc'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in Content-Length/, close: true },
      { name: 'a Content-Length list', request: post('Content-Length: 3, 3', 'abc'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Invalid character in Content-Length/, close: true },
      { name: 'two equal Content-Lengths', request: post('Content-Length: 3\r\nContent-Length: 3', 'abc'), status: 400, code: 'ANT_BAD_REQUEST', detail: /Duplicate Content-Length/, close: true },
      { name: 'a Content-Length over 2^64', request: post('Content-Length: 99999999999999999999', ''), status: 400, code: 'ANT_BAD_REQUEST', detail: /Content-Length overflow/, close: true },
    ]);
  });

  it('a Content-Length with leading zeros is a valid length: the body is forwarded whole', async () => {
    await underAttack(a, async () => {
      const res = await rawRequest(a.target.port, 'POST /raw/zeros HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 0005\r\n\r\nhello');
      expect(res.status).toBe(200);
      const seen = a.raw.requests.find((r) => r.target === '/raw/zeros')!;
      expect(seen.body.toString()).toBe('hello');
      expect(seen.headers['content-length']).toEqual(['5']);
    });
  });
});

describe('Expect', () => {
  it('an expectation other than 100-continue gets a problem+json 417 naming it, not a bare 417 with no body', async () => {
    await refuseAll([
      {
        name: 'Expect: 200-ok',
        request: 'POST /raw/expect HTTP/1.1\r\nHost: shop.test\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\nabc',
        status: 417,
        code: 'ANT_EXPECTATION_FAILED',
        detail: /^Expect "200-ok" cannot be met: only 100-continue is supported\.$/,
        close: false,
      },
    ]);
  });
});

describe('keep-alive connections', () => {
  it('garbage after a complete request on a keep-alive connection: the request gets its own answer first (not the 400), then the garbage gets 400 and the connection is closed', async () => {
    await underAttack(a, async () => {
      const client = await RawClient.connect(a.target.port);
      client.write(Buffer.from('GET /raw/first HTTP/1.1\r\nHost: shop.test\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP\r\n\r\n', 'latin1'));
      const first = await client.readResponse();
      expect(first.status).toBe(200);
      expect(first.body.toString()).toBe('ok /raw/first');
      const second = await client.readResponse();
      expect(second.status).toBe(400);
      expect((JSON.parse(second.body.toString()) as Record<string, unknown>)['detail']).toMatch(/^Malformed HTTP request: .+\.$/);
      await client.closed;
      expect(a.raw.requests.filter((r) => r.target === '/raw/first')).toHaveLength(1);
    });
  });
});

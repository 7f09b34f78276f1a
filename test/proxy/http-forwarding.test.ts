/**
 * HTTP forwarding through a real proxy to a real origin: framing (chunked, HEAD, 204, 304), repeated
 * headers, hop-by-hop hygiene both ways, and the X-Forwarded-* / X-Request-Id facts sent upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { RawClient, rawRequest, startOrigin, startRawOrigin, type Origin, type Proxy, type RawOrigin } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';

const rig = proxyRig<Origin | RawOrigin>();

/** Starts an origin that runs `handler` and a proxy in front of it. */
async function setup(handler: (req: IncomingMessage, res: ServerResponse) => void, patch: Record<string, unknown> = {}): Promise<{ origin: Origin; proxy: Proxy }> {
  const o = await startOrigin(handler);
  rig.origin = o;
  return { origin: o, proxy: await rig.startProxy(o.url, patch) };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

describe('chunked transfer encoding', () => {
  it('forwards a chunked request body to the upstream, which receives it chunked and whole', async () => {
    let seen: { te: string | undefined; cl: string | undefined; body: string } | undefined;
    const { proxy } = await setup((req, res) => {
      void readBody(req).then((body) => {
        seen = { te: req.headers['transfer-encoding'], cl: req.headers['content-length'], body: body.toString() };
        res.end('ok');
      });
    });
    const res = await rawRequest(
      proxy.port,
      'POST /upload HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
        '5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
    expect(seen?.body).toBe('hello world');
    // Re-framed by the proxy: chunked, or a Content-Length when the whole body was in before sending.
    expect([seen?.te === 'chunked', seen?.cl === '11'].filter(Boolean)).toHaveLength(1);
  });

  it('relays a chunked response to the client chunked, chunk by chunk', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const { proxy } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      // The rest is held until the client has seen the first chunk: a proxy that buffered the
      // response would never deliver it and the test would time out.
      void released.then(() => res.end('second'));
    });
    const client = await RawClient.connect(proxy.port);
    client.write('GET /stream HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const headEnd = await waitForBytes(client, 'first;');
    expect(headEnd).toMatch(/transfer-encoding: chunked/i);
    release();
    // The whole response, parsed from the start.
    const full = await client.readResponse();
    expect(full.status).toBe(200);
    expect(full.header('transfer-encoding')).toBe('chunked');
    expect(full.header('content-length')).toBeUndefined();
    expect(full.body.toString()).toBe('first;second');
    client.close();
  });

  it('streams a chunked upload: the upstream sees the first chunk before the client sends the rest', async () => {
    let firstSeen!: () => void;
    const gotFirst = new Promise<void>((r) => (firstSeen = r));
    let body = '';
    const { origin, proxy } = await setup((req, res) => {
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
        firstSeen();
      });
      req.on('end', () => res.end(`got ${body.length}`));
    });
    const client = await RawClient.connect(proxy.port);
    client.write('PUT /x HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nchunk1\r\n');
    await gotFirst;
    expect(body).toBe('chunk1');
    client.write('6\r\nchunk2\r\n0\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got 12');
    expect(body).toBe('chunk1chunk2');
    expect(origin.requests[0]!.headers['transfer-encoding']).toBe('chunked');
    client.close();
  });
});

describe('Expect: 100-continue', () => {
  it('answers 100 Continue, then forwards the body without the expectation', async () => {
    let seen: { expect: string | undefined; body: string } | undefined;
    const { proxy } = await setup((req, res) => {
      void readBody(req).then((body) => {
        seen = { expect: req.headers.expect, body: body.toString() };
        res.end('stored');
      });
    });
    const client = await RawClient.connect(proxy.port);
    // What curl sends for any upload over 1 MB.
    client.write('POST /files HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    expect((await client.readResponse()).status).toBe(100);
    client.write('hello');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('stored');
    expect(seen).toEqual({ expect: undefined, body: 'hello' });
    client.close();
  });
});

describe('responses without a body', () => {
  it('answers HEAD with the upstream headers (Content-Length kept) and no body; the connection stays usable', async () => {
    const { proxy } = await setup((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1234', etag: '"v1"' });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
    });
    const client = await RawClient.connect(proxy.port);
    client.write('HEAD /doc HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const head = await client.readResponse(true);
    expect(head.status).toBe(200);
    expect(head.header('content-length')).toBe('1234');
    expect(head.header('etag')).toBe('"v1"');
    expect(head.header('transfer-encoding')).toBeUndefined();
    // A second request on the same connection parses cleanly: no stray body bytes came after the HEAD.
    client.write('GET /doc HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const get = await client.readResponse();
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(1234);
    expect(client.pending.length).toBe(0);
    client.close();
  });

  it.each([
    [204, {}],
    [304, { etag: '"abc"', 'cache-control': 'max-age=60' }],
  ] as const)('relays %i with its headers, no body and no framing headers', async (status, extra) => {
    const { proxy } = await setup((_req, res) => {
      res.writeHead(status, { 'x-origin': 'yes', ...extra });
      res.end();
    });
    const client = await RawClient.connect(proxy.port);
    client.write('GET /thing HTTP/1.1\r\nHost: example.test\r\nIf-None-Match: "abc"\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(status);
    expect(res.header('x-origin')).toBe('yes');
    for (const [k, v] of Object.entries(extra)) expect(res.header(k)).toBe(v);
    expect(res.header('transfer-encoding')).toBeUndefined();
    expect(res.header('content-length')).toBeUndefined();
    client.write('GET /after HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const next = await client.readResponse();
    expect(next.status).toBe(status);
    expect(client.pending.length).toBe(0);
    client.close();
  });
});

describe('repeated headers', () => {
  it('relays every Set-Cookie from the upstream as its own line', async () => {
    const { proxy } = await setup((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
      res.end('ok');
    });
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
  });

  it('relays repeated custom response headers without losing any value', async () => {
    const o = await startRawOrigin((_head, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nX-Multi: one\r\nX-Multi: two\r\nWarning: 199 - "a"\r\nWarning: 199 - "b"\r\nContent-Length: 2\r\n\r\nok');
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.headers['x-multi']?.join(', ')).toBe('one, two');
    expect(res.headers['warning']?.join(', ')).toBe('199 - "a", 199 - "b"');
  });

  it("adds anteroom's own cookie to a browser's response beside every one of the upstream's", async () => {
    const { proxy } = await setup((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
      res.end('ok');
    });
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\nAccept: text/html\r\n\r\n');
    expect(res.status).toBe(200);
    const cookies = res.headers['set-cookie'] ?? [];
    expect(cookies.slice(0, 2)).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(cookies.slice(2).map((c) => c.split('=')[0])).toEqual(['anteroom_session']);
  });

  it('relays the final response after an informational 103 from the upstream, and the connection stays usable', async () => {
    const o = await startRawOrigin((_head, socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const client = await RawClient.connect(proxy.port);
    for (let i = 0; i < 2; i++) {
      client.write('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n');
      const res = await client.readResponse();
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('ok');
    }
    client.close();
  });

  it('sends several Cookie lines and repeated custom headers upstream in order', async () => {
    const { origin, proxy } = await setup((_req, res) => res.end('ok'));
    const res = await rawRequest(
      proxy.port,
      'GET / HTTP/1.1\r\nHost: example.test\r\nCookie: a=1\r\nX-Tag: first\r\nCookie: b=2\r\nX-Tag: second\r\n\r\n',
    );
    expect(res.status).toBe(200);
    const raw = origin.requests[0]!.rawHeaders;
    const values = (name: string): string[] => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);
    expect(values('cookie')).toEqual(['a=1', 'b=2']);
    expect(values('x-tag')).toEqual(['first', 'second']);
    expect(origin.requests[0]!.headers.cookie).toBe('a=1; b=2');
  });
});

describe('hop-by-hop headers', () => {
  it('removes hop-by-hop headers and those named in Connection on the way up', async () => {
    const { origin, proxy } = await setup((req, res) => {
      void readBody(req).then((b) => res.end(`got ${b.toString()}`));
    });
    const res = await rawRequest(
      proxy.port,
      'POST /h HTTP/1.1\r\nHost: example.test\r\n' +
        'Connection: keep-alive, X-Secret, x-other\r\n' +
        'X-Secret: s3cret\r\nX-Other: o\r\n' +
        'Keep-Alive: timeout=99\r\n' +
        'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nProxy-Custom: p\r\n' +
        'TE: trailers\r\nTrailer: X-Checksum\r\nUpgrade: h2c\r\n' +
        'X-Kept: kept\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '4\r\nbody\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got body');
    const req = origin.requests[0]!;
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const gone of ['x-secret', 'x-other', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'proxy-custom', 'te', 'trailer', 'upgrade']) {
      expect(names, gone).not.toContain(gone);
    }
    // The client's Connection header is not forwarded (undici may send its own keep-alive).
    expect(req.headers.connection ?? 'keep-alive').toBe('keep-alive');
    // The body is re-framed by the proxy with one framing header of its own, never the client's too.
    expect(names.filter((n) => n === 'transfer-encoding' || n === 'content-length')).toHaveLength(1);
    expect(req.headers['x-kept']).toBe('kept');
  });

  it('removes hop-by-hop headers and those named in Connection on the way down', async () => {
    const o = await startRawOrigin((_head, socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\n' +
          'Connection: keep-alive, X-Secret\r\nX-Secret: s3cret\r\n' +
          'Keep-Alive: timeout=99, max=7\r\n' +
          'Proxy-Authenticate: Basic realm="x"\r\nProxy-Custom: p\r\n' +
          'Trailer: X-Checksum\r\nUpgrade: h2c\r\nTE: trailers\r\n' +
          'X-Kept: kept\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n',
      );
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('hello');
    expect(res.header('x-kept')).toBe('kept');
    for (const gone of ['x-secret', 'proxy-authenticate', 'proxy-custom', 'trailer', 'upgrade', 'te']) {
      expect(res.headers[gone], gone).toBeUndefined();
    }
    // Node writes its own keep-alive hint for the client hop; the upstream's must not come through.
    expect(res.headers['keep-alive']?.join(',') ?? '').not.toMatch(/99|max=7/);
    expect(res.headers['connection']?.join(',') ?? '').not.toMatch(/x-secret/i);
    // The proxy frames the body itself: exactly one Transfer-Encoding.
    expect(res.headers['transfer-encoding']).toEqual(['chunked']);
  });
});

describe('forwarding facts', () => {
  it('without a trusted proxy: X-Forwarded-For is the peer alone, a client-sent one is dropped', async () => {
    const { origin, proxy } = await setup((_req, res) => res.end('ok'));
    const res = await rawRequest(
      proxy.port,
      'GET /p?q=1 HTTP/1.1\r\nHost: shop.example.test:8443\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nX-Request-Id: chosen-by-client\r\n\r\n',
    );
    expect(res.status).toBe(200);
    const h = origin.requests[0]!.headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('shop.example.test:8443');
    // The Host the client asked for reaches the upstream unchanged.
    expect(h.host).toBe('shop.example.test:8443');
    expect(origin.requests[0]!.url).toBe('/p?q=1');
    // The incoming id came from an untrusted peer: replaced, and the same new id goes both ways.
    const id = res.header('x-request-id');
    expect(id).toMatch(/^[A-Za-z0-9_-]+-[0-9a-z]+$/);
    expect(id).not.toBe('chosen-by-client');
    expect(h['x-request-id']).toBe(id);
    // Exactly one of each, never the client's copy next to ours.
    const names = origin.requests[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const n of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']) expect(names.filter((x) => x === n), n).toHaveLength(1);
  });

  it('behind a trusted proxy: the chain is extended and a well-formed incoming request id is kept', async () => {
    const { origin, proxy } = await setup((_req, res) => res.end('ok'), { identity: { trustedProxies: ['127.0.0.1'] } });
    const res = await rawRequest(
      proxy.port,
      'GET / HTTP/1.1\r\nHost: example.test\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.3\r\nX-Request-Id: lb-abc.123\r\n\r\n',
    );
    expect(res.status).toBe(200);
    const h = origin.requests[0]!.headers;
    expect(h['x-forwarded-for']).toBe('203.0.113.7, 10.1.2.3, 127.0.0.1');
    expect(h['x-request-id']).toBe('lb-abc.123');
    expect(res.header('x-request-id')).toBe('lb-abc.123');
  });

  it('behind a trusted proxy: a malformed incoming request id is replaced', async () => {
    const { origin, proxy } = await setup((_req, res) => res.end('ok'), { identity: { trustedProxies: ['127.0.0.0/8'] } });
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\nX-Request-Id: has spaces <script>\r\n\r\n');
    const id = res.header('x-request-id');
    expect(id).not.toContain('script');
    expect(origin.requests[0]!.headers['x-request-id']).toBe(id);
  });

  it('several X-Forwarded-For lines from a trusted proxy become one chain', async () => {
    const { origin, proxy } = await setup((_req, res) => res.end('ok'), { identity: { trustedProxies: ['127.0.0.1'] } });
    await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: example.test\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n');
    expect(origin.requests[0]!.headers['x-forwarded-for']).toBe('198.51.100.1, 198.51.100.2, 127.0.0.1');
  });

  it('keeps the upstream URL path prefix and the query string', async () => {
    const o = await startOrigin((_req, res) => res.end('ok'));
    rig.origin = o;
    const proxy = await rig.startProxy(`${o.url}/base/`);
    const res = await rawRequest(proxy.port, 'GET /a/b?c=d&e HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(200);
    expect(o.requests[0]!.url).toBe('/base/a/b?c=d&e');
  });
});

/** Waits until `text` has arrived and returns what arrived so far. */
async function waitForBytes(client: RawClient, text: string): Promise<string> {
  for (;;) {
    const got = client.pending.toString('latin1');
    if (got.includes(text)) return got;
    await new Promise<void>((resolve) => client.socket.once('data', () => resolve()));
  }
}

/**
 * Malformed requests, answered on a raw socket: the ones Node's strict parser rejects (smuggling
 * shapes, oversized headers, bad request lines, slow headers) and the ones accept refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, RawClient, rawRequest, startOrigin, startProxy, type CapturedLog, type Origin, type Proxy, type RawResponse } from '../helpers/index.js';

let origin: Origin;
let proxy: Proxy;
let log: CapturedLog;

beforeAll(async () => {
  origin = await startOrigin((req, res) => {
    req.resume();
    req.on('end', () => res.end(`origin saw ${req.method} ${req.url}`));
  });
  log = capturingLogger('warn');
  proxy = await startProxy(origin.url, { listen: { maxHeaderBytes: 4096, headersTimeoutMs: 300 } }, log.logger);
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
});

/** Sends `request`, reads the answer and checks that the proxy closed the connection after it. */
async function refusal(request: string): Promise<{ res: RawResponse; body: Record<string, unknown> }> {
  const client = await RawClient.connect(proxy.port);
  client.write(request);
  const res = await client.readResponse();
  await client.closed;
  expect(client.pending.length).toBe(0);
  expect(res.header('connection')).toBe('close');
  expect(res.header('content-type')).toBe('application/problem+json');
  const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
  expect(body['requestId']).toBe(res.header('x-request-id'));
  return { res, body };
}

describe('requests the parser rejects', () => {
  it.each([
    ['Content-Length first', 'Content-Length: 4\r\nTransfer-Encoding: chunked', 'HPE_INVALID_TRANSFER_ENCODING'],
    ['Transfer-Encoding first', 'Transfer-Encoding: chunked\r\nContent-Length: 4', 'HPE_INVALID_CONTENT_LENGTH'],
  ])('refuses Content-Length together with Transfer-Encoding (%s) with 400 and never forwards it', async (_name, headers, parserCode) => {
    const before = origin.requests.length;
    const { res, body } = await refusal(`POST /smuggle HTTP/1.1\r\nHost: example.test\r\n${headers}\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: example.test\r\n\r\n`);
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ status: 400, code: 'ANT_BAD_REQUEST' });
    expect(body['detail']).toBe('Malformed HTTP request: Content-Length together with Transfer-Encoding is not allowed (RFC 9112 section 6.3).');
    expect(origin.requests.length).toBe(before);
    expect(log.lines.some((l) => l['msg'] === 'client error' && l['parserCode'] === parserCode)).toBe(true);
  });

  it('refuses a Transfer-Encoding that does not end in chunked with 400', async () => {
    const { res, body } = await refusal('POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: gzip\r\n\r\nhello');
    expect(res.status).toBe(400);
    expect(body['detail']).toContain('Transfer-Encoding');
  });

  it('refuses two different Content-Length headers with 400', async () => {
    const { res, body } = await refusal('POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde');
    expect(res.status).toBe(400);
    expect(body['detail']).toBe('Malformed HTTP request: Duplicate Content-Length.');
  });

  it('refuses headers over maxHeaderBytes with 431', async () => {
    const { res, body } = await refusal(`GET / HTTP/1.1\r\nHost: example.test\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(body).toMatchObject({ status: 431, code: 'ANT_HEADERS_TOO_LARGE' });
    expect(body['detail']).toContain('4096 bytes');
  });

  it('forwards headers just under maxHeaderBytes', async () => {
    const res = await rawRequest(proxy.port, `GET /fits HTTP/1.1\r\nHost: example.test\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('origin saw GET /fits');
  });

  it.each([
    ['a garbage request line', 'HELLO\r\n\r\n'],
    ['a space inside the target', 'GET /a b HTTP/1.1\r\nHost: example.test\r\n\r\n'],
    ['an unknown HTTP version', 'GET / HTTP/7.1\r\nHost: example.test\r\n\r\n'],
    ['an invalid header name', 'GET / HTTP/1.1\r\nHost: example.test\r\nBad Header: x\r\n\r\n'],
    ['a bare LF line ending in headers', 'GET / HTTP/1.1\r\nHost: example.test\nX-A: b\r\n\r\n'],
  ])('refuses %s with 400', async (_name, request) => {
    const { res, body } = await refusal(request);
    expect(res.status).toBe(400);
    expect(body['code']).toBe('ANT_BAD_REQUEST');
    expect(body['detail']).toMatch(/^Malformed HTTP request: .+\.$/);
  });

  it('answers 408 when the headers do not arrive within headersTimeoutMs', async () => {
    const client = await RawClient.connect(proxy.port);
    client.write('GET / HTTP/1.1\r\nHost: exa');
    const res = await client.readResponse();
    expect(res.status).toBe(408);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 408, code: 'ANT_REQUEST_TIMEOUT', title: 'Request timeout', detail: 'The request was not received in time.' });
    await client.closed;
  });
});

describe('requests accept refuses', () => {
  it('refuses a request without Host with 400', async () => {
    const client = await RawClient.connect(proxy.port);
    client.write('GET / HTTP/1.1\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(400);
    client.close();
  });

  it('refuses a request with two Host headers with 400 and never forwards it', async () => {
    const before = origin.requests.length;
    const res = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: shop.example.test\r\nHost: admin.internal\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'ANT_BAD_REQUEST', detail: 'The request has more than one Host header.' });
    expect(origin.requests.length).toBe(before);
  });

  it('refuses an asterisk-form target with 400 problem+json', async () => {
    const res = await rawRequest(proxy.port, 'OPTIONS * HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'ANT_BAD_REQUEST' });
  });

  it('forwards an absolute-form target as its path and query', async () => {
    const res = await rawRequest(proxy.port, 'GET http://example.test/abs/path?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('origin saw GET /abs/path?x=1');
  });
});

describe("anteroom's own endpoints", () => {
  it('answers healthz and readyz itself', async () => {
    const before = origin.requests.length;
    const health = await rawRequest(proxy.port, 'GET /__anteroom/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toEqual({ status: 'ok' });
    const ready = await rawRequest(proxy.port, 'GET /__anteroom/readyz HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body.toString())).toEqual({ status: 'ready', store: 'memory', degraded: false });
    expect(origin.requests.length).toBe(before);
  });

  it('answers 404 for an unknown own endpoint', async () => {
    const res = await rawRequest(proxy.port, 'GET /__anteroom/nope HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'ANT_NOT_FOUND' });
  });
});

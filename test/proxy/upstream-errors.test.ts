/**
 * What the client gets when the upstream fails (down, reset, slow, truncating) or the request is too
 * large, in the form the client reads: an HTML page for a browser navigation, problem+json otherwise.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { capturingLogger, closedPort, RawClient, rawRequest, startOrigin, startRawOrigin, type Origin, type Proxy, type RawOrigin, type RawResponse } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';

const rig = proxyRig<Origin | RawOrigin>();

const HTML = 'GET /page HTTP/1.1\r\nHost: example.test\r\nAccept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n\r\n';
const API = 'GET /api/items HTTP/1.1\r\nHost: example.test\r\nAccept: application/json\r\n\r\n';

function expectProblem(res: RawResponse, status: number, code: string): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.header('content-type')).toBe('application/problem+json');
  expect(res.header('cache-control')).toBe('no-store');
  const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: `urn:anteroom:error:${code}`, status, code, requestId: res.header('x-request-id') });
  expect(typeof body['detail']).toBe('string');
  expect(Number(res.header('content-length'))).toBe(res.body.length);
  return body;
}

function expectPage(res: RawResponse, status: number, title: string): string {
  expect(res.status).toBe(status);
  expect(res.header('content-type')).toBe('text/html; charset=utf-8');
  const page = res.body.toString();
  expect(page).toMatch(/^<!doctype html>/);
  expect(page).toContain(`<title>${status} ${title}</title>`);
  expect(page).toContain(`request ${res.header('x-request-id')!}`);
  return page;
}

describe('upstream down', () => {
  it('answers 502 problem+json to an API request', async () => {
    const proxy = await rig.startProxy(`http://127.0.0.1:${await closedPort()}`);
    const body = expectProblem(await rawRequest(proxy.port, API), 502, 'ANT_UPSTREAM_UNREACHABLE');
    expect(body['detail']).toContain('"app"');
  });

  it('answers 502 with an HTML page to a browser navigation', async () => {
    const proxy = await rig.startProxy(`http://127.0.0.1:${await closedPort()}`);
    const page = expectPage(await rawRequest(proxy.port, HTML), 502, 'Upstream unreachable');
    expect(page).toContain('could not be reached');
  });

  it('answers a HEAD with the 502 status and headers but no body', async () => {
    const proxy = await rig.startProxy(`http://127.0.0.1:${await closedPort()}`);
    const client = await RawClient.connect(proxy.port);
    client.write('HEAD / HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const res = await client.readResponse(true);
    expect(res.status).toBe(502);
    expect(Number(res.header('content-length'))).toBeGreaterThan(0);
    client.write('GET /__anteroom/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    client.close();
  });

  it('answers 502 when the upstream closes the connection without answering', async () => {
    const o = await startRawOrigin((_head, socket) => socket.destroy());
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    expectProblem(await rawRequest(proxy.port, API), 502, 'ANT_UPSTREAM_RESET');
  });

  it('answers 502 when the upstream sends something that is not HTTP', async () => {
    const o = await startRawOrigin((_head, socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const res = await rawRequest(proxy.port, API);
    expect(res.status).toBe(502);
    expect(res.header('content-type')).toBe('application/problem+json');
  });

  it('cuts the client connection when the upstream dies in the middle of the body', async () => {
    const o = await startRawOrigin((_head, socket: Socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      setImmediate(() => socket.destroy());
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const client = await RawClient.connect(proxy.port);
    client.write(API);
    // The status line is gone by then; a truncated body (never a complete one) is the honest signal.
    await expect(client.readResponse()).rejects.toThrow(/connection closed before a complete response/);
    expect(client.pending.toString()).not.toContain('HTTP/1.1 502');
    client.close();
  });
});

describe('upstream slow', () => {
  async function slowSetup(): Promise<Proxy> {
    const o = await startOrigin(() => {
      // never answers
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { upstreams: { app: { timeoutMs: 150 } } });
    return proxy;
  }

  it('answers 504 problem+json when the upstream sends no headers within timeoutMs', async () => {
    const p = await slowSetup();
    const body = expectProblem(await rawRequest(p.port, API), 504, 'ANT_UPSTREAM_TIMEOUT');
    expect(body['detail']).toContain('did not answer in time');
  });

  it('answers 504 with an HTML page to a browser navigation', async () => {
    const p = await slowSetup();
    expectPage(await rawRequest(p.port, HTML), 504, 'Upstream timed out');
  });
});

describe('request body limit', () => {
  it('refuses a declared Content-Length over maxBodyBytes with 413 without contacting the upstream', async () => {
    const o = await startOrigin((_req, res) => res.end('ok'));
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { listen: { maxBodyBytes: 1024 } });
    const res = await rawRequest(proxy.port, `POST /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2048\r\n\r\n${'x'.repeat(2048)}`);
    const body = expectProblem(res, 413, 'ANT_BODY_TOO_LARGE');
    expect(body['detail']).toContain('2048');
    expect(o.requests).toHaveLength(0);
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    let received = -1;
    const o = await startOrigin((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        received = n;
        res.end('ok');
      });
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { listen: { maxBodyBytes: 1024 } });
    const chunked = `400\r\n${'y'.repeat(1024)}\r\n0\r\n\r\n`;
    const res = await rawRequest(proxy.port, `POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`);
    expect(res.status).toBe(200);
    expect(received).toBe(1024);
  });

  it('refuses a chunked body that grows over maxBodyBytes with 413', async () => {
    let upstreamBytes = 0;
    const o = await startOrigin((req) => {
      req.on('data', (c: Buffer) => (upstreamBytes += c.length));
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { listen: { maxBodyBytes: 1024 } });
    const chunk = `200\r\n${'z'.repeat(512)}\r\n`;
    const res = await rawRequest(proxy.port, `POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(4)}0\r\n\r\n`);
    const body = expectProblem(res, 413, 'ANT_BODY_TOO_LARGE');
    expect(body['detail']).toContain('1024');
    // Never more than the limit reached the upstream.
    expect(upstreamBytes).toBeLessThanOrEqual(1024);
  });

  it('keeps the connection usable after refusing a chunked body mid-stream', async () => {
    const o = await startOrigin((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { listen: { maxBodyBytes: 1024 } });
    const client = await RawClient.connect(proxy.port);
    client.write('POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    // Much more than the socket buffers hold, so the proxy must keep reading after it refused.
    const chunk = `10000\r\n${'a'.repeat(0x10000)}\r\n`;
    for (let i = 0; i < 24; i++) client.write(chunk);
    const refused = await client.readResponse();
    expect(refused.status).toBe(413);
    expect(refused.header('connection')).toBe('keep-alive');
    client.write('0\r\n\r\nGET /next HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const next = await client.readResponse();
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('ok');
    client.close();
  });

  it('answers 413 to a form POST as problem+json: only GET and HEAD navigations get a page', async () => {
    const o = await startOrigin(() => undefined);
    rig.origin = o;
    const proxy = await rig.startProxy(o.url, { listen: { maxBodyBytes: 10 } });
    const res = await rawRequest(proxy.port, 'POST /form HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\nAccept: text/html\r\n\r\nhello world');
    // A POST is not a navigation that gets a page: the answer is problem+json.
    expectProblem(res, 413, 'ANT_BODY_TOO_LARGE');
  });
});

describe('client abort', () => {
  /** An origin whose response never ends; resolves `closed` with whether it had finished. */
  function holdingOrigin(onRequest?: (res: import('node:http').ServerResponse) => void) {
    let arrived!: () => void;
    let closed!: (finished: boolean) => void;
    const state = {
      arrived: new Promise<void>((r) => (arrived = r)),
      closed: new Promise<boolean>((r) => (closed = r)),
    };
    const start = startOrigin((req, res) => {
      res.once('close', () => closed(res.writableFinished));
      req.resume();
      onRequest?.(res);
      arrived();
    });
    return { state, start };
  }

  it('aborts the upstream request when the client goes away before the response', async () => {
    const { state, start } = holdingOrigin();
    const o = await start;
    rig.origin = o;
    const log = capturingLogger();
    const proxy = await rig.startProxy(o.url, { log: { requests: true } }, log.logger);
    const client = await RawClient.connect(proxy.port);
    client.write(API);
    await state.arrived;
    client.close();
    expect(await state.closed).toBe(false);
    await expect.poll(() => log.lines.find((l) => l['msg'] === 'request')).toMatchObject({ clientAborted: true, path: '/api/items' });
  });

  it('aborts the upstream response when the client goes away in the middle of the body', async () => {
    const { state, start } = holdingOrigin((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
    });
    const o = await start;
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const client = await RawClient.connect(proxy.port);
    client.write(API);
    await new Promise<void>((resolve) => client.socket.once('data', () => resolve()));
    client.close();
    expect(await state.closed).toBe(false);
  });

  it('aborts the upstream request when the client goes away in the middle of its upload', async () => {
    let uploaded = '';
    let aborted!: (complete: boolean) => void;
    const upstreamSaw = new Promise<boolean>((r) => (aborted = r));
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => (first = r));
    const o = await startOrigin((req) => {
      req.on('data', (c: Buffer) => {
        uploaded += c.toString();
        first();
      });
      req.once('close', () => aborted(req.complete));
    });
    rig.origin = o;
    const proxy = await rig.startProxy(o.url);
    const client = await RawClient.connect(proxy.port);
    client.write('POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n');
    await gotFirst;
    client.close();
    expect(await upstreamSaw).toBe(false);
    expect(uploaded).toBe('first');
  });
});

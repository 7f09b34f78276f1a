/**
 * Websocket upgrades through the proxy: an echo round trip, an upstream that refuses the upgrade with
 * a plain HTTP answer (relayed to the client), and an upstream that cannot be reached (502 on the
 * socket).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { closedPort, startOrigin, startProxy, startRawOrigin } from '../helpers/index.js';
import { rawUpgrade } from '../helpers/rawUpgrade.js';
import { websocketRig } from '../helpers/websocketRig.js';

const rig = websocketRig();

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = rig.client(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

describe('websocket forwarding', () => {
  it('echoes text and binary messages through the proxy', async () => {
    const { upgrades } = await rig.echoOrigin();
    rig.proxy = await startProxy(rig.origin!.url);
    const ws = await open(`ws://127.0.0.1:${rig.proxy.port}/chat?room=1`, { cookie: 'session=abc' });
    ws.send('hello');
    const text = await nextMessage(ws);
    expect(text.isBinary).toBe(false);
    expect(text.data.toString()).toBe('hello');
    // A message big enough to span many TCP segments and use a 64-bit length.
    const big = Buffer.alloc(200_000, 7);
    big.writeUInt32BE(0xdeadbeef, 0);
    ws.send(big);
    const echoed = await nextMessage(ws);
    expect(echoed.isBinary).toBe(true);
    expect(Buffer.compare(echoed.data, big)).toBe(0);

    expect(upgrades).toHaveLength(1);
    const up = upgrades[0]!;
    expect(up.url).toBe('/chat?room=1');
    expect(up.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(up.headers['x-forwarded-host']).toBe(`127.0.0.1:${rig.proxy.port}`);
    expect(up.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]+-[0-9a-z]+$/);
    expect(up.headers.cookie).toBe('session=abc');
    expect(rig.proxy.app.rt.websockets.size).toBe(1);
  });

  it('closes cleanly from the client and forgets the connection', async () => {
    await rig.echoOrigin();
    rig.proxy = await startProxy(rig.origin!.url);
    const serverSide = new Promise<number>((resolve) => rig.wss!.once('connection', (s) => s.once('close', (code) => resolve(code))));
    const ws = await open(`ws://127.0.0.1:${rig.proxy.port}/`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(1000, 'bye');
    expect(await closed).toBe(1000);
    expect(await serverSide).toBe(1000);
    await expect.poll(() => rig.proxy!.app.rt.websockets.size).toBe(0);
  });

  it('relays an upstream that refuses the upgrade with a plain 403', async () => {
    const o = await startOrigin((_req, res) => res.end());
    rig.origin = o;
    o.server.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nX-Reason: no-ticket\r\n\r\nnot for you.\n');
    });
    rig.proxy = await startProxy(o.url);
    const { client, res } = await rawUpgrade(rig.proxy.port);
    expect(res.status).toBe(403);
    expect(res.header('content-type')).toBe('text/plain');
    expect(res.header('x-reason')).toBe('no-ticket');
    expect(res.body.toString()).toBe('not for you.\n');
    // The socket is closed after the refusal, and the answer says so; the upstream's hop-by-hop
    // headers stay on the upstream's hop.
    expect(res.headers['connection']).toEqual(['close']);
    expect(res.header('x-request-id')).toMatch(/^[A-Za-z0-9_-]+-[0-9a-z]+$/);
    await client.closed;
    expect(client.pending.length).toBe(0);
  });

  it('relays a 404 from an upstream that does not speak websocket, body intact', async () => {
    // No 'upgrade' listener: Node hands the request to the ordinary handler.
    const o = await startOrigin((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"no websocket here"}');
    });
    rig.origin = o;
    rig.proxy = await startProxy(o.url);
    const { client, res } = await rawUpgrade(rig.proxy.port, '/nothing');
    expect(res.status).toBe(404);
    expect(res.header('content-type')).toBe('application/json');
    expect(res.body.toString()).toBe('{"error":"no websocket here"}');
    expect(res.headers['connection']).toEqual(['close']);
    expect(res.header('keep-alive')).toBeUndefined();
    expect(res.headers['transfer-encoding']).toEqual(['chunked']);
    await client.closed;

    // And the ws client library sees the same refusal.
    const refused = new Promise<number>((resolve, reject) => {
      const ws = rig.client(`ws://127.0.0.1:${rig.proxy!.port}/nothing`);
      ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(await refused).toBe(404);
  });

  it('answers 502 problem+json on the socket when the upstream is down', async () => {
    rig.proxy = await startProxy(`http://127.0.0.1:${await closedPort()}`);
    const { client, res } = await rawUpgrade(rig.proxy.port);
    expect(res.status).toBe(502);
    expect(res.header('content-type')).toBe('application/problem+json');
    expect(res.header('connection')).toBe('close');
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 502, code: 'ANT_UPSTREAM_UNREACHABLE', requestId: res.header('x-request-id') });
    await client.closed;
    expect(rig.proxy.app.rt.websockets.size).toBe(0);
  });
  it('delivers a frame the upstream sends together with its 101 (regression: the first message was lost)', async () => {
    // A welcome frame in the same write as the 101, as ActionCable or socket.io servers send one: it
    // reaches the proxy in the upgrade's head, not as later socket data.
    const raw = await startRawOrigin((head, socket) => {
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      const frame = Buffer.concat([Buffer.from([0x81, 7]), Buffer.from('welcome')]);
      socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), frame]));
    });
    try {
      rig.proxy = await startProxy(raw.url);
      const ws = rig.client(`ws://127.0.0.1:${rig.proxy.port}/ws`);
      const first = nextMessage(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect((await first).data.toString()).toBe('welcome');
    } finally {
      await raw.close();
    }
  });

  it('answers 504 on the socket when the upstream never answers the upgrade (regression: held forever)', async () => {
    const silent = await startRawOrigin(() => undefined);
    try {
      rig.proxy = await startProxy(silent.url, { upstreams: { app: { url: silent.url, timeoutMs: 300 } } });
      const { client, res } = await rawUpgrade(rig.proxy.port);
      expect(res.status).toBe(504);
      const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 504, code: 'ANT_UPSTREAM_TIMEOUT' });
      await client.closed;
    } finally {
      await silent.close();
    }
  });
});

/**
 * Graceful shutdown: in-flight requests finish, new connections are refused, open websockets get
 * 1001, readyz says draining, the grace period is enforced, and the CLI exits 0 on SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { closedPort, RawClient, rawRequest, startOrigin, startProxy } from '../helpers/index.js';
import { rawUpgrade } from '../helpers/rawUpgrade.js';
import { tempDir } from '../helpers/tempDir.js';
import { websocketRig } from '../helpers/websocketRig.js';
import { completion, spawnCli } from '../cli/cli.js';

const rig = websocketRig();

/** An origin that holds every response until the test releases it. */
async function holdingOrigin(): Promise<{ arrived: Promise<ServerResponse>; release: (body: string) => void }> {
  let arrived!: (res: ServerResponse) => void;
  const first = new Promise<ServerResponse>((r) => (arrived = r));
  rig.origin = await startOrigin((_req, res) => arrived(res));
  return {
    arrived: first,
    release: (body) => void first.then((res) => res.end(body)),
  };
}

function connectionRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const GET = 'GET /slow HTTP/1.1\r\nHost: example.test\r\n\r\n';

describe('Anteroom.stop()', () => {
  it('lets an in-flight request finish with 200 and refuses new connections', async () => {
    const held = await holdingOrigin();
    rig.proxy = await startProxy(rig.origin!.url);
    const client = await RawClient.connect(rig.proxy.port);
    client.write(GET);
    await held.arrived;

    let stopped = false;
    const stopping = rig.proxy.app.stop(10_000).then(() => (stopped = true));
    expect(await connectionRefused(rig.proxy.port)).toBe('ECONNREFUSED');
    expect(stopped).toBe(false);

    held.release('finished after stop');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('finished after stop');
    // Draining: the response tells the client not to reuse the connection, and the proxy closes it.
    expect(res.header('connection')).toBe('close');
    await client.closed;
    await stopping;
    expect(stopped).toBe(true);
  });

  it('says 503 draining on readyz once shutdown has begun', async () => {
    const held = await holdingOrigin();
    rig.proxy = await startProxy(rig.origin!.url);
    const before = await rawRequest(rig.proxy.port, 'GET /__anteroom/readyz HTTP/1.1\r\nHost: example.test\r\n\r\n');
    expect(before.status).toBe(200);

    // A slow request keeps the proxy draining; a probe whose headers are still arriving when
    // shutdown begins is answered, on its existing connection.
    const slow = await RawClient.connect(rig.proxy.port);
    slow.write(GET);
    await held.arrived;
    const accepted = new Promise<Socket>((resolve) => rig.proxy!.app.server.once('connection', resolve));
    const probe = await RawClient.connect(rig.proxy.port);
    probe.write('GET /__anteroom/readyz HTTP/1.1\r\nHost: example.test\r\n');
    // Once the proxy has read the first bytes, the connection is busy with a request, not idle.
    const probeSocket = await accepted;
    await expect.poll(() => probeSocket.bytesRead).toBeGreaterThan(0);
    const stopping = rig.proxy.app.stop(10_000);
    expect(rig.proxy.app.rt.draining).toBe(true);
    probe.write('\r\n');
    const during = await probe.readResponse();
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body.toString())).toEqual({ status: 'draining', store: 'memory', degraded: false });
    expect(during.header('connection')).toBe('close');
    held.release('done');
    expect((await slow.readResponse()).status).toBe(200);
    await stopping;
  });

  it('closes idle keep-alive connections at once', async () => {
    rig.origin = await startOrigin((_req, res) => res.end('ok'));
    // Neither the keep-alive timeout nor the grace period would close the connection within the
    // test's timeout: only closing idle connections on purpose does.
    rig.proxy = await startProxy(rig.origin.url, { listen: { keepAliveTimeoutMs: 600_000 } });
    const client = await RawClient.connect(rig.proxy.port);
    client.write('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.header('connection')).toBe('keep-alive');
    await rig.proxy.app.stop(600_000);
    await client.closed;
    expect(client.pending.length).toBe(0);
  });

  it('closes what is left when the grace period is over, aborting the upstream request', async () => {
    let upstreamClosed!: (finished: boolean) => void;
    const closed = new Promise<boolean>((r) => (upstreamClosed = r));
    let arrived!: () => void;
    const got = new Promise<void>((r) => (arrived = r));
    rig.origin = await startOrigin((_req, res) => {
      res.once('close', () => upstreamClosed(res.writableFinished));
      arrived();
    });
    rig.proxy = await startProxy(rig.origin.url);
    const client = await RawClient.connect(rig.proxy.port);
    client.write(GET);
    await got;
    await rig.proxy.app.stop(100);
    await client.closed;
    await expect(client.readResponse()).rejects.toThrow(/connection closed/);
    expect(await closed).toBe(false);
  });

  it('closes open websockets with 1001 at both ends', async () => {
    rig.origin = await startOrigin((_req, res) => res.end());
    rig.wss = new WebSocketServer({ server: rig.origin.server });
    const upstreamClose = new Promise<{ code: number; reason: string }>((resolve) => {
      rig.wss!.on('connection', (s) => {
        s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
        s.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      });
    });
    rig.proxy = await startProxy(rig.origin.url);
    const ws = new WebSocket(`ws://127.0.0.1:${rig.proxy.port}/live`);
    ws.on('error', () => undefined);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send('ping');
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    expect(rig.proxy.app.rt.websockets.size).toBe(1);

    const clientClose = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await rig.proxy.app.stop(5_000);
    expect(await clientClose).toEqual({ code: 1001, reason: 'anteroom is shutting down' });
    expect(await upstreamClose).toEqual({ code: 1001, reason: 'anteroom is shutting down' });
    expect(rig.proxy.app.rt.websockets.size).toBe(0);
  });
});

describe('closing a websocket in the middle of a frame', () => {
  it('lets the frame in flight finish, then sends 1001', async () => {
    rig.origin = await startOrigin((_req, res) => res.end());
    rig.wss = new WebSocketServer({ server: rig.origin.server });
    const messages: string[] = [];
    const upstreamClose = new Promise<number>((resolve) => {
      rig.wss!.on('connection', (s) => {
        s.on('message', (d) => messages.push((d as Buffer).toString()));
        s.once('close', (code) => resolve(code));
      });
    });
    rig.proxy = await startProxy(rig.origin.url);
    const { client, res } = await rawUpgrade(rig.proxy.port, '/raw');
    expect(res.status).toBe(101);
    const frame = maskedTextFrame('hello, whole frame');
    client.write(frame.subarray(0, 9));
    // The proxy has seen the first part: the client -> upstream direction is inside a frame.
    await expect.poll(() => [...rig.proxy!.app.rt.websockets.all()][0]?.toUpstream.atBoundary).toBe(false);

    const stopping = rig.proxy.app.stop(5_000);
    client.write(frame.subarray(9));
    expect(await upstreamClose).toBe(1001);
    expect(messages).toEqual(['hello, whole frame']);
    await stopping;
    // The client got a well-formed close frame with 1001 (unmasked, from the server side).
    const rest = await client.readToEnd();
    expect(rest[0]).toBe(0x88);
    expect(rest.readUInt16BE(2)).toBe(1001);
  });
});

/** A client-to-server text frame (masked, as RFC 6455 requires), payload under 126 bytes. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((b, i) => b ^ mask[i & 3]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('anteroom start', () => {
  const dir = tempDir('anteroom-start-').path;

  it('exits 0 on SIGTERM after finishing the request in flight', async () => {
    const held = await holdingOrigin();
    const port = await closedPort();
    const file = join(dir, 'anteroom.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: "\${PORT}" }\nadmin: { port: 0 }\nupstreams:\n  app: { url: "${rig.origin!.url}" }\n`);
    const child = spawnCli(['start', '--config', file, '--dev'], { PORT: String(port) });
    const done = completion(child);

    // Wait until it listens: its log is buffered, so ask healthz.
    for (;;) {
      const health = await rawRequest(port, 'GET /__anteroom/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n').catch(() => null);
      if (health?.status === 200) break;
      if (child.exitCode !== null) throw new Error(`anteroom exited early: ${(await done).stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }

    const client = await RawClient.connect(port);
    client.write(GET);
    await held.arrived;
    child.kill('SIGTERM');
    await expect.poll(() => connectionRefused(port)).toBe('ECONNREFUSED');
    held.release('made it');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('made it');

    const result = await done;
    expect(result.code).toBe(0);
    const messages = result.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(['anteroom listening', 'signal received', 'shutting down', 'anteroom stopped']));
  });
});

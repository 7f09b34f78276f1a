/**
 * Websocket upgrades in the room, through real sockets: an upgrade that waits is held, goes through
 * untouched when the slot frees, and then, like an upgrade let in at once, holds no upstream slot for
 * the life of the socket; one that is not let in within `room.hold.websocketMs` is closed with 1013
 * and its ticket travels in a Set-Cookie on the handshake, and a reconnect with that cookie keeps its
 * place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { blockingOrigin, get, harness, occupy, ticketSeq, until, type Harness } from './proxyHelpers.js';

let h: Harness | undefined;
let wss: WebSocketServer | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) {
    s.on('error', () => undefined);
    s.terminate();
  }
  if (wss) {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss!.close(() => resolve()));
  }
  await h?.stop();
  h = undefined;
  wss = undefined;
});

async function setup(room: Record<string, unknown>): Promise<{ h: Harness; upgrades: string[] }> {
  const origin = await blockingOrigin();
  const upgrades: string[] = [];
  wss = new WebSocketServer({ server: origin.origin.server });
  wss.on('connection', (socket, req) => {
    upgrades.push(req.url ?? '');
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  h = await harness(origin, { identity: { client: [{ header: 'x-client-id' }] }, room: { concurrency: 1, ...room } });
  return { h, upgrades };
}

interface Outcome {
  ws: WebSocket;
  opened: Promise<boolean>;
  closed: Promise<{ code: number; reason: string }>;
  setCookies: Promise<string[]>;
}

function connect(port: number, path: string, headers: Record<string, string>): Outcome {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
  sockets.push(ws);
  ws.on('error', () => undefined);
  return {
    ws,
    opened: new Promise((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    }),
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    setCookies: new Promise((resolve) => ws.once('upgrade', (res) => resolve(res.headers['set-cookie'] ?? []))),
  };
}

describe('a websocket upgrade in the room', () => {
  it('is held, goes through when the slot frees, and then holds no upstream slot while it is open', async () => {
    const { h, upgrades } = await setup({ hold: { websocketMs: 30_000 } });
    await occupy(h);
    const ws = connect(h.proxy.port, '/live', { 'x-client-id': 'ws' });
    await until(() => h.room.waiting === 1, 'the upgrade waiting');
    expect(upgrades).toEqual([]);
    h.origin.release('/block');
    expect(await ws.opened).toBe(true);
    expect(upgrades).toEqual(['/live']);
    ws.ws.send('hello');
    const echo = await new Promise<string>((resolve) => ws.ws.once('message', (d) => resolve(String(d))));
    expect(echo).toBe('hello');
    // The socket stays open; the upstream's one slot is free again for plain requests.
    await until(() => h.gate.inFlight('app') === 0, 'no slot held by the open websocket', 2_000);
    const r = await get(h.proxy.port, '/api/after', { 'x-client-id': 'api' });
    expect(r.status).toBe(200);
    expect(h.room.waiting).toBe(0);
  });

  it('is closed with 1013 when its hold runs out; the ticket comes as a cookie on the handshake and keeps the place', async () => {
    const { h, upgrades } = await setup({ hold: { websocketMs: 100 } });
    await occupy(h);
    const first = connect(h.proxy.port, '/live', { 'x-client-id': 'ws' });
    const closed = await first.closed;
    expect(closed.code).toBe(1013);
    const cookie = (await first.setCookies).find((c) => c.startsWith('anteroom_ticket='));
    expect(cookie).toBeDefined();
    const ticket = cookie!.slice('anteroom_ticket='.length, cookie!.indexOf(';'));
    // Someone else queues behind it.
    const other = connect(h.proxy.port, '/live', { 'x-client-id': 'other' });
    await until(() => h.room.waiting === 2, 'the other upgrade waiting');
    const again = connect(h.proxy.port, '/live', { 'x-client-id': 'ws', cookie: `anteroom_ticket=${ticket}` });
    await until(() => h.room.waiting === 2, 'the reconnect found its place');
    const renewed = (await again.setCookies).find((c) => c.startsWith('anteroom_ticket='));
    expect(ticketSeq(renewed!.slice('anteroom_ticket='.length, renewed!.indexOf(';')))).toBe(ticketSeq(ticket));
    await other.closed;
    expect(upgrades).toEqual([]);
  });
});

/**
 * What a websocket test through the proxy holds, taken down after each test in the one order that
 * does not hang: the clients first (terminated, so that none reconnects or waits for a close
 * handshake), then the proxy, then the origin's websocket server (whose server-side sockets must be
 * terminated, or its close waits for them) and last the origin.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach } from 'vitest';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { startOrigin, type Origin, type Proxy } from './servers.js';

export interface WebsocketRig {
  origin: Origin | undefined;
  wss: WebSocketServer | undefined;
  proxy: Proxy | undefined;
  /** A `ws` client, terminated after the test. */
  client(url: string, options?: ClientOptions): WebSocket;
  /**
   * Starts the origin: plain HTTP answered with `body`, websockets (at `path`, or at any path)
   * echoing every message as it came, text or binary. `upgrades` lists the upgrades it accepted.
   */
  echoOrigin(options?: { path?: string; body?: string }): Promise<{ origin: Origin; upgrades: IncomingMessage[] }>;
}

/** Registers the after-each teardown of the file's rig and returns the rig. */
export function websocketRig(): WebsocketRig {
  const clients: WebSocket[] = [];
  const rig: WebsocketRig = {
    origin: undefined,
    wss: undefined,
    proxy: undefined,
    client(url, options) {
      const ws = new WebSocket(url, options);
      clients.push(ws);
      return ws;
    },
    async echoOrigin({ path, body = 'plain http' } = {}) {
      const origin = await startOrigin((_req, res) => res.end(body));
      rig.origin = origin;
      const upgrades: IncomingMessage[] = [];
      const wss = new WebSocketServer(path === undefined ? { server: origin.server } : { server: origin.server, path });
      rig.wss = wss;
      wss.on('connection', (socket, req) => {
        upgrades.push(req);
        socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
      });
      return { origin, upgrades };
    },
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      c.on('error', () => undefined);
      c.terminate();
    }
    await rig.proxy?.stop();
    const wss = rig.wss;
    if (wss) {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    await rig.origin?.close();
    rig.proxy = rig.origin = rig.wss = undefined;
  });
  return rig;
}

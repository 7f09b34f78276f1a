/**
 * Real servers for tests, all on 127.0.0.1 port 0: an HTTP origin, a raw TCP origin for byte-exact
 * responses, and an Anteroom built from a config object validated like a config file.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Anteroom } from '../../src/app.js';
import { formatConfigError, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { listen } from './listen.js';
import { silentLogger } from './log.js';
import { mergePatch, type Patch } from './mergePatch.js';
import { listenTcp } from './tcpListener.js';

export { listen } from './listen.js';

export interface Origin {
  server: Server;
  port: number;
  url: string;
  /** Requests the origin has received, in order. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

export async function startOrigin(handler: RequestListener): Promise<Origin> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const port = await listen(server);
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => closeServer(server),
  };
}

export interface RawOrigin {
  server: TcpServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A TCP origin that hands each request's head (up to the blank line) and socket to `onRequest`. */
export async function startRawOrigin(onRequest: (head: string, socket: Socket) => void): Promise<RawOrigin> {
  const { server, port, url, close } = await listenTcp((socket) => {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        onRequest(head, socket);
      }
    });
  });
  return { server, port, url, close };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Proxy {
  app: Anteroom;
  port: number;
  url: string;
  config: Readonly<Config>;
  stop(graceMs?: number): Promise<void>;
}

/** The config a test proxy runs with: the given upstream, an ephemeral port, and `patch` merged in. */
export function proxyConfig(upstreamUrl: string, patch: Patch = {}): Readonly<Config> {
  const base: Patch = {
    listen: { host: '127.0.0.1', port: 0 },
    // Test files run in parallel: every admin listener on a free port of its own.
    admin: { host: '127.0.0.1', port: 0 },
    upstreams: { app: { url: upstreamUrl } },
    log: { level: 'silent', requests: false },
  };
  const result = validateConfig(mergePatch(base, patch));
  if (!result.ok) throw new Error(`invalid test config: ${result.errors.map(formatConfigError).join('; ')}`);
  return result.config;
}

export async function startProxy(upstreamUrl: string, patch: Patch = {}, logger: Logger = silentLogger()): Promise<Proxy> {
  const config = proxyConfig(upstreamUrl, patch);
  const app = new Anteroom(config, { logger });
  const address = await app.start();
  return {
    app,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    config,
    stop: (graceMs = 0) => app.stop(graceMs),
  };
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

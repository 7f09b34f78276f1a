/**
 * A plain TCP server on 127.0.0.1 port 0 that keeps its open sockets, so that closing it destroys
 * them first: net.Server#close only stops accepting, and would wait for every client (the proxy's
 * pooled upstream connections among them) to hang up.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { listen } from './listen.js';

export interface TcpListener {
  server: Server;
  port: number;
  url: string;
  /** Connections open now. */
  readonly connections: number;
  /** Destroys the open connections, then closes the server. */
  close(): Promise<void>;
}

/** Hands each accepted socket (its errors already swallowed) to `onSocket`. */
export async function listenTcp(onSocket: (socket: Socket) => void = () => undefined): Promise<TcpListener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  const port = await listen(server);
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return sockets.size;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

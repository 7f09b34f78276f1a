/** How every server of the bench runs in its child process: listen, say where, stop on a signal. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on 127.0.0.1:`port` (0 for any), prints `LISTENING <port>` for the parent, and exits 0 on
 * SIGTERM or SIGINT after closing the server, its connections and whatever `cleanup` closes.
 */
export function serveUntilSignalled(server: Server, port: number, cleanup: () => void = () => {}): void {
  // Longer than any bench run: connections from the load generator or the proxies are never idled out
  // between requests.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      server.close();
      server.closeAllConnections();
      cleanup();
      process.exit(0);
    });
  }
}

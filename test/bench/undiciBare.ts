/**
 * The floor of the comparison: the least a forwarder on undici's dispatch API can do. It copies the
 * client's headers as they are (no hop-by-hop hygiene, no X-Forwarded-*, no request id, no log, no
 * admission control) through one undici Pool. anteroom does all of that on top of the same dispatch,
 * so the gap between the two is what anteroom's own work costs.
 * Usage: node undiciBare.js <origin url> [port]. Prints `LISTENING <port>` on stdout.
 */
import { createServer, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { serveUntilSignalled } from './serve.js';

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('usage: undiciBare.js <origin url> [port]\n');
  process.exit(2);
}

// Same ceiling as anteroom's default pool (upstreams.*.connections: 256).
const pool = new Pool(target, { connections: 256, pipelining: 1 });

class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    const out: string[] = [];
    for (const name in headers) {
      const v = headers[name];
      if (v === undefined || name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
      if (Array.isArray(v)) for (const item of v) out.push(name, item);
      else out.push(name, v);
    }
    this.res.writeHead(status, out);
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.res.write(chunk);
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(_c: Dispatcher.DispatchController, _err: Error): void {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: hasBody ? req : null }, new Relay(res));
});
serveUntilSignalled(server, Number(process.argv[3] ?? 0), () => void pool.destroy());

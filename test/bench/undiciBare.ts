/**
 * The floor of the comparison: the least a forwarder on undici's dispatch API can do. It copies the
 * client's headers as they are (no hop-by-hop hygiene, no X-Forwarded-*, no request id, no log, no
 * admission control) through one undici Pool. anteroom does all of that on top of the same dispatch,
 * so the gap between the two is what anteroom's own work costs.
 * Usage: node undiciBare.js <origin url> [port]. Prints `LISTENING <port>` on stdout.
 */
import { createServer, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { latin1 } from '../../src/proxy/headers.js';
import { serveUntilSignalled } from './serve.js';

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('usage: undiciBare.js <origin url> [port]\n');
  process.exit(2);
}

// Same ceiling as anteroom's default pool (upstreams.*.connections: 256).
const pool = new Pool(target, { connections: 256, pipelining: 1 });

/** On undici's raw handler callbacks, as anteroom's forwarder: no headers object or controller per response. */
class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], _resume: () => void, _text: string): boolean {
    if (status < 200) return true;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = latin1(raw[i]!);
      // The three that would break the client's framing if copied; nothing else is looked at.
      const lower = name.length === 10 || name.length === 17 ? name.toLowerCase() : '';
      if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue;
      out.push(name, latin1(raw[i + 1]!));
    }
    this.res.writeHead(status, out);
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.res.write(chunk);
    return true;
  }
  onComplete(): void {
    this.res.end();
  }
  onError(_err: Error): void {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: hasBody ? req : null }, new Relay(res));
});
serveUntilSignalled(server, Number(process.argv[3] ?? 0), () => void pool.destroy());

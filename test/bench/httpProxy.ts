/**
 * The comparison forwarder: the plainest useful reverse proxy on http-proxy-3, with a keep-alive agent
 * to the origin and X-Forwarded-* on (anteroom sets them too). No logging, no admission control.
 * Usage: node httpProxy.js <origin url> [port]. Prints `LISTENING <port>` on stdout.
 */
import { Agent, createServer } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { serveUntilSignalled } from './serve.js';

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('usage: httpProxy.js <origin url> [port]\n');
  process.exit(2);
}

// Same ceiling as anteroom's default pool (upstreams.*.connections: 256).
const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 1_000 });
const proxy = createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else {
    res.destroy();
  }
});

const server = createServer((req, res) => {
  proxy.web(req, res);
});
serveUntilSignalled(server, Number(process.argv[3] ?? 0), () => agent.destroy());

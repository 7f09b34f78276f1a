/**
 * The bench origin: a plain node:http server with a small fixed response and long keep-alive, so that
 * what is measured is the proxy in front of it, not the application. Run as its own process; prints
 * `LISTENING <port>` on stdout once bound to 127.0.0.1.
 */
import { createServer } from 'node:http';
import { serveUntilSignalled } from './serve.js';

const BODY = Buffer.from('hello from the bench origin\n');
// A flat array: Node writes it without building a headers object per response.
const HEADERS = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(BODY.length)];

const server = createServer((req, res) => {
  // Drain any request body so the connection stays usable for the next request.
  req.resume();
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
serveUntilSignalled(server, Number(process.argv[2] ?? 0));

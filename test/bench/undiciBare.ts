/**
 * The floor of the comparison: the least a forwarder on undici's dispatch API can do. It copies the
 * client's headers as they are (no hop-by-hop hygiene, no X-Forwarded-*, no request id, no log, no
 * admission control) through one undici Pool. anteroom does all of that on top of the same dispatch,
 * so the gap between the two is what anteroom's own work costs.
 *
 * With `--required`, it does on top of that only what the proxy core must do for every forwarded
 * request, with the helpers anteroom uses for it: hop-by-hop headers dropped both ways,
 * X-Forwarded-For/-Proto/-Host and X-Request-Id set upstream, X-Request-Id on the response, one JSON
 * log line per request (id, method, path, status, upstream latency, decision) through anteroom's
 * batching sink, a client that goes away aborting the upstream request, and backpressure. No limits,
 * room, routes, metrics or controller: the floor for any forwarder on undici that does what anteroom must.
 *
 * Usage: node undiciBare.js <origin url> [port] [--required] [--log=FILE]. Prints `LISTENING <port>`
 * on stdout; with --required the log lines go to FILE, by default /dev/null as anteroom's do in the bench.
 */
import { openSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import { LineSink } from '../../src/lineSink.js';
import { isoTime } from '../../src/log.js';
import { ms, str } from '../../src/pipeline/requestLine.js';
import { appendClientResponseHeaders, latin1, upstreamRequestHeaders } from '../../src/proxy/headers.js';
import { serveUntilSignalled } from './serve.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const required = process.argv.includes('--required');
const logFile = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length) ?? '/dev/null';
const target = args[0];
if (target === undefined) {
  process.stderr.write('usage: undiciBare.js <origin url> [port] [--required] [--log=FILE]\n');
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

const sink = required ? new LineSink({ fd: openSync(logFile, 'w') }) : null;
const instance = Math.random().toString(36).slice(2, 10);
let seq = 0;

/** The Relay plus what every forwarded request requires (see the top of this file). */
class RequiredRelay implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  upstreamMs = -1;
  status = 0;
  done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly id: string,
    private readonly startedAt: number,
  ) {}
  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
  }
  onHeaders(status: number, raw: Buffer[], resume: () => void, _text: string): boolean {
    if (status < 200) return true;
    this.upstreamMs = performance.now() - this.startedAt;
    this.status = status;
    this.resume = resume;
    const out: string[] = [];
    appendClientResponseHeaders(raw, this.id, out);
    this.res.writeHead(status, out);
    return !this.res.writableNeedDrain || this.pause();
  }
  onData(chunk: Buffer): boolean {
    return this.res.write(chunk) || this.pause();
  }
  onComplete(): void {
    this.done = true;
    this.res.end();
  }
  onError(_err: Error): void {
    this.done = true;
    this.status = 502;
    if (!this.res.headersSent) this.res.writeHead(502, ['x-request-id', this.id]);
    this.res.end();
  }
  clientClosed(): void {
    if (!this.done && this.abortUpstream !== null) this.abortUpstream(new Error('client closed the connection'));
  }
  private pause(): boolean {
    this.res.once('drain', () => this.resume!());
    return false;
  }
}

function forwardRequired(req: IncomingMessage, res: ServerResponse, hasBody: boolean): void {
  const startedAt = performance.now();
  const id = `${instance}-${(++seq).toString(36)}`;
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    requestId: id,
    forwardedFor: req.socket.remoteAddress ?? '',
    proto: 'http',
    host: req.headers.host ?? '',
  });
  const relay = new RequiredRelay(res, id, startedAt);
  res.on('close', () => {
    relay.clientClosed();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let line = `{"level":30${isoTime()},"reqId":"${id}","method":"${req.method ?? ''}","path":${str(q === -1 ? url : url.slice(0, q))},"status":${relay.status},"decision":"forward"`;
    if (relay.upstreamMs >= 0) line += `,"upstreamMs":${ms(relay.upstreamMs)}`;
    sink!.write(`${line},"durationMs":${ms(performance.now() - startedAt)},"msg":"request"}\n`);
  });
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null }, relay);
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (required) {
    forwardRequired(req, res, hasBody);
    return;
  }
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: hasBody ? req : null }, new Relay(res));
});
serveUntilSignalled(server, Number(args[1] ?? 0), () => {
  sink?.flushSync();
  void pool.destroy();
});

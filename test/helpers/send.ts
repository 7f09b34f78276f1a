/**
 * One HTTP request on its own connection (no keep-alive agent), read to the end: the proxy sees each
 * request as it would from a separate client, so per-connection state never links two of a test's
 * clients.
 */
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** ms from sending the request to the end of the response body, as the client saw it. */
  ms: number;
  json(): Record<string, unknown>;
  /** The value of the cookie `name` this reply sets, or undefined. */
  cookie(name: string): { value: string; attributes: string } | undefined;
}

export interface Sent {
  req: ClientRequest;
  reply: Promise<Reply>;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
}

/** Sends the request; `reply` rejects on a socket error (a lost request). */
export function send(port: number, path: string, options: SendOptions = {}): Sent {
  const started = performance.now();
  let req!: ClientRequest;
  const reply = new Promise<Reply>((resolve, reject) => {
    req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(toReply(res, Buffer.concat(parts).toString(), performance.now() - started)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
  return { req, reply };
}

function toReply(res: IncomingMessage, body: string, ms: number): Reply {
  const setCookies = res.headers['set-cookie'] ?? [];
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body,
    ms,
    json: () => JSON.parse(body) as Record<string, unknown>,
    cookie(name) {
      for (const line of setCookies) {
        const eq = line.indexOf('=');
        if (line.slice(0, eq) !== name) continue;
        const semi = line.indexOf(';');
        return { value: line.slice(eq + 1, semi === -1 ? undefined : semi), attributes: semi === -1 ? '' : line.slice(semi + 1) };
      }
      return undefined;
    },
  };
}

/**
 * Tools for the room's proxy-level tests: one request per connection (each client its own socket, so
 * the proxy sees what it would see from separate clients), an origin that counts its in-flight requests
 * and can hold some until the test lets them go, tickets and cookies taken apart, and polling for a
 * state of the room instead of sleeping.
 */
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { TokenSigner } from '../../src/room/signedToken.js';
import { capturingLogger, startOrigin, startProxy, type CapturedLog, type Origin, type Proxy } from '../helpers/index.js';

/** The secret the test proxies sign with, so a test can sign (expired) tickets of its own. */
export const SECRET = 'room-proxy-test-secret-0123456789abcdef';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
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

/** One request on its own connection; `reply` rejects on a socket error (a lost request). */
export function send(port: number, path: string, options: SendOptions = {}): Sent {
  let req!: ClientRequest;
  const reply = new Promise<Reply>((resolve, reject) => {
    req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(toReply(res, Buffer.concat(parts).toString())));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
  return { req, reply };
}

export function get(port: number, path: string, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
  return send(port, path, { headers }).reply;
}

/** A top-level browser navigation. */
export function navigate(port: number, path: string, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
  return get(port, path, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...headers });
}

/** A status poll as the waiting page sends it. */
export async function statusOf(port: number, ticket: string, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
  return get(port, `/__anteroom/status?ticket=${encodeURIComponent(ticket)}`, { accept: 'application/json', ...headers });
}

function toReply(res: IncomingMessage, body: string): Reply {
  const setCookies = res.headers['set-cookie'] ?? [];
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body,
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

/** The fields of a ticket or session token (the payload half, not verified). */
export function tokenFields(token: string): unknown[] {
  return JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as unknown[];
}

/** A ticket's place: its seq (fields: v, tenant, class, seq, issuedAt, expiresAt, clientHash). */
export function ticketSeq(ticket: string): number {
  return tokenFields(ticket)[3] as number;
}

/** Signs `fields` as the proxy would, with `secret` and the token's purpose. */
export function sign(purpose: 'anteroom-ticket' | 'anteroom-session', fields: unknown[], secret = SECRET): string {
  return new TokenSigner([secret], purpose).sign(fields);
}

/** Polls `check` (every event-loop turn for the first ms, then every ms) until it holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let spins = 0;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await (spins++ < 50 ? new Promise<void>((r) => setImmediate(r)) : sleep(1));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Fails if `p` has not settled within `ms`: a request that never gets an answer is a lost request. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

export interface Arrival {
  path: string;
  /** The `x-index` header: the client's number in the test. */
  index: number;
  tenant: string;
  headers: IncomingHttpHeaders;
}

export interface CountingOrigin {
  origin: Origin;
  url: string;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Requests in arrival order. */
  readonly arrived: Arrival[];
  /** Requests held now, waiting for release(). */
  readonly held: number;
  /** Answers the oldest held request, or the first held one for `path`. */
  release(path?: string): void;
  releaseAll(): void;
  close(): Promise<void>;
}

export interface OriginOptions {
  /** Requests to hold until the test releases them; default none. */
  hold?: (req: IncomingMessage) => boolean;
  /** Delay before answering the others; default at once. */
  delayMs?: number;
  /** The body for a request (default `ok <path>`, text/plain). */
  answer?: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * An origin that counts its own in-flight requests, from arrival until it answers or the connection
 * goes away, and records the order in which requests arrive.
 */
export async function countingOrigin(options: OriginOptions = {}): Promise<CountingOrigin> {
  let inFlight = 0;
  let maxInFlight = 0;
  const arrived: Arrival[] = [];
  const held: { path: string; res: ServerResponse; answer: () => void }[] = [];
  const origin = await startOrigin((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const path = req.url ?? '';
    arrived.push({ path, index: Number(req.headers['x-index'] ?? -1), tenant: String(req.headers['x-tenant-id'] ?? ''), headers: req.headers });
    let counted = true;
    const done = (): void => {
      if (counted) {
        counted = false;
        inFlight--;
      }
    };
    res.once('close', done);
    const answer = (): void => {
      done();
      if (res.destroyed) return;
      if (options.answer) options.answer(req, res);
      else {
        res.setHeader('content-type', 'text/plain');
        res.end(`ok ${path}`);
      }
    };
    req.resume();
    if (options.hold?.(req)) held.push({ path, res, answer });
    else if (options.delayMs !== undefined) setTimeout(answer, options.delayMs);
    else answer();
  });
  return {
    origin,
    url: origin.url,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    arrived,
    get held() {
      return held.filter((h) => !h.res.destroyed).length;
    },
    release(path?: string) {
      const i = path === undefined ? 0 : held.findIndex((h) => h.path === path);
      if (i < 0 || held.length === 0) throw new Error(`no held request${path ? ` for ${path}` : ''}`);
      held.splice(i, 1)[0]!.answer();
    },
    releaseAll() {
      for (const h of held.splice(0)) h.answer();
    },
    close: () => origin.close(),
  };
}

/** Holds `/block` (and whatever `hold` adds); answers the rest at once. */
export function blockingOrigin(extra?: (req: IncomingMessage) => boolean, options: Omit<OriginOptions, 'hold'> = {}): Promise<CountingOrigin> {
  return countingOrigin({ ...options, hold: (req) => req.url === '/block' || (extra?.(req) ?? false) });
}

export interface Harness {
  origin: CountingOrigin;
  proxy: Proxy;
  log: CapturedLog;
  /** The room of the running proxy (to read its queue, never to drive it). */
  room: Proxy['app']['rt']['room'];
  gate: Proxy['app']['rt']['limits']['gate'];
  stop(): Promise<void>;
}

/** A proxy (signing with SECRET, logging into `log`) in front of `origin`. */
export async function harness(origin: CountingOrigin, patch: Record<string, unknown>, logger?: Logger): Promise<Harness> {
  const log = capturingLogger('info');
  const proxy = await startProxy(origin.url, { secret: SECRET, ...patch }, logger ?? log.logger);
  return {
    origin,
    proxy,
    log,
    room: proxy.app.rt.room,
    gate: proxy.app.rt.limits.gate,
    async stop() {
      origin.releaseAll();
      await proxy.stop();
      await origin.close();
    },
  };
}

/** Sends `/block` and waits until the origin holds it: the upstream is now at a limit of 1. */
export async function occupy(h: Harness): Promise<Sent> {
  const before = h.origin.held;
  const blocker = send(h.proxy.port, '/block', { headers: { 'x-client-id': 'blocker' } });
  blocker.reply.catch(() => undefined);
  await until(() => h.origin.held === before + 1, 'the blocking request at the origin');
  return blocker;
}

/**
 * Tools for the room's proxy-level tests: one request per connection (each client its own socket, so
 * the proxy sees what it would see from separate clients), an origin that counts its in-flight requests
 * and can hold some until the test lets them go, tickets and cookies taken apart, and polling for a
 * state of the room instead of sleeping.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { TokenSigner } from '../../src/room/signedToken.js';
import { countingOrigin, type CountingOrigin, type OriginOptions } from '../helpers/countingOrigin.js';
import { capturingLogger, startProxy, type CapturedLog, type Proxy } from '../helpers/index.js';
import { send, type Reply, type Sent } from '../helpers/send.js';
import { until } from '../helpers/until.js';

export { countingOrigin, type Arrival, type CountingOrigin, type OriginOptions } from '../helpers/countingOrigin.js';
export { send, type Reply, type Sent, type SendOptions } from '../helpers/send.js';
export { sleep, until } from '../helpers/until.js';

/** The secret the test proxies sign with, so a test can sign (expired) tickets of its own. */
export const SECRET = 'room-proxy-test-secret-0123456789abcdef';

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

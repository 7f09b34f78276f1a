/**
 * Small tools for the pipeline tests: one HTTP request on its own connection (so the proxy sees each
 * request as it would from a separate client), an origin that counts what it has in flight and can
 * hold requests until the test lets them go, and polling for a condition.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startOrigin, type Origin } from '../helpers/index.js';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** ms from sending the request to the end of the response body, as the client saw it. */
  ms: number;
  json(): Record<string, unknown>;
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
}

/** One request on a fresh connection (no keep-alive agent), read to the end. */
export function get(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          ms: performance.now() - started,
          json: () => JSON.parse(body) as Record<string, unknown>,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `n` requests one after another; returns the replies in order. */
export async function sequential(n: number, send: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await send(i));
  return out;
}

export function statuses(replies: readonly Reply[]): number[] {
  return replies.map((r) => r.status);
}

export function count(replies: readonly Reply[], status: number): number {
  return replies.filter((r) => r.status === status).length;
}

/** Polls `check` every few ms until it holds; fails with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An origin that answers 200 at once and remembers each request's path and headers. */
export async function quickOrigin(): Promise<Origin> {
  return startOrigin((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end('ok');
  });
}

export interface CountingOrigin {
  origin: Origin;
  /** Requests the origin is handling now: received and not yet answered (or aborted). */
  readonly inFlight: number;
  /** The most ever in flight at once. */
  readonly maxInFlight: number;
  /** Request paths in arrival order. */
  readonly arrived: string[];
  /** Requests held, waiting for release(). */
  readonly held: number;
  /** Answers the oldest held request (or the first held for `path`). */
  release(path?: string): void;
  releaseAll(): void;
  close(): Promise<void>;
}

/**
 * An origin that counts its own in-flight requests. A request counts from its arrival until the origin
 * calls res.end() or the connection goes away. Requests for which `hold` says so (all, when neither
 * option is given) wait until the test releases them; the others are answered after `delayMs` (or at once).
 */
export async function countingOrigin(options: { delayMs?: number; hold?: (req: IncomingMessage) => boolean } = {}): Promise<CountingOrigin> {
  let inFlight = 0;
  let maxInFlight = 0;
  const arrived: string[] = [];
  const held: { path: string; res: ServerResponse; answer: () => void }[] = [];
  const origin = await startOrigin((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    arrived.push(req.url ?? '');
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
      if (!res.destroyed) res.end(`ok ${req.url}`);
    };
    const hold = options.hold ? options.hold(req) : options.delayMs === undefined;
    if (hold) held.push({ path: req.url ?? '', res, answer });
    else if (options.delayMs !== undefined) setTimeout(answer, options.delayMs);
    else answer();
  });
  return {
    origin,
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

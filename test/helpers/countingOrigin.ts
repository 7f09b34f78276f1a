/**
 * An origin that counts its own in-flight requests and can hold some until the test lets them go:
 * what a concurrency cap or the waiting room let through is read at the origin itself, not inferred
 * from the replies.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { startOrigin, type Origin } from './servers.js';

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
  /** Their paths, in the same order. */
  readonly paths: string[];
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
    get paths() {
      return arrived.map((a) => a.path);
    },
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

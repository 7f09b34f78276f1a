/**
 * One typed context per request (or websocket upgrade), created at accept and handed to every phase.
 * Phases keep their per-request state here and never on `req`. The class has a fixed shape so that
 * V8 keeps one hidden class for every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { Claim, Waiter } from '../limits/concurrencyGate.js';
import type { RouteLimits } from '../limits/limitPlan.js';
import type { Upstream } from '../proxy/upstream.js';

/** What the proxy decided for the request; logged with every request. */
export type Decision =
  | 'pending'
  | 'forward' // admitted and sent upstream
  | 'bypass' // sent upstream without admission control (a bypass route)
  | 'own' // answered by one of anteroom's own endpoints
  | 'queue' // waiting in the room (waiting page, or 503 with a ticket after a hold)
  | 'refuse'; // answered by anteroom with an error (see `refusal`)

export type RequestClass = 'critical' | 'normal' | 'bulk';

export class RequestContext {
  /** Unique across instances: `<instance id>-<counter>`, or a well-formed incoming X-Request-Id. */
  id = '';
  readonly req: IncomingMessage;
  /** The response for plain HTTP; null for a websocket upgrade. */
  readonly res: ServerResponse | null;
  /** The client socket of a websocket upgrade; null for plain HTTP. */
  readonly socket: Duplex | null;
  /** Bytes that arrived after the upgrade request's headers. */
  readonly head: Buffer | null;
  readonly rt: Runtime;
  /** performance.now() at accept. */
  readonly startedAt: number;

  /** Request path and query as received (origin form). */
  url = '/';
  /** Path without the query string. */
  path = '/';
  /** Host the client asked for, without port. */
  host = '';
  /** The client's address: the socket peer, or the X-Forwarded-For entry left of the trusted proxies. */
  clientIp = '';
  /** A top-level browser navigation (GET/HEAD accepting text/html): refusals are rendered as HTML. */
  browser = false;

  tenant = '';
  clientKey = '';
  requestClass: RequestClass = 'normal';
  /** Tokens this request costs in the rate-limit buckets. */
  cost = 1;
  upstream: Upstream | null = null;
  /** Name of the route rule that matched (`default` for the fallback). */
  routeName = 'default';
  /** A bypass route goes straight to forward: no rate limits, never queued. */
  bypass = false;
  /** A long-poll route: its responses wait for events, so their latency says nothing of the upstream's health. */
  longPoll = false;
  /** Per-route bucket override, when the route has one. */
  routeLimits: RouteLimits | null = null;
  /** Per-route concurrency cap, Infinity when none. */
  routeConcurrency = Infinity;
  /** `RateLimit-Policy` and `RateLimit` to add to an admitted response (when configured). */
  rateLimitHeaders: [string, string] | null = null;
  /** Concurrency slots held, released when the exchange is over. */
  slot: Claim | null = null;
  /** Waiting for a concurrency slot; cancelled if the client goes away. */
  waiter: Waiter | null = null;
  /** A `GET /__anteroom/status` poll, answered by admit once the caller is identified. */
  statusPoll = false;
  /** The room place this request is held on; it leaves the queue if the client goes away while held. */
  roomHeld: string | null = null;
  /** Set-Cookie values to add to the response (admission session, ticket). */
  setCookies: string[] | null = null;

  decision: Decision = 'pending';
  refusal: ErrorCode | null = null;
  /** Human-readable reason behind a refusal, logged and sent to the client. */
  refusalDetail = '';
  /** The config entry that caused a refusal, e.g. `limits.tenants.acme.rate`. */
  refusalSource = '';

  /** Status sent to the client (101 for an accepted upgrade). */
  status = 0;
  /** performance.now() when the request was sent upstream; 0 if it never was. */
  upstreamStartedAt = 0;
  /** Time to the upstream's response headers, in ms; -1 if there was none. */
  upstreamMs = -1;
  /** Requests in flight at the upstream (from this instance) when this one was sent, for the adaptive limiter. */
  inflightAtSend = 0;
  /** The upstream answered with a stream of events (text/event-stream): its timing is the client's, not the upstream's. */
  eventStream = false;
  /** Set when the client went away before its response was complete. */
  clientAborted = false;
  /** Set once the client's connection (response or upgrade socket) has closed; observe has run. */
  socketClosed = false;
  /** The socket peer's address as Node reports it (IPv4-mapped IPv6 included), '' when unknown. */
  peer = '';
  /** Whether the socket peer is one of the trusted proxies. */
  peerTrusted = false;
  /** The X-Forwarded-For chain sent upstream. */
  forwardedFor = '';
  /** Failure of the upstream exchange, for the log line. */
  upstreamError: string | null = null;
  /** The HTTP exchange under way with the upstream, told when the client's connection closes. */
  exchange: { clientClosed(): void } | null = null;

  constructor(rt: Runtime, req: IncomingMessage, res: ServerResponse | null, socket: Duplex | null, head: Buffer | null, now: number) {
    this.rt = rt;
    this.req = req;
    this.res = res;
    this.socket = socket;
    this.head = head;
    this.startedAt = now;
  }

  get isUpgrade(): boolean {
    return this.socket !== null;
  }
}

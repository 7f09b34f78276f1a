/**
 * What the request path records for the metrics, in plain preallocated numbers: request counts in one
 * array indexed by decision, class and status, fixed-bucket histograms, websocket counters and the
 * per-tenant counts. The request path (observe) makes one `record` call per exchange; nothing here
 * hashes label sets or allocates per request (a Map lookup of the tenant and of the upstream name is
 * all). Metrics (metrics.ts) turns these numbers into Prometheus metrics when scraped.
 */
import type { ErrorCode } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { WaiterKind } from '../room/waiter.js';
import { BucketCounts, LATENCY_BOUNDS, WAIT_BOUNDS } from './bucketCounts.js';
import { TopTenants } from './topTenants.js';

/** Label values of `decision`, in index order (ctx.decision; `pending`: the client left before one). */
export const DECISIONS = ['forward', 'bypass', 'own', 'queue', 'refuse', 'pending'] as const;

/** Label values of `class`, in index order. */
export const CLASSES = ['critical', 'normal', 'bulk'] as const;

/**
 * The `status` label: the exact code for the ones anteroom answers with itself and the most common
 * upstream ones, the class (`2xx` ... `5xx`) for any other, `none` when no response was sent (the
 * client went away first). Exact codes answer the usual questions (how many 429s, 503s, 502s) without
 * letting an upstream that invents codes multiply the series; `status=~"5.."` matches both forms.
 */
const EXACT_STATUSES = [101, 200, 201, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 409, 413, 422, 429, 431, 500, 502, 503, 504];
export const STATUSES: readonly string[] = [...EXACT_STATUSES.map(String), '1xx', '2xx', '3xx', '4xx', '5xx', 'none'];
const NONE = STATUSES.length - 1;
/** Status code -> index in STATUSES, for every code 0..599. */
const STATUS_INDEX = new Uint8Array(600).fill(NONE);
for (let code = 100; code < 600; code++) STATUS_INDEX[code] = EXACT_STATUSES.length + Math.floor(code / 100) - 1;
EXACT_STATUSES.forEach((code, i) => (STATUS_INDEX[code] = i));

/** Why anteroom refused a websocket upgrade (the `reason` label), in index order. */
export const UPGRADE_REFUSALS = ['rate_limit', 'open_cap', 'queue_timeout', 'queue_full', 'blocked', 'shed', 'shutting_down', 'other'] as const;

/** The kinds of waiter and the outcomes of a wait, in index order. */
export const WAIT_KINDS: readonly WaiterKind[] = ['browser', 'api', 'websocket'];
export const WAIT_OUTCOMES = ['admitted', 'timeout'] as const;

export class RequestStats {
  /** Exchanges by decision, class and status: index (decision * CLASSES + class) * STATUSES + status. */
  readonly requests = new Float64Array(DECISIONS.length * CLASSES.length * STATUSES.length);
  /** Exchanges per tenant and decision, for the busiest tenants and `other`. */
  readonly tenants: TopTenants;
  /** Time to the upstream's response headers (or its 101), per upstream name. */
  readonly upstreamLatency = new Map<string, BucketCounts>();
  /** Time from taking a place in the room to admission (or to the end of a hold): index kind * 2 + outcome. */
  readonly roomWait: readonly BucketCounts[] = WAIT_KINDS.flatMap(() => WAIT_OUTCOMES.map(() => new BucketCounts(WAIT_BOUNDS)));
  /** Time waited for a concurrency slot: index outcome. */
  readonly gateWait: readonly BucketCounts[] = WAIT_OUTCOMES.map(() => new BucketCounts(WAIT_BOUNDS));
  /** Websocket upgrade requests received. */
  upgrades = 0;
  /** Upgrades let through to the upstream. */
  upgradesAdmitted = 0;
  /** Upgrades refused, by UPGRADE_REFUSALS index. */
  readonly upgradesRefused = new Float64Array(UPGRADE_REFUSALS.length);
  /** ms since the epoch; the clock of the room's places (sequence.ts). */
  private readonly now: () => number;

  constructor(opts: { tenants: number; now?: () => number }) {
    this.now = opts.now ?? Date.now;
    this.tenants = new TopTenants({ limit: opts.tenants, width: DECISIONS.length, now: this.now });
  }

  /** Records one finished exchange (observe calls this once per request or websocket). */
  record(ctx: RequestContext): void {
    const d = decisionIndex(ctx.decision);
    const status = ctx.status;
    this.requests[(d * 3 + classIndex(ctx.requestClass)) * STATUSES.length + (status < 600 ? STATUS_INDEX[status]! : NONE)]!++;
    this.tenants.count(ctx.tenant, d);
    const upstream = ctx.upstream;
    if (ctx.upstreamMs >= 0 && upstream !== null) {
      let h = this.upstreamLatency.get(upstream.name);
      if (h === undefined) this.upstreamLatency.set(upstream.name, (h = new BucketCounts(LATENCY_BOUNDS)));
      h.observeMs(ctx.upstreamMs);
    }
    // Refused by anteroom before reaching the upstream (an upstream failure is not a refusal).
    if (ctx.isUpgrade && ctx.refusal !== null && ctx.upstreamStartedAt === 0) this.upgradesRefused[upgradeRefusal(ctx.refusal, ctx.refusalSource)]!++;
  }

  /**
   * A wait in the room ended for a request of `kind`: admitted, or (a held request) its hold ran out.
   * The wait counts from when the place was taken, which the waiter id carries: its seq is the
   * arrival time in microseconds (sequence.ts), kept across retries with the ticket.
   */
  roomWaited(kind: WaiterKind, admitted: boolean, waiterId: string): void {
    const seq = Number(waiterId.slice(waiterId.lastIndexOf('|') + 1));
    if (!Number.isSafeInteger(seq)) return;
    const k = kind === 'browser' ? 0 : kind === 'api' ? 1 : 2;
    this.roomWait[k * 2 + (admitted ? 0 : 1)]!.observeMs(Math.max(0, this.now() - seq / 1000));
  }

  /** A wait for a concurrency slot ended: admitted, or timed out. */
  gateWaited(admitted: boolean, ms: number): void {
    this.gateWait[admitted ? 0 : 1]!.observeMs(ms);
  }
}

function decisionIndex(d: RequestContext['decision']): number {
  switch (d) {
    case 'forward':
      return 0;
    case 'bypass':
      return 1;
    case 'own':
      return 2;
    case 'queue':
      return 3;
    case 'refuse':
      return 4;
    default:
      return 5;
  }
}

function classIndex(c: RequestContext['requestClass']): number {
  return c === 'normal' ? 1 : c === 'critical' ? 0 : 2;
}

function upgradeRefusal(code: ErrorCode, source: string): number {
  switch (code) {
    case 'ANT_RATE_LIMITED':
      // The per-tenant cap on open websockets (rateLimit.ts) rather than a token bucket.
      return source === 'limits.websocket.perTenantOpen' ? 1 : 0;
    case 'ANT_QUEUE_TIMEOUT':
      return 2;
    case 'ANT_QUEUE_FULL':
      return 3;
    case 'ANT_BLOCKED':
    case 'ANT_MAINTENANCE':
      return 4;
    case 'ANT_SHED':
      return 5;
    case 'ANT_SHUTTING_DOWN':
      return 6;
    default:
      return 7;
  }
}

/**
 * The request path's recorder on its own: where a request lands in the counts (status folding,
 * decision and class), histogram buckets, room waits from the waiter id, and websocket refusal reasons.
 */
import { describe, expect, it } from 'vitest';
import { BucketCounts } from '../../src/admin/bucketCounts.js';
import { CLASSES, DECISIONS, RequestStats, STATUSES, UPGRADE_REFUSALS } from '../../src/admin/requestStats.js';
import { RequestContext } from '../../src/pipeline/context.js';
import type { Upstream } from '../../src/proxy/upstream.js';
import { FakeClock } from '../room/helpers.js';

/** A finished exchange as observe sees it (the context's fields only; no sockets behind it). */
function ctx(fields: Partial<Pick<RequestContext, 'decision' | 'requestClass' | 'status' | 'tenant' | 'upstreamMs' | 'refusal' | 'refusalSource'>>, upgrade = false): RequestContext {
  const c = new RequestContext(null as never, {} as never, null, upgrade ? ({} as never) : null, null, 0);
  return Object.assign(c, { decision: 'forward', tenant: 't', status: 200, ...fields });
}

/** The count for one decision, class and status label. */
function count(stats: RequestStats, decision: string, cls: string, status: string): number {
  const i = (DECISIONS.indexOf(decision as never) * CLASSES.length + CLASSES.indexOf(cls as never)) * STATUSES.length + STATUSES.indexOf(status);
  return stats.requests[i]!;
}

describe('RequestStats', () => {
  it('keeps common statuses exact and folds the rest into their class; no response is `none`', () => {
    const stats = new RequestStats({ tenants: 5 });
    for (const status of [200, 200, 429, 503, 299, 418, 599, 0, 101]) stats.record(ctx({ status }));
    expect(count(stats, 'forward', 'normal', '200')).toBe(2);
    expect(count(stats, 'forward', 'normal', '429')).toBe(1);
    expect(count(stats, 'forward', 'normal', '503')).toBe(1);
    expect(count(stats, 'forward', 'normal', '2xx')).toBe(1);
    expect(count(stats, 'forward', 'normal', '4xx')).toBe(1);
    expect(count(stats, 'forward', 'normal', '5xx')).toBe(1);
    expect(count(stats, 'forward', 'normal', 'none')).toBe(1);
    expect(count(stats, 'forward', 'normal', '101')).toBe(1);
    expect(stats.requests.reduce((a, b) => a + b, 0)).toBe(9);
  });

  it('counts by decision and class, and per tenant', () => {
    const stats = new RequestStats({ tenants: 5 });
    stats.record(ctx({ decision: 'refuse', requestClass: 'bulk', status: 429, tenant: 'acme' }));
    stats.record(ctx({ decision: 'queue', requestClass: 'critical', status: 503, tenant: 'acme' }));
    stats.record(ctx({ decision: 'pending', status: 0, tenant: 'globex' }));
    expect(count(stats, 'refuse', 'bulk', '429')).toBe(1);
    expect(count(stats, 'queue', 'critical', '503')).toBe(1);
    expect(count(stats, 'pending', 'normal', 'none')).toBe(1);
    const tenants = new Map([...stats.tenants.labels()].map(([t, c]) => [t, [...c]]));
    expect(tenants.get('acme')).toEqual([0, 0, 0, 1, 1, 0]);
    expect(tenants.get('globex')).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('times the upstream per upstream name, only for exchanges that reached it', () => {
    const stats = new RequestStats({ tenants: 5 });
    const app = { name: 'app' } as Upstream;
    stats.record(Object.assign(ctx({ upstreamMs: 12 }), { upstream: app }));
    stats.record(Object.assign(ctx({ upstreamMs: 250 }), { upstream: app }));
    stats.record(Object.assign(ctx({ upstreamMs: -1, status: 429, decision: 'refuse' }), { upstream: app }));
    const h = stats.upstreamLatency.get('app')!;
    expect(h.count).toBe(2);
    expect(h.sum).toBeCloseTo(0.262, 9);
  });

  it('names the reason of a refused upgrade; an upstream failure after forwarding is not a refusal', () => {
    const stats = new RequestStats({ tenants: 5 });
    const refused = (refusal: RequestContext['refusal'], refusalSource = '') => stats.record(ctx({ decision: 'refuse', status: 101, refusal, refusalSource }, true));
    refused('ANT_RATE_LIMITED', 'limits.websocket.perClient.rate');
    refused('ANT_RATE_LIMITED', 'limits.websocket.perTenantOpen');
    refused('ANT_QUEUE_TIMEOUT');
    refused('ANT_QUEUE_FULL');
    refused('ANT_BLOCKED');
    refused('ANT_BAD_REQUEST');
    stats.record(Object.assign(ctx({ decision: 'forward', status: 502, refusal: 'ANT_UPSTREAM_UNREACHABLE' }, true), { upstreamStartedAt: 5 }));
    // A plain HTTP refusal is not an upgrade.
    stats.record(ctx({ decision: 'refuse', status: 429, refusal: 'ANT_RATE_LIMITED' }));
    const by = Object.fromEntries(UPGRADE_REFUSALS.map((r, i) => [r, stats.upgradesRefused[i]]));
    expect(by).toEqual({ rate_limit: 1, open_cap: 1, queue_timeout: 1, queue_full: 1, blocked: 1, shed: 0, shutting_down: 0, other: 1 });
  });

  it('times a room wait from the arrival time in the waiter id', () => {
    const clock = new FakeClock();
    const stats = new RequestStats({ tenants: 5, now: clock.now });
    const arrived = clock.now() * 1000; // the seq: microseconds (room/sequence.ts)
    clock.advance(42_000);
    stats.roomWaited('browser', true, `acme|normal|${arrived}`);
    stats.roomWaited('api', false, `a|b|c|critical|${arrived}`); // a tenant may contain '|'
    stats.roomWaited('api', true, 'not-an-id');
    expect(stats.roomWait[0]!.count).toBe(1);
    expect(stats.roomWait[0]!.sum).toBe(42);
    expect(stats.roomWait[3]!.count).toBe(1); // api, timeout
    expect(stats.roomWait[2]!.count).toBe(0); // api, admitted: the malformed id was ignored
  });
});

describe('BucketCounts', () => {
  it('puts a value equal to a bound in that bucket (`le` is inclusive) and beyond the last in +Inf', () => {
    const h = new BucketCounts([0.1, 1]);
    for (const ms of [100, 100.0001, 1000, 5000, 0, -1, NaN]) h.observeMs(ms);
    expect([...h.counts]).toEqual([2, 2, 1]);
    expect(h.count).toBe(5);
  });

  it('refuses bounds that do not ascend', () => {
    expect(() => new BucketCounts([1, 1])).toThrow(/ascend/);
  });
});

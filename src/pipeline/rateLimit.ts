/**
 * rate-limit: token buckets per client, per tenant and per tenant and class, decided together in one
 * store call (tokens are taken from all of them only when all allow). Websocket upgrades have their
 * own per-client bucket, a global upgrade bucket and a cap on open sockets per tenant (incident 000:
 * a reconnect storm must reach the upstream at no more than the configured rate). Shadow buckets are
 * decided separately and only counted and logged.
 */
import type { BucketSet } from '../limits/limitPlan.js';
import { jitteredRetryAfterSeconds, rateLimitPolicy, rateLimitState } from '../limits/rateLimitHeaders.js';
import { formatRate } from '../limits/rate.js';
import type { BucketSpec, LimitDecision } from '../limits/store.js';
import { refuse } from '../respond/answer.js';
import { refuseUpgrade } from '../respond/websocketRefusal.js';
import type { RequestContext } from './context.js';
import { NEXT, type Phase, type PhaseOutcome } from './phase.js';

export const rateLimit: Phase = {
  name: 'rate-limit',
  run(ctx: RequestContext) {
    // Status polls are paced by the server (pollAfterMs); a poll refused here would cost a place.
    if (ctx.bypass || ctx.statusPoll) return NEXT;
    const limits = ctx.rt.limits;
    if (ctx.isUpgrade) return upgrade(ctx);
    const set = limits.plan.httpBuckets(ctx.tenant, ctx.clientKey, ctx.requestClass, ctx.routeLimits);
    if (set.shadow.length > 0) shadow(ctx, set);
    if (set.enforced.length === 0) return NEXT;
    const decision = limits.store.consume(set.enforced, ctx.cost);
    if (decision instanceof Promise) return decision.then((d) => settle(ctx, set, d));
    return settle(ctx, set, decision);
  },
};

function settle(ctx: RequestContext, set: BucketSet, d: LimitDecision): PhaseOutcome {
  if (d.allowed) {
    if (ctx.rt.config.limits.headersOnSuccess) ctx.rateLimitHeaders = [rateLimitPolicy(set.enforcedInfo), rateLimitState(set.enforcedInfo, d)];
    return NEXT;
  }
  const b = set.enforcedInfo[d.refusedBy] ?? set.enforcedInfo[0]!;
  const seconds = jitteredRetryAfterSeconds(finiteRetry(d.retryAfterMs));
  const detail =
    d.retryAfterMs === Infinity
      ? `This request costs ${ctx.cost} tokens, more than the "${b.name}" limit can ever hold (${b.burst}).`
      : `Rate limit "${b.name}" (${formatRate(b.rate)}, burst ${b.burst}) reached. Retry after ${seconds} s.`;
  ctx.rt.log.debug({ reqId: ctx.id, limit: b.name, source: b.source, tenant: ctx.tenant }, 'rate limited');
  ctx.refusalSource = b.source;
  return refuse(
    ctx,
    'ANT_RATE_LIMITED',
    detail,
    { 'retry-after': String(seconds), 'ratelimit-policy': rateLimitPolicy(set.enforcedInfo), ratelimit: rateLimitState(set.enforcedInfo, d) },
    { limit: b.name, retryAfterMs: Math.ceil(finiteRetry(d.retryAfterMs)) },
  );
}

async function upgrade(ctx: RequestContext): Promise<PhaseOutcome> {
  const rt = ctx.rt;
  const { plan, store } = rt.limits;
  const mode = rt.config.limits.websocket.refuseWith;
  const cap = plan.tenantPlan(ctx.tenant).websocketsOpen;
  if (rt.websockets.openFor(ctx.tenant) >= cap) {
    const retryMs = 5_000;
    ctx.refusalSource = 'limits.websocket.perTenantOpen';
    return refuseUpgrade(ctx, 'ANT_RATE_LIMITED', `Tenant "${ctx.tenant}" has ${cap} websockets open, its limit.`, retryMs, mode, jitteredRetryAfterSeconds(retryMs));
  }
  // Counted from here, not from the upstream's 101, so that a parallel burst cannot pass the cap.
  rt.websockets.reserve(ctx.tenant, ctx.socket!);
  // The client's and the global buckets live under different keys (hash tags), so they are decided
  // one after the other; an upgrade the global bucket refuses gets its client token back, or a
  // storm's refusals would drain every reconnecting client's bucket too (incident 000).
  let taken: { buckets: BucketSpec[]; degraded: boolean } | null = null;
  for (const set of [plan.websocketBuckets(ctx.tenant, ctx.clientKey), plan.websocketGlobalBuckets()]) {
    if (set.shadow.length > 0) shadow(ctx, set);
    if (set.enforced.length === 0) continue;
    const d = await store.consume(set.enforced, 1);
    if (d.allowed) {
      taken ??= { buckets: set.enforced, degraded: d.degraded };
      continue;
    }
    if (taken !== null) store.refund(taken.buckets, 1, taken.degraded);
    rt.websockets.unreserve(ctx.socket!);
    const b = set.enforcedInfo[d.refusedBy] ?? set.enforcedInfo[0]!;
    const retryMs = finiteRetry(d.retryAfterMs);
    const seconds = jitteredRetryAfterSeconds(retryMs);
    ctx.refusalSource = b.source;
    // The jitter goes into retryAfterMs too, so a storm of refused clients spreads out.
    return refuseUpgrade(ctx, 'ANT_RATE_LIMITED', `Websocket upgrade limit "${b.name}" (${formatRate(b.rate)}, burst ${b.burst}) reached.`, seconds * 1000, mode, seconds);
  }
  return NEXT;
}

function shadow(ctx: RequestContext, set: BucketSet): void {
  const rt = ctx.rt;
  Promise.resolve(rt.limits.store.consume(set.shadow, ctx.cost)).then(
    (d) => {
      if (d.allowed) return;
      const b = set.shadowInfo[d.refusedBy] ?? set.shadowInfo[0]!;
      rt.limits.shadowRefusals++;
      rt.log.warn({ reqId: ctx.id, limit: b.name, source: b.source, tenant: ctx.tenant, clientKey: ctx.clientKey }, 'shadow limit would refuse');
    },
    () => undefined,
  );
}

function finiteRetry(ms: number): number {
  return Number.isFinite(ms) ? ms : 60_000;
}

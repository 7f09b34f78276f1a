/**
 * admit: go now, or wait. Concurrency caps per upstream, per route and per tenant bound what the
 * upstream sees in flight (incident 001: one account's automation took every worker). A request over a
 * cap waits in a bounded FIFO with a timeout and then gets 503 with Retry-After. Bypass routes and
 * websocket upgrades hold no slot.
 */
import type { Claim, ConcurrencyGate } from '../limits/concurrencyGate.js';
import { jitteredRetryAfterSeconds } from '../limits/rateLimitHeaders.js';
import { refuse } from '../respond/answer.js';
import type { RequestContext } from './context.js';
import { ANSWERED, NEXT, type Phase, type PhaseOutcome } from './phase.js';

export const admit: Phase = {
  name: 'admit',
  run(ctx: RequestContext) {
    if (ctx.bypass) {
      ctx.decision = 'bypass';
      return NEXT;
    }
    ctx.decision = 'forward';
    if (ctx.isUpgrade) return NEXT;
    const rt = ctx.rt;
    const upstream = ctx.upstream!;
    const upstreamCap = upstream.settings.concurrency ?? Infinity;
    const tenantCap = rt.limits.plan.tenantPlan(ctx.tenant).concurrency;
    const routeCap = ctx.routeConcurrency;
    if (upstreamCap === Infinity && tenantCap === Infinity && routeCap === Infinity) return NEXT;
    const gate = rt.limits.gate;
    const claim: Claim = { upstream: upstream.name, upstreamCap, tenant: ctx.tenant, tenantCap, route: ctx.routeName, routeCap };
    if (gate.tryAcquire(claim)) {
      ctx.slot = claim;
      return NEXT;
    }
    const { timeoutMs, maxWaiting } = rt.config.limits.wait;
    return new Promise<PhaseOutcome>((resolve) => {
      ctx.waiter = gate.wait(claim, timeoutMs, maxWaiting, (admitted) => {
        ctx.waiter = null;
        if (admitted) {
          // The client may have gone while it waited; finish() has run and will not release for it.
          if (ctx.socketClosed) {
            gate.release(claim);
            resolve(ANSWERED);
          } else {
            ctx.slot = claim;
            resolve(NEXT);
          }
          return;
        }
        if (ctx.socketClosed) return resolve(ANSWERED);
        const seconds = jitteredRetryAfterSeconds(1_000);
        ctx.refusalSource = capSource(ctx, claim, gate);
        resolve(refuse(ctx, 'ANT_CAPACITY', `The upstream is at capacity and no slot freed within ${timeoutMs} ms. Retry after ${seconds} s.`, { 'retry-after': String(seconds) }));
      });
      if (ctx.waiter === null) {
        const seconds = jitteredRetryAfterSeconds(1_000);
        resolve(refuse(ctx, 'ANT_QUEUE_FULL', `${maxWaiting} requests are already waiting for the upstream. Retry after ${seconds} s.`, { 'retry-after': String(seconds) }));
      }
    });
  },
};

/** The config entry whose cap kept the request waiting, for the log line. */
function capSource(ctx: RequestContext, c: Claim, gate: ConcurrencyGate): string {
  if (gate.inFlight(c.upstream) >= c.upstreamCap) return `upstreams.${c.upstream}.concurrency`;
  if (gate.routeInFlight(c.route) >= c.routeCap) return `routes[${c.route}].limits.concurrency`;
  return ctx.rt.config.limits.tenants[c.tenant]?.concurrency !== undefined ? `limits.tenants.${c.tenant}.concurrency` : 'limits.tenant.concurrency';
}

/**
 * observe: runs once when the exchange is over (response finished, client gone, or websocket closed)
 * and records what happened: the counts and timings for the metrics, and one JSON log line per request
 * with the decision and the upstream latency.
 */
import { performance } from 'node:perf_hooks';
import type { RequestContext } from './context.js';
import { logRequest } from './requestLine.js';
import { NEXT, type Phase } from './phase.js';

export const observe: Phase = {
  name: 'observe',
  run(ctx: RequestContext) {
    const rt = ctx.rt;
    rt.stats.record(ctx);
    if (ctx.decision === 'refuse' && ctx.refusal !== null) rt.refusals.add(ctx.tenant, ctx.refusal);
    if (ctx.upstreamStartedAt !== 0 && !ctx.isUpgrade && !ctx.bypass && !ctx.longPoll && !ctx.eventStream) recordExchange(ctx);
    if (rt.config.log.requests) logRequest(rt.log, ctx);
    return NEXT;
  },
};

/**
 * Feeds the upstream's controller: the time to response headers, and whether the exchange failed (a
 * 5xx, or no answer: a timeout, a refused or reset connection, whose latency is the time until it
 * failed). A client that went away before the headers tells nothing about the upstream.
 */
function recordExchange(ctx: RequestContext): void {
  const controller = ctx.rt.controllers.get(ctx.upstream!.name);
  if (controller === undefined) return;
  if (ctx.upstreamMs >= 0) {
    controller.recordResponse(ctx.upstreamMs, ctx.status >= 500, ctx.inflightAtSend);
    return;
  }
  const r = ctx.refusal;
  if (r !== 'ANT_UPSTREAM_TIMEOUT' && r !== 'ANT_UPSTREAM_UNREACHABLE' && r !== 'ANT_UPSTREAM_RESET' && r !== 'ANT_UPSTREAM_BAD_RESPONSE') return;
  controller.recordResponse(performance.now() - ctx.upstreamStartedAt, true, ctx.inflightAtSend);
}

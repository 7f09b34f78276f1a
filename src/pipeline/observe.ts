/**
 * observe: runs once when the exchange is over (response finished, client gone, or websocket closed)
 * and records what happened: one JSON log line per request with the decision and the upstream latency.
 */
import { performance } from 'node:perf_hooks';
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const observe: Phase = {
  name: 'observe',
  run(ctx: RequestContext) {
    const rt = ctx.rt;
    if (ctx.decision === 'refuse' && ctx.refusal !== null) rt.refusals.add(ctx.tenant, ctx.refusal);
    if (rt.config.log.requests && rt.log.isLevelEnabled('info')) {
      rt.log.info(
        {
          reqId: ctx.id,
          method: ctx.req.method,
          path: ctx.path,
          status: ctx.status,
          decision: ctx.decision,
          refusal: ctx.refusal ?? undefined,
          reason: ctx.refusal ? ctx.refusalDetail : undefined,
          // The config entry behind a limit's refusal (e.g. limits.tenants.acme.rate), so an operator
          // knows which setting to change; set by rate-limit and admit, and otherwise never logged.
          source: ctx.refusalSource === '' ? undefined : ctx.refusalSource,
          tenant: ctx.tenant,
          class: ctx.requestClass,
          upstream: ctx.upstream?.name,
          upstreamMs: ctx.upstreamMs < 0 ? undefined : Math.round(ctx.upstreamMs * 100) / 100,
          durationMs: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
          websocket: ctx.isUpgrade || undefined,
          clientAborted: ctx.clientAborted || undefined,
          upstreamError: ctx.upstreamError ?? undefined,
        },
        'request',
      );
    }
    return NEXT;
  },
};

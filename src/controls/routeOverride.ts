/**
 * An operator's runtime override of a route's limits (rate and burst of its per-client bucket,
 * concurrency), laid over what the route rule gave the request. Runs in the route phase only while
 * the route has one.
 */
import type { RequestContext } from '../pipeline/context.js';
import type { LimitOverride } from './model.js';

export function applyRouteOverride(ctx: RequestContext, o: LimitOverride): void {
  const own = ctx.routeLimits;
  if (o.rate !== undefined || o.burst !== undefined) {
    const rate = o.rate ?? own?.rate;
    // A burst alone needs a rate to go with; the admin API refuses one for a route without a rate.
    if (rate !== undefined) {
      // A new rate without a burst gets one second's worth, as in the config.
      const burst = o.burst ?? (o.rate !== undefined ? undefined : own?.burst);
      ctx.routeLimits = { name: ctx.routeName, rate, burst, source: `overrides.routes.${ctx.routeName}` };
    }
  }
  if (o.concurrency !== undefined) ctx.routeConcurrency = o.concurrency;
}

/**
 * route: the first matching route rule decides the upstream, the class of traffic, the cost in
 * tokens, whether the request bypasses admission control, and per-route limits (see src/routes).
 */
import { applyRouteOverride } from '../controls/routeOverride.js';
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const route: Phase = {
  name: 'route',
  run(ctx: RequestContext) {
    const rt = ctx.rt;
    const { route } = rt.routes.match(ctx.req.method ?? 'GET', ctx.host, ctx.path, ctx.req.headers);
    ctx.routeName = route.name;
    ctx.upstream = route.upstream === undefined ? rt.defaultUpstream : (rt.upstreams.get(route.upstream) ?? rt.defaultUpstream);
    ctx.requestClass = route.class;
    ctx.cost = route.cost;
    ctx.bypass = route.bypass;
    ctx.longPoll = route.longPoll;
    const limits = route.limits;
    ctx.routeLimits = limits?.rate !== undefined ? { name: route.name, rate: limits.rate, burst: limits.burst } : null;
    ctx.routeConcurrency = limits?.concurrency ?? Infinity;
    const override = rt.controls.routeOverride(route.name);
    if (override !== undefined) applyRouteOverride(ctx, override);
    return NEXT;
  },
};

/** route: which upstream and which class of traffic the request belongs to. */
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const route: Phase = {
  name: 'route',
  run(ctx: RequestContext) {
    ctx.upstream = ctx.rt.defaultUpstream;
    ctx.requestClass = 'normal';
    ctx.cost = 1;
    return NEXT;
  },
};

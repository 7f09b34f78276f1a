/** forward: hands the request to the upstream; HTTP through undici, websocket upgrades piped. */
import { forwardHttp } from '../proxy/httpForwarder.js';
import { forwardWebsocket } from '../proxy/websocketForwarder.js';
import type { RequestContext } from './context.js';
import { ANSWERED, type Phase } from './phase.js';

export const forward: Phase = {
  name: 'forward',
  run(ctx: RequestContext) {
    const upstream = ctx.upstream ?? ctx.rt.defaultUpstream;
    if (ctx.isUpgrade) {
      ctx.rt.stats.upgradesAdmitted++;
      forwardWebsocket(ctx, upstream, ctx.forwardedFor);
    } else forwardHttp(ctx, upstream, ctx.forwardedFor);
    return ANSWERED;
  },
};

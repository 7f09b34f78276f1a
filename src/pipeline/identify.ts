/**
 * identify: who is asking. The client address comes from X-Forwarded-For only when the socket peer is
 * a trusted proxy, read right to left past every trusted hop, so a client cannot pick its own address
 * (see identity/clientAddress.ts). Then the tenant and the client key, from the configured sources in
 * order (see src/identity).
 */
import { clientAddress, stripV4Mapped } from '../identity/clientAddress.js';
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const identify: Phase = {
  name: 'identify',
  run(ctx: RequestContext) {
    const req = ctx.req;
    const peer = stripV4Mapped(ctx.peer);
    let chain = '';
    const xff = req.headers['x-forwarded-for'];
    if (ctx.peerTrusted && xff !== undefined) chain = Array.isArray(xff) ? xff.join(', ') : xff;
    const clientIp = chain === '' ? peer : clientAddress(peer, chain, ctx.rt.trustedProxies);
    ctx.clientIp = clientIp;
    ctx.forwardedFor = chain === '' ? peer : `${chain}, ${peer}`;
    const who = ctx.rt.identity.resolve(ctx.host, ctx.path, req.headers, clientIp);
    ctx.tenant = who.tenant;
    ctx.clientKey = who.clientKey;
    return NEXT;
  },
};

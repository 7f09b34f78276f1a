/**
 * identify: who is asking. The client address comes from X-Forwarded-For only when the socket peer is
 * a trusted proxy, read right to left past every trusted hop, so a client cannot pick its own address.
 * Then the tenant and the client key, from the configured sources in order (see src/identity).
 */
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const identify: Phase = {
  name: 'identify',
  run(ctx: RequestContext) {
    const req = ctx.req;
    const peer = stripV4Mapped(req.socket.remoteAddress ?? '');
    let clientIp = peer;
    let chain = '';
    const xff = req.headers['x-forwarded-for'];
    if (ctx.peerTrusted && xff !== undefined) {
      chain = Array.isArray(xff) ? xff.join(', ') : xff;
      const hops = chain.split(',');
      const trusted = ctx.rt.trustedProxies;
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = stripV4Mapped(hops[i]!.trim());
        if (hop === '') continue;
        clientIp = hop;
        if (!trusted.check(hop, hop.includes(':') ? 'ipv6' : 'ipv4')) break;
      }
    }
    ctx.clientIp = clientIp;
    ctx.forwardedFor = chain === '' ? peer : `${chain}, ${peer}`;
    const who = ctx.rt.identity.resolve(ctx.host, ctx.path, req.headers, clientIp);
    ctx.tenant = who.tenant;
    ctx.clientKey = who.clientKey;
    return NEXT;
  },
};

function stripV4Mapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

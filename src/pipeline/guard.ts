/**
 * guard: the operators' blocks and kill switches (src/controls), before any limit or the room, so a
 * blocked client costs no token and takes no place (incident 000: there was no way to stop toxic
 * clients).
 *
 * - A block of the client key, a session, the client address (or a CIDR block around it), the tenant
 *   or the route refuses with 403 ANT_BLOCKED: a small HTML page for a browser navigation,
 *   problem+json otherwise; an upgrade is completed and closed with 1013 and `retryAfterMs`. A
 *   `websocketsOnly` block refuses only upgrades. A block with a TTL says when it lifts (Retry-After).
 * - Maintenance for the tenant: the maintenance answers (room/maintenance.ts), everyone's place kept.
 *   Status polls go on to admit, which keeps their places and says `maintenance`.
 *
 * Nothing blocked and no maintenance anywhere, the common case, costs one flag test.
 */
import type { Block } from '../controls/model.js';
import { blockRetryMs } from '../controls/socketCloser.js';
import { refuse } from '../respond/answer.js';
import { refuseUpgrade } from '../respond/websocketRefusal.js';
import { maintenanceAnswer } from '../room/maintenance.js';
import type { RequestContext } from './context.js';
import { NEXT, type Phase, type PhaseOutcome } from './phase.js';

export const guard: Phase = {
  name: 'guard',
  run(ctx: RequestContext) {
    const controls = ctx.rt.controls;
    if (controls.quiet) return NEXT;
    const state = controls.state;
    let block = state.blockFor(ctx, ctx.isUpgrade);
    if (block === null && state.sessionBlocks > 0) {
      for (const key of ctx.rt.identity.sessionKeys(ctx.req.headers.cookie)) {
        block = state.sessionBlock(key, ctx.isUpgrade);
        if (block !== null) break;
      }
    }
    if (block !== null) return blocked(ctx, block);
    if (ctx.statusPoll) return NEXT;
    const message = controls.maintenance(ctx.tenant);
    return message === null ? NEXT : maintenanceAnswer(ctx, message);
  },
};

const WHO: Record<Block['kind'], string> = {
  client: 'this client',
  session: 'this session',
  ip: 'this address',
  tenant: 'this account',
  route: 'this resource',
};

function blocked(ctx: RequestContext, b: Block): PhaseOutcome {
  const rt = ctx.rt;
  ctx.refusalSource = `block ${b.id} (${b.kind} ${b.value})`;
  const text = b.message ?? (b.websocketsOnly ? `Websocket connections are turned off for ${WHO[b.kind]}.` : `Access is blocked for ${WHO[b.kind]}.`);
  const detail = `${text} Reference: block ${b.id}.`;
  if (ctx.isUpgrade) {
    const ms = blockRetryMs(b, rt.config.controls.closeWebsockets.retryAfterMs);
    return refuseUpgrade(ctx, 'ANT_BLOCKED', detail, ms, rt.config.limits.websocket.refuseWith, Math.max(1, Math.ceil(ms / 1000)));
  }
  const headers = b.expiresAt === null ? {} : { 'retry-after': String(Math.max(1, Math.ceil((b.expiresAt - Date.now()) / 1000))) };
  return refuse(ctx, 'ANT_BLOCKED', detail, headers, { blockId: b.id });
}

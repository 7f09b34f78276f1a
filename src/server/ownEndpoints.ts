/** anteroom's own endpoints on the public port, under `/__anteroom/`. */
import { refuse, send } from '../respond/answer.js';
import type { RequestContext } from '../pipeline/context.js';

export const OWN_PREFIX = '/__anteroom/';

export function ownEndpoint(ctx: RequestContext): void {
  const name = ctx.path.slice(OWN_PREFIX.length);
  const json = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  switch (name) {
    case 'healthz':
      // Alive: the process serves requests. Says nothing about the upstream, so an orchestrator never
      // restarts the proxy because the application is down.
      send(ctx, 200, json, '{"status":"ok"}');
      return;
    case 'readyz':
      if (ctx.rt.draining) send(ctx, 503, json, '{"status":"draining"}');
      else send(ctx, 200, json, '{"status":"ready"}');
      return;
    default:
      refuse(ctx, 'ANT_NOT_FOUND', `No anteroom endpoint at ${ctx.path}. Known: ${OWN_PREFIX}healthz, ${OWN_PREFIX}readyz, ${OWN_PREFIX}status.`);
  }
}

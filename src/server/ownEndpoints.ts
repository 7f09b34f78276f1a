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
    case 'readyz': {
      // A Redis outage does not make the proxy unready (it decides on local buckets meanwhile), but
      // it is said here so that an orchestrator's probe log shows it.
      const store = ctx.rt.limits.store as { kind: string; degraded?: boolean };
      // A shared waiting room says where its queue is: 'shared', or 'local-fallback' during an outage.
      const queue = ctx.rt.room.queueMode;
      const body = JSON.stringify({ status: ctx.rt.draining ? 'draining' : 'ready', store: store.kind, degraded: store.degraded === true, ...(queue !== 'local' ? { roomQueue: queue } : {}) });
      send(ctx, ctx.rt.draining ? 503 : 200, json, body);
      return;
    }
    default:
      refuse(ctx, 'ANT_NOT_FOUND', `No anteroom endpoint at ${ctx.path}. Known: ${OWN_PREFIX}healthz, ${OWN_PREFIX}readyz, ${OWN_PREFIX}status.`);
  }
}

/**
 * The admin endpoints. Each handler is a few lines over Controls (src/controls) or the runtime: parse
 * and check the body, make the change, answer with what is now in force.
 *
 *   GET    /status                       this instance: upstreams, tenants, room, switches (status.ts)
 *   GET    /blocks                       blocks in force
 *   POST   /blocks                       add one: { kind, value, reason, message?, ttlS?, websocketsOnly?, closeWebsockets? }
 *   DELETE /blocks/:id                   lift one
 *   GET    /modes                        the config's room mode, the global and per-tenant runtime modes
 *   PUT    /modes                        the global mode: { mode, message?, reason? }; DELETE clears it
 *   PUT    /modes/tenants/:tenant        one tenant's mode; DELETE clears it
 *   GET    /overrides                    limit overrides in force
 *   PUT    /overrides/tenants/:tenant    { rate?, burst?, concurrency?, reason? }; DELETE clears it
 *   PUT    /overrides/routes/:route      the same for a route; DELETE clears it
 *   POST   /reload                       re-read and apply the config
 *   GET    /metrics                      Prometheus text format
 *   GET    /dashboard                    the live dashboard (HTML; served without the token: dashboard/page.ts)
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Block, LimitOverride, ModeSetting } from '../controls/model.js';
import type { Changed } from '../controls/controls.js';
import { formatRate } from '../limits/rate.js';
import type { Runtime } from '../runtime.js';
import type { AdminServerOptions } from './adminServer.js';
import { errorBody } from './adminServer.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML, DASHBOARD_PATH } from './dashboard/page.js';
import { BLOCK_FIELDS, blockBody, MODE_FIELDS, modeBody, OVERRIDE_FIELDS, overrideBody, tenantParam } from './bodies.js';
import { AdminError, parseBody, parseParam } from './problems.js';
import { buildStatus } from './status.js';

interface RouteOptions {
  reload: AdminServerOptions['reload'];
  metrics: AdminServerOptions['metrics'];
  startedAt: number;
}

const NOT_SHARED = 'the shared store (Redis) is unreachable: the change is in force on this instance, and is written for the others when Redis answers again';

export function registerRoutes(app: FastifyInstance, rt: Runtime, o: RouteOptions): void {
  const controls = rt.controls;

  app.get('/status', async () => buildStatus(rt, o.startedAt));

  app.get('/blocks', async () => ({ blocks: controls.state.blocks().map(blockView) }));

  app.post('/blocks', async (req, reply) => {
    const body = parseBody(blockBody, req.body, BLOCK_FIELDS);
    let value = body.value;
    if (body.kind === 'session') {
      if (rt.identity.sessionCookies.length === 0) {
        throw new AdminError(400, 'kind: no session cookie is configured (identity.client has no cookie source), so no request carries a session to block; block its client key instead (kind client)');
      }
      // Only the key is kept: a session cookie is a credential, and blocks are listed and stored in Redis.
      value = rt.identity.sessionKey(body.value);
    }
    if (body.kind === 'route') knownRoute(rt, value, 'value');
    const r = await controls.addBlock({ ...body, value });
    return changed(reply.code(201), 'block', blockView(r.entry), r);
  });

  app.delete<{ Params: { id: string } }>('/blocks/:id', async (req) => {
    const r = await controls.removeBlock(req.params.id);
    if (r === null) throw new AdminError(404, `no block with id ${req.params.id}; GET /blocks lists them`);
    return { removed: blockView(r.entry), ...sharedNote(r.shared) };
  });

  app.get('/modes', async () => modesView(rt));

  app.put('/modes', async (req, reply) => {
    const body = parseBody(modeBody, req.body, MODE_FIELDS);
    const r = await controls.setMode(null, body.mode, body.message, body.reason);
    return changed(reply, 'mode', modeView(r.entry), r);
  });

  app.delete('/modes', async () => {
    const r = await controls.clearMode(null);
    if (r === null) throw new AdminError(404, `no global runtime mode is set; the config's room.mode (${rt.config.room.mode}) is in force`);
    return { cleared: modeView(r.entry), ...sharedNote(r.shared), ...modesView(rt) };
  });

  app.put<{ Params: { tenant: string } }>('/modes/tenants/:tenant', async (req, reply) => {
    const tenant = parseParam('tenant', tenantParam, req.params.tenant);
    const body = parseBody(modeBody, req.body, MODE_FIELDS);
    const r = await controls.setMode(tenant, body.mode, body.message, body.reason);
    return changed(reply, 'mode', modeView(r.entry), r);
  });

  app.delete<{ Params: { tenant: string } }>('/modes/tenants/:tenant', async (req) => {
    const r = await controls.clearMode(req.params.tenant);
    if (r === null) throw new AdminError(404, `tenant ${req.params.tenant} has no runtime mode of its own`);
    return { cleared: modeView(r.entry), ...sharedNote(r.shared), ...modesView(rt) };
  });

  app.get('/overrides', async () => ({ overrides: controls.state.overrides().map(overrideView) }));

  for (const scope of ['tenant', 'route'] as const) {
    const path = `/overrides/${scope}s/:name`;
    app.put<{ Params: { name: string } }>(path, async (req, reply) => {
      const name = scope === 'tenant' ? parseParam('tenant', tenantParam, req.params.name) : knownRoute(rt, req.params.name, 'route');
      const body = parseBody(overrideBody, req.body, OVERRIDE_FIELDS);
      if (body.burst !== undefined && body.rate === undefined && !hasRate(rt, scope, name)) {
        throw new AdminError(400, `burst: ${scope} ${name} has no rate limit to change the burst of; give a rate too`, [{ path: 'burst', message: 'needs a rate', value: body.burst }]);
      }
      const r = await controls.setOverride(scope, name, body);
      return changed(reply, 'override', overrideView(r.entry), r);
    });
    app.delete<{ Params: { name: string } }>(path, async (req) => {
      const r = await controls.clearOverride(scope, req.params.name);
      if (r === null) throw new AdminError(404, `${scope} ${req.params.name} has no limit override`);
      return { cleared: overrideView(r.entry), ...sharedNote(r.shared) };
    });
  }

  app.post('/reload', async (_req, reply) => {
    const r = await o.reload();
    if (!r.ok) rt.log.warn({ errors: r.errors }, 'admin: reload refused, the config in force is unchanged');
    return reply.code(r.ok ? 200 : 422).send(r);
  });

  app.get('/metrics', async (_req, reply) => {
    if (o.metrics === undefined) return reply.code(404).send(errorBody(404, 'metrics are not available in this build'));
    const text = await o.metrics.render();
    return reply.header('content-type', o.metrics.contentType).send(text);
  });

  app.get(DASHBOARD_PATH, async (_req, reply) => reply.headers(DASHBOARD_HEADERS).send(DASHBOARD_HTML));
}

function changed<T>(reply: FastifyReply, name: string, view: unknown, r: Changed<T>): FastifyReply {
  return reply.send({ [name]: view, ...sharedNote(r.shared) });
}

function sharedNote(shared: boolean): Record<string, unknown> {
  return shared ? { shared: true } : { shared: false, warning: NOT_SHARED };
}

/** A route name the config knows (or `default`), or a 400 listing them. */
function knownRoute(rt: Runtime, name: string, field: string): string {
  const names = ['default', ...rt.routes.routes.map((r) => r.name)];
  if (names.includes(name)) return name;
  throw new AdminError(400, `${field}: no route is named ${JSON.stringify(name)}; expected one of: ${names.join(', ')}`, [{ path: field, message: 'no such route', value: name }]);
}

function hasRate(rt: Runtime, scope: 'tenant' | 'route', name: string): boolean {
  if (scope === 'tenant') return rt.limits.plan.tenantPlan(name).tenant !== null;
  return rt.routes.routes.find((r) => r.name === name)?.limits?.rate !== undefined;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function blockView(b: Block): Record<string, unknown> {
  return {
    id: b.id,
    kind: b.kind,
    value: b.value,
    reason: b.reason,
    ...(b.message !== undefined ? { message: b.message } : {}),
    websocketsOnly: b.websocketsOnly,
    closeWebsockets: b.closeWebsockets,
    createdAt: iso(b.createdAt),
    expiresAt: iso(b.expiresAt),
    expiresInS: b.expiresAt === null ? null : Math.max(0, Math.ceil((b.expiresAt - Date.now()) / 1000)),
  };
}

function modeView(m: ModeSetting): Record<string, unknown> {
  return { tenant: m.tenant, mode: m.mode, message: m.message ?? null, reason: m.reason ?? null, setAt: iso(m.setAt) };
}

function modesView(rt: Runtime): Record<string, unknown> {
  const modes = rt.controls.state.modes();
  return { config: rt.config.room.mode, global: modes.global === null ? null : modeView(modes.global), tenants: modes.tenants.map(modeView) };
}

function overrideView(o: LimitOverride): Record<string, unknown> {
  return {
    scope: o.scope,
    name: o.name,
    rate: o.rate === undefined ? null : formatRate(o.rate),
    burst: o.burst ?? null,
    concurrency: o.concurrency ?? null,
    reason: o.reason ?? null,
    setAt: iso(o.setAt),
  };
}

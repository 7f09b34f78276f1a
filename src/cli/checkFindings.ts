/**
 * What `anteroom check` reports about a valid config: mistakes the schema cannot see because they
 * span several keys, or because they are legal but almost certainly not what the operator meant.
 * Errors are certain harm (an admin API open to the network, a route that can never pass); warnings
 * are probable harm (traffic going around the room, a limit that never applies, a threshold that can
 * never trigger). Each finding names the config entry and says what to do.
 */
import type { Config } from '../config/schema.js';
import { TENANT_ID } from '../identity/schema.js';
import { LimitPlan } from '../limits/limitPlan.js';
import { bypassRisk } from '../routes/bypassRisk.js';
import { RouteTable } from '../routes/routeTable.js';
import { bucketSource, routeLabel } from './format.js';

export interface Finding {
  readonly level: 'error' | 'warning';
  /** The config entry it is about, e.g. `routes[2] (name: export)`, `admin.token`. */
  readonly where: string;
  readonly message: string;
}

export function findProblems(config: Readonly<Config>): Finding[] {
  const out: Finding[] = [];
  const error = (where: string, message: string): void => void out.push({ level: 'error', where, message });
  const warn = (where: string, message: string): void => void out.push({ level: 'warning', where, message });
  secrets(config, error, warn);
  routes(config, error, warn);
  limits(config, warn);
  room(config, warn);
  upstreams(config, warn);
  control(config, warn);
  // Errors first, each group in the order the checks ran.
  return [...out.filter((f) => f.level === 'error'), ...out.filter((f) => f.level === 'warning')];
}

type Report = (where: string, message: string) => void;

function secrets(config: Readonly<Config>, error: Report, warn: Report): void {
  const { host, port, token } = config.admin;
  if (token === '' && !isLoopback(host)) {
    error(
      'admin.token',
      `empty while admin.host is ${host}, which is not loopback: anyone who reaches port ${port} could change limits, blocks and the waiting room. Set admin.token (for example \${ANTEROOM_ADMIN_TOKEN}) or bind admin.host to 127.0.0.1`,
    );
  }
  if (config.secret === '') {
    warn(
      'secret',
      'empty: tickets and admission cookies would be signed with a key made up per process, so places in line and sessions are lost on restart and not honoured by other instances; anteroom start refuses to run without it unless --dev. Set it to 32+ random bytes, for example secret: ${ANTEROOM_SECRET}',
    );
  }
}

function routes(config: Readonly<Config>, error: Report, warn: Report): void {
  const table = new RouteTable(config.routes);
  const shadowed = new Map(table.shadowed().map((s) => [s.index, s.by]));
  const plan = new LimitPlan(config.limits);
  const tenants = [tenantWithoutOverride(config), ...Object.keys(config.limits.tenants)];
  table.routes.forEach((route, i) => {
    const where = routeLabel(i, route);
    const by = shadowed.get(i);
    if (by !== undefined) {
      warn(where, `never matches: ${routeLabel(by, table.routes[by]!)} takes every request it would match; move it above that rule or remove it`);
      return;
    }
    if (route.bypass) {
      const risk = bypassRisk(route);
      if (risk !== undefined) warn(where, `bypass: ${risk}`);
      if (route.limits !== undefined) warn(`routes[${i}].limits`, 'has no effect: a bypass route is never rate limited and takes no concurrency slot');
      return;
    }
    if (route.limits?.burst !== undefined && route.limits.rate === undefined) {
      warn(`routes[${i}].limits.burst`, `has no effect without routes[${i}].limits.rate: the route's own bucket needs a rate`);
    }
    // A cost above a bucket's burst can never be paid: every request of the route is refused.
    const seen = new Set<string>();
    const routeLimits = route.limits?.rate !== undefined ? { name: route.name, rate: route.limits.rate, burst: route.limits.burst } : null;
    for (const tenant of tenants) {
      const set = plan.httpBuckets(tenant, 'check', route.class, routeLimits);
      for (const [buckets, shadow] of [[set.enforcedInfo, false], [set.shadowInfo, true]] as const) {
        for (const b of buckets) {
          const source = bucketSource(b, i);
          if (route.cost <= b.burst || seen.has(source)) continue;
          seen.add(source);
          const message = `cost ${route.cost} is above the burst of ${b.burst} of limit "${b.name}" (${source})`;
          if (shadow) warn(where, `${message}: the shadow limit counts every request as refused`);
          else error(where, `${message}: every request is refused with 429; raise the burst to at least ${route.cost} or lower the cost`);
        }
      }
    }
  });
}

function limits(config: Readonly<Config>, warn: Report): void {
  const { tenant, tenants, websocket } = config.limits;
  if (tenant.burst !== undefined && tenant.rate === undefined) warn('limits.tenant.burst', 'has no effect without limits.tenant.rate');
  for (const [id, own] of Object.entries(tenants)) {
    if (own.burst !== undefined && own.rate === undefined && tenant.rate === undefined) {
      warn(`limits.tenants.${id}.burst`, `has no effect without a rate (limits.tenants.${id}.rate or limits.tenant.rate)`);
    }
    if (own.websocketsOpen === 0) warn(`limits.tenants.${id}.websocketsOpen`, `0 refuses every websocket upgrade of tenant ${id}`);
  }
  if (websocket.perTenantOpen === 0) warn('limits.websocket.perTenantOpen', '0 refuses every websocket upgrade');
  if (tenant.websocketsOpen === 0) warn('limits.tenant.websocketsOpen', '0 refuses every websocket upgrade');
  tenantKeys(config, 'limits.tenants', Object.keys(tenants), warn);
  const everyone = config.identity.trustedProxies.filter((p) => /\/0$/.test(p));
  if (everyone.length > 0) {
    warn(
      'identity.trustedProxies',
      `${everyone.join(', ')} trusts every address as a proxy: any client can pick its own address with X-Forwarded-For and escape the limits keyed by IP; list your load balancers' addresses instead`,
    );
  }
}

function room(config: Readonly<Config>, warn: Report): void {
  const r = config.room;
  const name = defaultUpstreamName(config);
  const upstream = config.upstreams[name]!;
  if (!roomCanHold(config)) {
    warn(
      'room',
      `the waiting room never holds anyone: it lets people in while ${name} is below its in-flight limit, and ${name} has none. Set room.concurrency (or upstreams.${name}.concurrency, or control.upstreams.${name}.limit) to the number of requests ${name} can take at once`,
    );
  }
  if (r.concurrency !== undefined && r.concurrency > upstream.connections) {
    warn('room.concurrency', aboveConnections(r.concurrency, name, upstream.connections));
  }
  tenantKeys(config, 'room.weights', Object.keys(r.weights), warn);
  tenantKeys(config, 'room.messages', Object.keys(r.messages).filter((t) => t !== 'default'), warn);
}

function upstreams(config: Readonly<Config>, warn: Report): void {
  const def = defaultUpstreamName(config);
  const table = new RouteTable(config.routes);
  const shadowed = new Set(table.shadowed().map((s) => s.index));
  const used = new Set(table.routes.filter((r, i) => !shadowed.has(i) && r.upstream !== undefined).map((r) => r.upstream!));
  for (const [name, u] of Object.entries(config.upstreams)) {
    if (u.concurrency !== undefined && u.concurrency > u.connections) warn(`upstreams.${name}.concurrency`, aboveConnections(u.concurrency, name, u.connections));
    if (name !== def && !used.has(name)) warn(`upstreams.${name}`, `no route sends requests to it and it is not the default upstream (${def}), so nothing reaches it`);
  }
}

/** Control sections whose thresholds can never trigger, and limits the connection pool cannot carry. */
function control(config: Readonly<Config>, warn: Report): void {
  for (const [name, c] of Object.entries(config.control.upstreams)) {
    const at = `control.upstreams.${name}`;
    const upstream = config.upstreams[name]!;
    const e = c.engage;
    const db = e.dbConnections ?? {};
    if ([e.latencyP95Ms, e.errorRate, e.eventLoopDelayMs, db.postgres, db.mysql, db.pgbouncer, db.http].every((x) => x === undefined)) {
      warn(`${at}.engage`, `no threshold is set (latencyP95Ms, errorRate, dbConnections, eventLoopDelayMs), so it never engages the room for ${name}`);
    }
    // Responses are cut off with 504 at the upstream's timeoutMs and a failed probe counts as its own
    // timeout, so no latency in the window is above the larger of the two.
    const ceiling = Math.max(upstream.timeoutMs, c.probe?.timeoutMs ?? 0);
    for (const stage of ['engage', 'shed'] as const) {
      const latency = c[stage].latencyP95Ms;
      if (latency !== undefined && latency >= ceiling) {
        warn(
          `${at}.${stage}.latencyP95Ms`,
          `${latency} ms can never be exceeded: responses slower than upstreams.${name}.timeoutMs (${upstream.timeoutMs} ms) are cut off with 504 at that time${c.probe ? ` and a failed probe counts as probe.timeoutMs (${c.probe.timeoutMs} ms)` : ''}; set it below ${ceiling} ms`,
        );
      }
      if (c[stage].errorRate === 1) warn(`${at}.${stage}.errorRate`, 'is 1: the error rate must go above it, and a share never exceeds 1; use a value below 1, like 0.5');
    }
    const percents: [string, number | string | undefined][] = [
      [`${at}.engage.dbConnections.postgres.above`, db.postgres?.above],
      [`${at}.engage.dbConnections.mysql.above`, db.mysql?.above],
      [`${at}.shed.dbConnections.postgres`, c.shed.dbConnections?.postgres],
      [`${at}.shed.dbConnections.mysql`, c.shed.dbConnections?.mysql],
    ];
    for (const [where, value] of percents) {
      if (typeof value === 'string' && parseFloat(value) >= 100) {
        warn(where, `"${value}" of max_connections can never be exceeded: the database refuses connections beyond max_connections; use a share below 100%, like "80%"`);
      }
    }
    if (c.limit.static !== undefined && c.limit.static > upstream.connections) warn(`${at}.limit.static`, aboveConnections(c.limit.static, name, upstream.connections));
    const max = c.limit.adaptive?.max;
    if (max !== undefined && max > upstream.connections) warn(`${at}.limit.adaptive.max`, aboveConnections(max, name, upstream.connections));
  }
}

/**
 * Whether the waiting room can ever hold anyone: it admits while the default upstream is below its
 * in-flight limit (and within sessionsPerMinute / maxActiveSessions), so without any of these everyone
 * is let in at once, whatever the mode or the controller's state.
 */
export function roomCanHold(config: Readonly<Config>): boolean {
  const r = config.room;
  if (r.mode === 'open') return false;
  return roomLimit(config) !== undefined || r.sessionsPerMinute !== undefined || r.maxActiveSessions !== undefined;
}

/** An in-flight limit as the output shows it: the number (or `adaptive up to N`) and its config entry. */
export interface LimitText {
  readonly value: number;
  readonly text: string;
  readonly source: string;
}

/** The in-flight limit the room admits against (the room's upstream's full limit), or undefined when there is none. */
export function roomLimit(config: Readonly<Config>): LimitText | undefined {
  return fullLimit(config, defaultUpstreamName(config));
}

/**
 * An upstream's full in-flight limit, as Runtime.applyLimits and the controller work it out before a
 * ramp or the adaptive limit lowers it: the control entry's `limit.static` or `limit.adaptive.max`,
 * else the configured one (`room.concurrency` for the room's upstream, else the upstream's own).
 */
export function fullLimit(config: Readonly<Config>, upstream: string): LimitText | undefined {
  const c = config.control.upstreams[upstream]?.limit;
  if (c?.static !== undefined) return { value: c.static, text: String(c.static), source: `control.upstreams.${upstream}.limit.static` };
  if (c?.adaptive !== undefined) return { value: c.adaptive.max, text: `adaptive, at most ${c.adaptive.max}`, source: `control.upstreams.${upstream}.limit.adaptive` };
  const room = upstream === defaultUpstreamName(config) ? config.room.concurrency : undefined;
  if (room !== undefined) return { value: room, text: String(room), source: 'room.concurrency' };
  const own = config.upstreams[upstream]?.concurrency;
  return own === undefined ? undefined : { value: own, text: String(own), source: `upstreams.${upstream}.concurrency` };
}

/** The cap the concurrency gate puts on an upstream: its full limit, never above its own `concurrency`. */
export function gateLimit(config: Readonly<Config>, upstream: string): LimitText | undefined {
  const full = fullLimit(config, upstream);
  const own = config.upstreams[upstream]?.concurrency;
  if (own !== undefined && (full === undefined || own < full.value)) return { value: own, text: String(own), source: `upstreams.${upstream}.concurrency` };
  return full;
}

export function defaultUpstreamName(config: Readonly<Config>): string {
  return config.defaultUpstream ?? Object.keys(config.upstreams)[0]!;
}

/** A tenant id with no entry in limits.tenants, so that LimitPlan answers with the `limits.tenant` defaults. */
export function tenantWithoutOverride(config: Readonly<Config>): string {
  let id = config.identity.defaultTenant;
  while (id in config.limits.tenants) id += '-';
  return id;
}

/** Per-tenant entries that can never apply: the id is not a possible tenant id, or no source yields tenants. */
function tenantKeys(config: Readonly<Config>, key: string, ids: readonly string[], warn: Report): void {
  const { tenant: sources, defaultTenant } = config.identity;
  for (const id of ids) {
    if (!TENANT_ID.test(id)) {
      warn(`${key}.${id}`, `never applies: "${id}" can never be a tenant id (letters, digits, _ . -, at most 64, starting with a letter or digit)`);
    } else if (sources.length === 0 && id !== defaultTenant) {
      warn(`${key}.${id}`, `never applies: identity.tenant names no source, so every request belongs to tenant "${defaultTenant}"`);
    }
  }
}

function aboveConnections(value: number, upstream: string, connections: number): string {
  return `${value} is above upstreams.${upstream}.connections (${connections}): requests beyond ${connections} wait inside the connection pool, where no limit or queue sees them; raise connections or lower it`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

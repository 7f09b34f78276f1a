/**
 * The part of `anteroom check` that shows what the config does: every route and the fallback with
 * its class, cost, limits, whether it can be queued and whether it bypasses the room; then the bypass
 * rules, the room, the controllers and the per-tenant overrides. Built from the same RouteTable and
 * LimitPlan the proxy runs.
 */
import type { Config } from '../config/schema.js';
import type { UpstreamControlConfig } from '../control/schema.js';
import { LimitPlan, type BucketSet, type TenantPlan } from '../limits/limitPlan.js';
import { RouteTable } from '../routes/routeTable.js';
import { defaultUpstreamName, gateLimit, roomCanHold, roomLimit, tenantWithoutOverride } from './checkFindings.js';
import { bucketText, formatTable } from './format.js';

export function describeConfig(config: Readonly<Config>): string {
  return [routeListing(config), roomLine(config), controlLine(config), tenantOverrides(config)].filter((s) => s !== '').join('');
}

/** The route table: every rule in order, then the fallback, with what applies to each; then the bypass rules. */
export function routeListing(config: Readonly<Config>): string {
  const table = new RouteTable(config.routes);
  const plan = new LimitPlan(config.limits);
  const tenantId = tenantWithoutOverride(config);
  const tenant = plan.tenantPlan(tenantId);
  const defaultUpstream = defaultUpstreamName(config);
  const canHold = roomCanHold(config);
  const header = ['#', 'route', 'match', 'class', 'cost', 'queued', 'bypass', 'upstream', 'limits'];
  const rows = table.describe().map((r) => {
    const route = r.index === -1 ? undefined : table.routes[r.index];
    const upstream = r.upstream ?? defaultUpstream;
    let limits: string;
    if (r.bypass) limits = 'none (bypass)';
    else {
      const routeLimits = route?.limits?.rate !== undefined ? { name: route.name, rate: route.limits.rate, burst: route.limits.burst } : null;
      const parts = buckets(plan.httpBuckets(tenantId, 'check', r.class, routeLimits));
      const caps = concurrency(config, upstream, route?.limits?.concurrency, tenant);
      if (caps !== '') parts.push(caps);
      limits = parts.length === 0 ? 'none configured' : parts.join('; ');
    }
    return [
      r.index === -1 ? '-' : String(r.index),
      r.name + (r.shadowedBy ? ` (never matches: shadowed by ${r.shadowedBy})` : ''),
      r.match,
      r.class,
      String(r.cost),
      !r.bypass && canHold ? 'yes' : 'no',
      r.bypass ? 'YES' : 'no',
      upstream,
      limits,
    ];
  });
  let out = `routes (first match wins; "default" takes anything else; limits of a tenant without an override):\n${formatTable([header, ...rows])}\n`;
  const bypass = table.bypassRoutes();
  out +=
    bypass.length === 0
      ? 'bypass: no route bypasses rate limits and the waiting room.\n'
      : `bypass (never rate limited, never queued): ${bypass.map((r) => `${r.name} (${r.path ?? 'every path'})`).join(', ')}\n`;
  return out;
}

function buckets(set: BucketSet): string[] {
  return [...set.enforcedInfo, ...set.shadowInfo].map((b) => `${b.name} ${bucketText(b)}`);
}

/** The in-flight caps of a request: its upstream's (as the concurrency gate holds it), its route's, its tenant's. */
function concurrency(config: Readonly<Config>, upstream: string, route: number | undefined, tenant: TenantPlan): string {
  const caps: string[] = [];
  const limit = gateLimit(config, upstream);
  if (limit !== undefined) caps.push(`upstream ${limit.text}${limit.source === `upstreams.${upstream}.concurrency` ? '' : ` (${limit.source})`}`);
  if (route !== undefined) caps.push(`route ${route}`);
  if (tenant.concurrency !== Infinity) caps.push(`tenant ${tenant.concurrency}`);
  return caps.length === 0 ? '' : `concurrency: ${caps.join(', ')}`;
}

function roomLine(config: Readonly<Config>): string {
  const r = config.room;
  const name = defaultUpstreamName(config);
  if (r.mode === 'open') return `room: mode open: nobody waits in the room (concurrency caps still hold)\n`;
  if (!roomCanHold(config)) return `room: mode ${r.mode}: never holds anyone (${name} has no in-flight limit)\n`;
  const limit = roomLimit(config);
  const outflow = [
    r.sessionsPerMinute !== undefined ? `${r.sessionsPerMinute} new sessions/min` : '',
    r.maxActiveSessions !== undefined ? `${r.maxActiveSessions} active sessions` : '',
  ].filter((s) => s !== '');
  return `room: mode ${r.mode}, lets people in while ${name} has fewer than ${limit === undefined ? 'no limit' : `${limit.value} in flight (${limit.source})`}${outflow.length > 0 ? ` and within ${outflow.join(', ')}` : ''}; holds API requests ${r.hold.apiMs} ms, websocket upgrades ${r.hold.websocketMs} ms\n`;
}

function controlLine(config: Readonly<Config>): string {
  const entries = Object.entries(config.control.upstreams);
  if (entries.length === 0) return 'control: none (no upstream engages the room by its signals)\n';
  return entries.map(([name, c]) => `control: ${name} engages on ${thresholds(c, 'engage')}; sheds on ${thresholds(c, 'shed')}\n`).join('');
}

/** `latencyP95Ms > 800, dbConnections.postgres > 80% (for 5 s)`, or `nothing`. */
export function thresholds(c: UpstreamControlConfig, stage: 'engage' | 'shed'): string {
  const s = c[stage];
  const parts: string[] = [];
  if (s.latencyP95Ms !== undefined) parts.push(`latencyP95Ms > ${s.latencyP95Ms}`);
  if (s.errorRate !== undefined) parts.push(`errorRate > ${s.errorRate}`);
  if (s.eventLoopDelayMs !== undefined) parts.push(`eventLoopDelayMs > ${s.eventLoopDelayMs}`);
  for (const [source, value] of Object.entries(s.dbConnections ?? {})) {
    if (value === undefined) continue;
    const above = typeof value === 'object' ? value.above : value;
    parts.push(`dbConnections.${source} > ${above}`);
  }
  return parts.length === 0 ? 'nothing' : `${parts.join(', ')} (for ${s.forS} s)`;
}

function tenantOverrides(config: Readonly<Config>): string {
  const ids = Object.keys(config.limits.tenants);
  if (ids.length === 0) return '';
  const plan = new LimitPlan(config.limits);
  const lines = ids.map((id) => {
    const t = plan.tenantPlan(id);
    const parts: string[] = [];
    if (t.tenant) parts.push(`tenant ${bucketText(t.tenant)}`);
    for (const [cls, b] of Object.entries(t.classes)) parts.push(`tenant-${cls} ${bucketText(b)}`);
    if (t.concurrency !== Infinity) parts.push(`concurrency ${t.concurrency}`);
    if (t.websocketsOpen !== Infinity) parts.push(`websockets open ${t.websocketsOpen}`);
    return `  ${id}: ${parts.length === 0 ? 'no limits' : parts.join('; ')}\n`;
  });
  return `tenant overrides (limits.tenants; every other tenant gets limits.tenant):\n${lines.join('')}`;
}

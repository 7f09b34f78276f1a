/**
 * What the proxy would do with one request under a config, phase by phase, naming the config entry
 * behind each answer: who is asking (the real IdentityResolver, the real trusted-proxy walk), which
 * route (the real RouteTable), which buckets and caps (the real LimitPlan), and what admit does in
 * each controller state (the real shed policy). Nothing here matches or decides on its own; it only
 * puts into words what those parts answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Config } from '../config/schema.js';
import { classAction, type ClassAction } from '../control/shedPolicy.js';
import type { ControlState } from '../control/stateMachine.js';
import { clientAddress, trustedProxyList } from '../identity/clientAddress.js';
import { clientSourceLabel, IdentityResolver, tenantSourceLabel, type Identity } from '../identity/identityResolver.js';
import { LimitPlan, type BucketSet, type NamedBucket } from '../limits/limitPlan.js';
import { STATUS_PATH } from '../room/page/status.js';
import { bypassRisk } from '../routes/bypassRisk.js';
import { RouteTable, type Route } from '../routes/routeTable.js';
import { OWN_PREFIX } from '../server/ownEndpoints.js';
import { defaultUpstreamName, gateLimit, roomCanHold, roomLimit } from './checkFindings.js';
import { thresholds } from './configOverview.js';
import { bucketSource, bucketText, formatTable, routeLabel } from './format.js';

/** A request as the pipeline sees it after accept. */
export interface RequestToExplain {
  readonly method: string;
  /** As given on the command line, for the first line. */
  readonly target: string;
  /** The host asked for, without port (accept: from the Host header). */
  readonly host: string;
  /** Path without the query string, as received. */
  readonly path: string;
  /** Header names in lower case, repeated headers joined as Node joins them. */
  readonly headers: IncomingHttpHeaders;
  /** The socket peer's address. */
  readonly peer: string;
}

const STATES: readonly ControlState[] = ['open', 'queueing', 'shedding'];

export function explainRequest(config: Readonly<Config>, req: RequestToExplain): string {
  const browser = (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
  const upgrade = req.headers.upgrade !== undefined && /(^|,)\s*upgrade\s*(,|$)/i.test(String(req.headers.connection ?? ''));
  const kind = upgrade ? 'websocket' : browser ? 'browser' : 'api';
  let out = `request   ${req.method} ${req.target}${req.target.startsWith('/') ? ` (host ${req.host})` : ''}\n`;
  out += `kind      ${upgrade ? 'websocket upgrade' : browser ? 'browser navigation (GET/HEAD accepting text/html)' : 'API request (not a browser navigation)'}\n`;
  if (req.headers.upgrade !== undefined && !upgrade) out += `          (an Upgrade header without "Connection: upgrade" is a plain request)\n`;
  if (req.path === STATUS_PATH || req.path.startsWith(OWN_PREFIX)) {
    return `${out}\ndecision  answered by anteroom itself (${OWN_PREFIX}...), never forwarded: ${req.path === STATUS_PATH ? 'the waiting room status endpoint' : 'its own endpoints'}\n`;
  }

  // identify
  const trusted = trustedProxyList(config.identity.trustedProxies);
  const peerTrusted = config.identity.trustedProxies.length > 0 && trusted.check(req.peer, isIPv6(req.peer) ? 'ipv6' : 'ipv4');
  const xff = req.headers['x-forwarded-for'];
  const chain = peerTrusted && xff !== undefined ? (Array.isArray(xff) ? xff.join(', ') : xff) : '';
  const clientIp = chain === '' ? req.peer : clientAddress(req.peer, chain, trusted);
  const resolver = new IdentityResolver(config.identity, { hashSecret: config.secret });
  const who = resolver.resolve(req.host, req.path, req.headers, clientIp);

  // route
  const table = new RouteTable(config.routes);
  const { index, route } = table.match(req.method, req.host, req.path, req.headers);
  const at = index === -1 ? 'default route' : `routes[${index}]`;
  const match = index === -1 ? '(anything else)' : table.describe()[index]!.match;
  const upstream = route.upstream ?? defaultUpstreamName(config);
  const upstreamSource = route.upstream !== undefined ? `${at}.upstream` : config.defaultUpstream !== undefined ? 'defaultUpstream' : 'the first of upstreams (no defaultUpstream)';

  out += formatTable([
    ['address', clientIp, chain === '' ? (peerTrusted ? `peer ${req.peer} is a trusted proxy but sent no X-Forwarded-For` : `the peer (--ip)`) : `X-Forwarded-For, read past identity.trustedProxies (peer ${req.peer})`],
    ['tenant', who.tenant, tenantSource(config, who)],
    ['client', who.clientKey, clientSource(config, who)],
    ['route', routeLabel(index, route), `matches ${match}`],
    ['class', route.class, index === -1 ? 'the default route is always normal' : `${at}.class`],
    ['cost', `${route.cost} token${route.cost === 1 ? '' : 's'}`, index === -1 ? 'the default route always costs 1' : `${at}.cost`],
    ['upstream', upstream, upstreamSource],
  ]).replace(/^ {2}/gm, '');

  const plan = new LimitPlan(config.limits);
  const warnings: string[] = [];
  if (route.bypass) {
    out += `\nlimits    none: ${routeLabel(index, route)} bypasses rate limits, concurrency caps and the waiting room\n`;
    const risk = bypassRisk(route);
    if (risk !== undefined) warnings.push(`${routeLabel(index, route)}: bypass: ${risk}`);
  } else if (upgrade) {
    out += websocketLimits(config, plan, who);
  } else {
    const routeLimits = route.limits?.rate !== undefined ? { name: route.name, rate: route.limits.rate, burst: route.limits.burst } : null;
    out += rateLimits(plan.httpBuckets(who.tenant, who.clientKey, route.class, routeLimits), route.cost, index, warnings);
    out += concurrencyCaps(config, upstream, index, route, who.tenant, plan);
  }
  out += decisions(config, route, index, upstream, kind, who);
  if (warnings.length > 0) out += `\n${warnings.map((w) => `warning: ${w}\n`).join('')}`;
  return out;
}

function tenantSource(config: Readonly<Config>, who: Identity): string {
  if (who.tenantSource === 'default') {
    return `identity.defaultTenant (${config.identity.tenant.length === 0 ? 'identity.tenant names no source' : 'no tenant source yielded a usable id'})`;
  }
  const i = config.identity.tenant.findIndex((s) => tenantSourceLabel(s) === who.tenantSource);
  const own = config.limits.tenants[who.tenant] !== undefined ? `; limits.tenants.${who.tenant} applies` : '; no limits.tenants entry, limits.tenant applies';
  return `identity.tenant[${i}] (${who.tenantSource.replace(':', ': ')})${own}`;
}

function clientSource(config: Readonly<Config>, who: Identity): string {
  const key = who.clientKey;
  const hashed = config.secret === '' ? 'a SHA-256 hash of the value (secret is empty)' : 'an HMAC of the value under the secret';
  const what = key.startsWith('ip:')
    ? `the client address${key.includes(':', 3) && config.identity.ipv6Prefix < 128 ? `, grouped by /${config.identity.ipv6Prefix} (identity.ipv6Prefix)` : ''}`
    : key.startsWith('j:')
      ? 'the subject of a verified JWT'
      : `${hashed}, never the value itself`;
  if (who.clientSource === 'ip (fallback)') return `identity.client (no source yielded; the address is the last resort): ${what}`;
  const i = config.identity.client.findIndex((s) => clientSourceLabel(s) === who.clientSource);
  return `identity.client[${i}] (${who.clientSource.replace(':', ': ')}): ${what}`;
}

function rateLimits(set: BucketSet, cost: number, routeIndex: number, warnings: string[]): string {
  const rows = [...set.enforcedInfo, ...set.shadowInfo].map((b) => {
    const never = cost > b.burst ? `  always refused: cost ${cost} > burst ${b.burst}` : '';
    if (never !== '' && !b.shadow) warnings.push(`cost ${cost} is above the burst of ${b.burst} of "${b.name}" (${bucketSource(b, routeIndex)}): this request is always refused with 429`);
    return [b.name, bucketText(b), scope(b), bucketSource(b, routeIndex) + never];
  });
  if (rows.length === 0) return '\nrate limits: none configured\n';
  const note = cost === 0 ? 'cost 0: counted, never refused' : 'decided together: tokens are taken from all of them only when all allow';
  return `\nrate limits (${note}):\n${formatTable(rows)}`;
}

function scope(b: NamedBucket): string {
  if (b.name === 'client') return 'per client';
  if (b.name.startsWith('route-')) return 'per client on this route';
  if (b.name === 'tenant') return 'per tenant';
  if (b.name.startsWith('tenant-')) return `per tenant, class ${b.name.slice('tenant-'.length)}`;
  if (b.name === 'ws-client') return 'upgrades per client';
  return 'upgrades of everyone';
}

/** The caps admit's claimFor puts on the request: upstream (as the concurrency gate holds it), route, tenant. */
function concurrencyCaps(config: Readonly<Config>, upstream: string, routeIndex: number, route: Route, tenant: string, plan: LimitPlan): string {
  const rows: string[][] = [];
  const limit = gateLimit(config, upstream);
  if (limit !== undefined) {
    const controlled = config.control.upstreams[upstream] !== undefined ? "; lower while the controller ramps up or adapts" : '';
    rows.push([`upstream ${upstream}`, limit.text, `${limit.source}${controlled}`]);
  }
  if (route.limits?.concurrency !== undefined) rows.push([`route ${route.name}`, String(route.limits.concurrency), `routes[${routeIndex}].limits.concurrency`]);
  const t = plan.tenantPlan(tenant).concurrency;
  if (t !== Infinity) {
    rows.push([`tenant ${tenant}`, String(t), config.limits.tenants[tenant]?.concurrency !== undefined ? `limits.tenants.${tenant}.concurrency` : 'limits.tenant.concurrency']);
  }
  if (rows.length === 0) return '\nconcurrency caps: none\n';
  const { timeoutMs, maxWaiting } = config.limits.wait;
  return `\nconcurrency caps (over one, it waits up to ${timeoutMs} ms among at most ${maxWaiting} for a slot, limits.wait, then 503 ANT_CAPACITY):\n${formatTable(rows)}`;
}

function websocketLimits(config: Readonly<Config>, plan: LimitPlan, who: Identity): string {
  const set = plan.websocketBuckets(who.tenant, who.clientKey);
  const global = plan.websocketGlobalBuckets();
  const rows = [...set.enforcedInfo, ...set.shadowInfo, ...global.enforcedInfo, ...global.shadowInfo].map((b) => [b.name, bucketText(b), scope(b), b.source]);
  const open = plan.tenantPlan(who.tenant).websocketsOpen;
  if (open !== Infinity) {
    const own = config.limits.tenants[who.tenant]?.websocketsOpen;
    const source = own !== undefined ? `limits.tenants.${who.tenant}.websocketsOpen` : config.limits.tenant.websocketsOpen !== undefined ? 'limits.tenant.websocketsOpen' : 'limits.websocket.perTenantOpen';
    rows.push(['open', `${open} at once`, `websockets of tenant ${who.tenant}`, source]);
  }
  const refuse = config.limits.websocket.refuseWith === 'close' ? 'completed and closed at once with 1013 and retryAfterMs' : 'answered 429';
  let out = '\nwebsocket limits (the HTTP buckets do not apply to an upgrade; once open it holds no concurrency slot):\n';
  out += rows.length === 0 ? '  none configured\n' : formatTable(rows);
  return `${out}  a refused upgrade is ${refuse} (limits.websocket.refuseWith: ${config.limits.websocket.refuseWith})\n`;
}

function decisions(config: Readonly<Config>, route: Route, index: number, upstream: string, kind: 'browser' | 'api' | 'websocket', who: Identity): string {
  const control = config.control.upstreams[upstream];
  const head = control
    ? `decision in each state of ${upstream} (control.upstreams.${upstream} engages on ${thresholds(control, 'engage')}; sheds on ${thresholds(control, 'shed')}):`
    : `decision in each state of ${upstream} (no control.upstreams.${upstream}: the state stays open unless an operator changes it):`;
  const rows: string[][] = [['blocked', 'refuse', `403 ANT_BLOCKED when the admin API blocks tenant ${who.tenant}, this client or route ${route.name}, before any limit`]];
  if (route.bypass) {
    rows.push(['every state', 'bypass', `forwarded straight to ${upstream}: no rate limit, no concurrency slot, never queued [${routeLabel(index, route)}: bypass: true]`]);
    return `\n${head}\n${formatTable(rows)}`;
  }
  rows.push(['limited', 'refuse', `429 ANT_RATE_LIMITED with Retry-After when a bucket above is empty, in every state`]);
  for (const state of STATES) {
    const action = classAction(state, route.class);
    rows.push([state, action, stateText(config, state, action, kind, route, index, upstream)]);
  }
  let out = `\n${head}\n${formatTable(rows)}`;
  if (config.room.mode !== 'open' && roomCanHold(config)) {
    const slot = kind === 'websocket' ? '' : '; it only waits for a concurrency slot';
    out += `  a client with a valid admission session (cookie ${config.room.cookies.session}) is not queued again${slot}\n`;
  }
  return out;
}

function stateText(config: Readonly<Config>, state: ControlState, action: ClassAction, kind: 'browser' | 'api' | 'websocket', route: Route, index: number, upstream: string): string {
  const r = config.room;
  const roomUpstream = defaultUpstreamName(config);
  if (action === 'refuse') return `503 ANT_SHED with Retry-After: ${route.class} traffic is shed first [control.upstreams.${upstream}.shed; ${index === -1 ? 'default route' : `routes[${index}]`}.class]`;
  if (r.mode === 'open') return `goes on: nobody waits in the room [room.mode: open]`;
  if (!roomCanHold(config)) return `goes on at once: ${roomUpstream} has no in-flight limit, so the room never holds anyone [room.concurrency, upstreams.${roomUpstream}.concurrency unset]`;
  if (action === 'admit' && state === 'shedding') return `skips the room but still takes an in-flight slot: ${route.class} traffic is never shed [shed policy]`;
  if (action === 'admit' && r.mode === 'auto') {
    const limit = roomLimit(config);
    const below = limit === undefined ? "and the room's session limits allow it" : `and ${roomUpstream} has fewer than ${limit.value} in flight`;
    return `goes on at once while nobody waits in the room ${below}; otherwise it waits as in queueing [room.mode: auto${limit === undefined ? '' : `; ${limit.source}`}]`;
  }
  const why = r.mode === 'queue-all' && state === 'open' ? ' [room.mode: queue-all: every newcomer waits]' : '';
  switch (kind) {
    case 'browser':
      return `gets the waiting page (503 ANT_QUEUED) with its place and wait estimate, and a session once let in${why}`;
    case 'api':
      return `held up to ${r.hold.apiMs} ms [room.hold.apiMs]: goes through untouched if let in by then, else 503 ANT_QUEUE_TIMEOUT with a ticket that keeps its place${why}`;
    case 'websocket':
      return `held up to ${r.hold.websocketMs} ms [room.hold.websocketMs]: goes through if let in by then, else closed with 1013 and the ticket in a cookie${why}`;
  }
}

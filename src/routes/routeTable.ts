/**
 * The route rules, compiled once per config into matchers: methods as a list, hosts as an exact
 * string or a suffix, path globs as a prefix test or one RegExp, header conditions as exact strings
 * or RegExps. `match` walks the rules in order and returns the first that matches; it allocates
 * nothing, because every possible answer (one frozen RouteMatch per rule, and the fallback) is built
 * here.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { formatRate } from '../limits/rate.js';
import { compileGlob, type PathMatcher } from './glob.js';
import { compileHeaderCondition, headerMatches, type HeaderCondition } from './headerCondition.js';
import { normalizePath } from './normalizePath.js';
import type { RouteClass, RouteConfig, RouteLimits } from './schema.js';
import { findShadowed, type Shadowing } from './shadowing.js';

/** A rule as the rest of anteroom sees it: what it decides, and the conditions it was written with. */
export interface Route {
  readonly name: string;
  readonly class: RouteClass;
  readonly cost: number;
  readonly bypass: boolean;
  /** Left out of the latency and error-rate signals (responses that wait for events). */
  readonly longPoll: boolean;
  readonly upstream?: string;
  readonly limits?: Readonly<RouteLimits>;
  readonly host?: string;
  readonly methods?: readonly string[];
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RouteMatch {
  /** Position of the rule in `routes`; -1 for the fallback. */
  readonly index: number;
  readonly route: Route;
}

/** What a request that no rule matches gets. */
export const FALLBACK_ROUTE: Route = Object.freeze({ name: 'default', class: 'normal', cost: 1, bypass: false, longPoll: false });
export const FALLBACK_MATCH: RouteMatch = Object.freeze({ index: -1, route: FALLBACK_ROUTE });

/** One line of `anteroom check`'s route listing. */
export interface RouteRow {
  /** -1 for the fallback row, which comes last. */
  readonly index: number;
  readonly name: string;
  /** The conditions in one line, e.g. `GET,HEAD *.example.com /api/** x-client=mobile`; `*` for any request. */
  readonly match: string;
  readonly class: RouteClass;
  readonly cost: number;
  readonly bypass: boolean;
  readonly upstream: string | undefined;
  /** e.g. `rate 20/s, burst 40, concurrency 5`; empty when the route has no overrides. */
  readonly limits: string;
  /** Name of an earlier rule that takes every request this one would match. */
  readonly shadowedBy: string | undefined;
}

interface CompiledRule {
  readonly result: RouteMatch;
  readonly methods: readonly string[] | undefined;
  readonly hostExact: string | undefined;
  /** `.example.com` for `*.example.com`. */
  readonly hostSuffix: string | undefined;
  readonly path: PathMatcher | undefined;
  readonly headers: readonly HeaderCondition[];
}

export class RouteTable {
  /** The rules in order, frozen. */
  readonly routes: readonly Route[];
  private readonly rules: readonly CompiledRule[];
  private readonly anyHost: boolean;

  /** @param rules the validated `routes` section (output of routesSchema). Throws on a pattern the schema would refuse. */
  constructor(rules: readonly RouteConfig[]) {
    this.routes = Object.freeze(rules.map(toRoute));
    this.rules = this.routes.map((route, index) => compileRule(route, index));
    this.anyHost = this.rules.some((r) => r.hostExact !== undefined || r.hostSuffix !== undefined);
  }

  /**
   * The first rule that matches, or FALLBACK_MATCH.
   * @param host the host the client asked for, without port
   * @param path the request path without the query string, as received; it is normalised for
   *   matching (see normalizePath) so dot segments cannot steer a request into another route
   */
  match(method: string, host: string, path: string, headers: IncomingHttpHeaders): RouteMatch {
    const normalPath = normalizePath(path);
    const normalHost = this.anyHost ? host.toLowerCase() : host;
    for (const rule of this.rules) {
      if (rule.methods !== undefined && !rule.methods.includes(method)) continue;
      if (rule.hostExact !== undefined && normalHost !== rule.hostExact) continue;
      if (rule.hostSuffix !== undefined && !(normalHost.endsWith(rule.hostSuffix) && normalHost.length > rule.hostSuffix.length)) continue;
      if (rule.path !== undefined && !rule.path.test(normalPath)) continue;
      if (!allHeadersMatch(rule.headers, headers)) continue;
      return rule.result;
    }
    return FALLBACK_MATCH;
  }

  /** Rules that can never match because an earlier rule takes all their requests. */
  shadowed(): Shadowing[] {
    return findShadowed(this.routes);
  }

  /** The route listing of `anteroom check`: every rule in order, then the fallback. */
  describe(): RouteRow[] {
    const shadowedBy = new Map(this.shadowed().map((s) => [s.index, this.routes[s.by]!.name]));
    const rows: RouteRow[] = this.routes.map((route, index) => row(route, index, shadowedBy.get(index)));
    rows.push({ ...row(FALLBACK_ROUTE, -1, undefined), match: '(anything else)' });
    return rows;
  }

  /** The rules that send requests past rate limits and the waiting room. */
  bypassRoutes(): Route[] {
    return this.routes.filter((r) => r.bypass);
  }
}

function toRoute(rule: RouteConfig, index: number): Route {
  const route: {
    -readonly [K in keyof Route]: Route[K];
  } = { name: rule.name ?? `routes[${index}]`, class: rule.class, cost: rule.cost, bypass: rule.bypass, longPoll: rule.longPoll };
  if (rule.upstream !== undefined) route.upstream = rule.upstream;
  if (rule.limits !== undefined) route.limits = Object.freeze({ ...rule.limits });
  if (rule.host !== undefined) route.host = rule.host;
  if (rule.methods !== undefined) route.methods = Object.freeze([...new Set(rule.methods)]);
  if (rule.path !== undefined) route.path = rule.path;
  if (rule.headers !== undefined) {
    route.headers = Object.freeze(Object.fromEntries(Object.entries(rule.headers).map(([name, value]) => [name.toLowerCase(), value])));
  }
  return Object.freeze(route);
}

function compileRule(route: Route, index: number): CompiledRule {
  const wildcard = route.host?.startsWith('*.') === true;
  return {
    result: Object.freeze({ index, route }),
    methods: route.methods,
    hostExact: wildcard ? undefined : route.host,
    hostSuffix: wildcard ? route.host!.slice(1) : undefined,
    path: route.path === undefined ? undefined : compileGlob(route.path),
    headers: Object.entries(route.headers ?? {}).map(([name, value]) => compileHeaderCondition(name, value)),
  };
}

function allHeadersMatch(conditions: readonly HeaderCondition[], headers: IncomingHttpHeaders): boolean {
  for (const condition of conditions) if (!headerMatches(condition, headers)) return false;
  return true;
}

function row(route: Route, index: number, shadowedBy: string | undefined): RouteRow {
  const conditions: string[] = [];
  if (route.methods !== undefined) conditions.push(route.methods.join(','));
  if (route.host !== undefined) conditions.push(route.host);
  if (route.path !== undefined) conditions.push(route.path);
  for (const [name, value] of Object.entries(route.headers ?? {})) conditions.push(`${name}=${value}`);
  const limits: string[] = [];
  if (route.limits?.rate !== undefined) limits.push(`rate ${formatRate(route.limits.rate)}`);
  if (route.limits?.burst !== undefined) limits.push(`burst ${route.limits.burst}`);
  if (route.limits?.concurrency !== undefined) limits.push(`concurrency ${route.limits.concurrency}`);
  return {
    index,
    name: route.name,
    match: conditions.length === 0 ? '*' : conditions.join(' '),
    class: route.class,
    cost: route.cost,
    bypass: route.bypass,
    upstream: route.upstream,
    limits: limits.join(', '),
    shadowedBy,
  };
}

/**
 * Resolves who is asking: the tenant (whose limits and queue apply) and the client key (whose
 * per-client limits apply). Built once per config; `resolve` is synchronous and allocates little
 * beyond its answer, because it runs on every request.
 *
 * Client keys are namespaced by source (`s:`, `k:`, `j:`, `ip:`) so that, say, an API key whose hash
 * happened to look like an address can never share a bucket with that address. Secrets (session
 * cookies, API keys) are hashed before they become keys, so keys can be logged, stored in Redis and
 * shown on the admin API without leaking a credential.
 */
import { createHmac, hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { readCookie } from './cookies.js';
import { ipKey } from './ipKey.js';
import { loadJwtKeys, type KeyProblem } from './jwtKeys.js';
import { JwtVerifier, type JwtClaims } from './jwtVerifier.js';
import { TENANT_ID, type IdentityConfig } from './schema.js';

export interface Identity {
  tenant: string;
  /** Which source gave the tenant, e.g. `header:x-tenant-id`, `host:{tenant}.example.com`, `default`. */
  tenantSource: string;
  /** `s:<hash>` (session cookie), `k:<hash>` (API key), `j:<sub>` (JWT subject), `ip:<address or prefix>`. */
  clientKey: string;
  /** Which source gave the client key, e.g. `cookie:session_id`, `jwt:sub`, `ip`. */
  clientSource: string;
  /** `sub` of a JWT verified while resolving, if a JWT source was consulted and its token verified. */
  subject: string | undefined;
}

export interface IdentityResolverOptions {
  /** Milliseconds since the epoch, for JWT expiry. */
  now?: () => number;
  /**
   * When set, secrets are keyed with HMAC-SHA-256 instead of plain SHA-256, so a leaked log or Redis
   * dump cannot be used to test guesses of low-entropy session ids or API keys. Every instance sharing
   * a store must use the same one; changing it resets per-client limits.
   */
  hashSecret?: string | Buffer;
}

/** The configured JWT keys could not all be loaded; `problems` name the keys and what is wrong. */
export class IdentityConfigError extends Error {
  readonly problems: readonly KeyProblem[];
  constructor(problems: readonly KeyProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'IdentityConfigError';
    this.problems = problems;
  }
}

/** Where a token is read from: a header (`Bearer ` stripped) or a cookie. */
interface TokenLocation {
  readonly header: string | undefined;
  readonly cookie: string | undefined;
}

type TenantSource =
  | { kind: 'header'; label: string; name: string }
  | { kind: 'host'; label: string; prefix: string; suffix: string }
  | { kind: 'path'; label: string; prefix: string; rest: string }
  | { kind: 'cookie'; label: string; name: string }
  | { kind: 'jwt'; label: string; claim: string; from: TokenLocation };

type ClientSource =
  | { kind: 'cookie'; label: string; name: string }
  | { kind: 'header'; label: string; name: string }
  | { kind: 'jwt'; label: string; from: TokenLocation }
  | { kind: 'ip'; label: string };

/** Subjects kept readable in keys; anything else (long, odd characters, colons) is hashed. */
const PLAIN_SUBJECT = /^[A-Za-z0-9_.@|+-]{1,128}$/;
/** base64url characters kept from the digest: 132 bits, plenty against collisions, short in keys. */
const HASH_CHARS = 22;
const BEARER = /^bearer +/i;
const DEFAULT_TOKEN_LOCATION: TokenLocation = { header: 'authorization', cookie: undefined };

export class IdentityResolver {
  /** The JWT verifier, when identity.jwt is configured (for cache stats and `anteroom explain`). */
  readonly jwt: JwtVerifier | null;
  private readonly tenantSources: readonly TenantSource[];
  private readonly clientSources: readonly ClientSource[];
  private readonly defaultTenant: string;
  private readonly ipv6Prefix: number;
  private readonly hashSecret: string | Buffer | undefined;

  /** @throws IdentityConfigError when a JWT key file cannot be read or a key cannot be used. */
  constructor(config: IdentityConfig, options: IdentityResolverOptions = {}) {
    this.defaultTenant = config.defaultTenant;
    this.ipv6Prefix = config.ipv6Prefix;
    this.hashSecret = options.hashSecret === undefined || options.hashSecret.length === 0 ? undefined : options.hashSecret;
    if (config.jwt !== undefined) {
      const { keys, problems } = loadJwtKeys(config.jwt);
      if (problems.length > 0) throw new IdentityConfigError(problems);
      this.jwt = new JwtVerifier(keys, {
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        leewayS: config.jwt.leewayS,
        requireExp: config.jwt.requireExp,
        cacheSize: config.jwt.cacheSize,
        ...(options.now ? { now: options.now } : {}),
      });
    } else {
      this.jwt = null;
    }
    const locations = new Map<string, TokenLocation>();
    this.tenantSources = config.tenant.map((s) => compileTenantSource(s, locations));
    this.clientSources = config.client.map((s) => compileClientSource(s, locations));
  }

  /**
   * @param host the host the client asked for, without port
   * @param path the request path without the query string
   * @param clientIp the resolved client address (after trusted proxies)
   */
  resolve(host: string, path: string, headers: IncomingHttpHeaders, clientIp: string): Identity {
    // Tenant and client sources often read the same token; it is looked up once per request.
    let tokenFrom: TokenLocation | null = null;
    let tokenClaims: JwtClaims | null = null;
    let subject: string | undefined;
    let tenant = this.defaultTenant;
    let tenantSource = 'default';
    for (const source of this.tenantSources) {
      let value: string | undefined;
      switch (source.kind) {
        case 'header':
          value = headerValue(headers, source.name);
          break;
        case 'host':
          value = tenantFromHost(host, source.prefix, source.suffix);
          break;
        case 'path':
          value = tenantFromPath(path, source.prefix, source.rest);
          break;
        case 'cookie':
          value = readCookie(headers.cookie, source.name);
          break;
        case 'jwt': {
          if (tokenFrom !== source.from) {
            tokenClaims = this.claims(headers, source.from);
            tokenFrom = source.from;
          }
          const claims = tokenClaims;
          if (claims === null) break;
          subject ??= subjectOf(claims);
          const claim = claims[source.claim];
          if (typeof claim === 'string') value = claim;
          else if (typeof claim === 'number' && Number.isSafeInteger(claim) && claim >= 0) value = String(claim);
          break;
        }
      }
      if (value !== undefined && TENANT_ID.test(value)) {
        tenant = value;
        tenantSource = source.label;
        break;
      }
    }

    let clientKey = '';
    let clientSource = '';
    for (const source of this.clientSources) {
      switch (source.kind) {
        case 'cookie': {
          const value = readCookie(headers.cookie, source.name);
          if (value) clientKey = `s:${this.digest(value)}`;
          break;
        }
        case 'header': {
          const value = headerValue(headers, source.name);
          if (value !== undefined) clientKey = `k:${this.digest(value)}`;
          break;
        }
        case 'jwt': {
          if (tokenFrom !== source.from) {
            tokenClaims = this.claims(headers, source.from);
            tokenFrom = source.from;
          }
          const sub = tokenClaims === null ? undefined : subjectOf(tokenClaims);
          if (sub === undefined) break;
          subject ??= sub;
          clientKey = PLAIN_SUBJECT.test(sub) ? `j:${sub}` : `jh:${this.digest(sub)}`;
          break;
        }
        case 'ip':
          clientKey = ipKey(clientIp, this.ipv6Prefix);
          break;
      }
      if (clientKey !== '') {
        clientSource = source.label;
        break;
      }
    }
    if (clientKey === '') {
      // No listed source yielded (and `ip` was not listed, as it always yields): the address is the
      // identity left, so that a request without cookie or API key is still limited per client.
      clientKey = ipKey(clientIp, this.ipv6Prefix);
      clientSource = 'ip (fallback)';
    }
    // One object shape for every answer, subject or not.
    return { tenant, tenantSource, clientKey, clientSource, subject };
  }

  /** The names of the session cookies among the client sources; a session can be blocked only when there is one. */
  get sessionCookies(): readonly string[] {
    return this.clientSources.flatMap((s) => (s.kind === 'cookie' ? [s.name] : []));
  }

  /** The key of a session cookie's value: the client key a request with that cookie gets from it. */
  sessionKey(value: string): string {
    return `s:${this.digest(value)}`;
  }

  /**
   * The keys of every session cookie (a `cookie` client source) the Cookie header carries, whichever
   * source gave the client key: a blocked session stays blocked when the request also has an API key.
   */
  sessionKeys(cookieHeader: string | undefined): string[] {
    const keys: string[] = [];
    if (cookieHeader === undefined) return keys;
    for (const source of this.clientSources) {
      if (source.kind !== 'cookie') continue;
      const value = readCookie(cookieHeader, source.name);
      if (value) keys.push(this.sessionKey(value));
    }
    return keys;
  }

  private claims(headers: IncomingHttpHeaders, from: TokenLocation): JwtClaims | null {
    if (this.jwt === null) return null;
    let token: string | undefined;
    if (from.header !== undefined) {
      token = headerValue(headers, from.header);
      if (token !== undefined) {
        const bearer = BEARER.exec(token);
        // Authorization carries other schemes too (Basic, Digest): only a Bearer credential is a JWT.
        if (bearer) token = token.slice(bearer[0].length);
        else if (from.header === 'authorization') token = undefined;
      }
    } else {
      token = readCookie(headers.cookie, from.cookie!);
    }
    return token ? this.jwt.verify(token) : null;
  }

  private digest(value: string): string {
    const full =
      this.hashSecret === undefined
        ? hash('sha256', value, 'base64url')
        : createHmac('sha256', this.hashSecret).update(value).digest('base64url');
    return full.slice(0, HASH_CHARS);
  }
}

function compileTenantSource(s: IdentityConfig['tenant'][number], locations: Map<string, TokenLocation>): TenantSource {
  const label = tenantSourceLabel(s);
  if (s.header !== undefined) return { kind: 'header', label, name: s.header };
  if (s.hostPattern !== undefined) {
    const [prefix, suffix] = s.hostPattern.split('{tenant}') as [string, string];
    return { kind: 'host', label, prefix, suffix };
  }
  if (s.pathPrefix !== undefined) {
    const [prefix, rest] = s.pathPrefix.split('{tenant}') as [string, string];
    return { kind: 'path', label, prefix, rest };
  }
  if (s.cookie !== undefined) return { kind: 'cookie', label, name: s.cookie };
  return { kind: 'jwt', label, claim: s.jwtClaim!, from: tokenLocation(s.from, locations) };
}

function compileClientSource(s: IdentityConfig['client'][number], locations: Map<string, TokenLocation>): ClientSource {
  const label = clientSourceLabel(s);
  if (s.cookie !== undefined) return { kind: 'cookie', label, name: s.cookie };
  if (s.header !== undefined) return { kind: 'header', label, name: s.header };
  if (s.jwtSubject !== undefined) return { kind: 'jwt', label, from: tokenLocation(s.from, locations) };
  return { kind: 'ip', label };
}

/** The `tenantSource` a tenant source entry gives, e.g. `header:x-tenant-id`, `host:{tenant}.example.com`. */
export function tenantSourceLabel(s: IdentityConfig['tenant'][number]): string {
  if (s.header !== undefined) return `header:${s.header}`;
  if (s.hostPattern !== undefined) return `host:${s.hostPattern}`;
  if (s.pathPrefix !== undefined) return `path:${s.pathPrefix}`;
  if (s.cookie !== undefined) return `cookie:${s.cookie}`;
  return `jwt:${s.jwtClaim!}`;
}

/** The `clientSource` a client source entry gives, e.g. `cookie:session_id`, `jwt:sub`, `ip`. */
export function clientSourceLabel(s: IdentityConfig['client'][number]): string {
  if (s.cookie !== undefined) return `cookie:${s.cookie}`;
  if (s.header !== undefined) return `header:${s.header}`;
  if (s.jwtSubject !== undefined) return 'jwt:sub';
  return 'ip';
}

/** One object per distinct location, so that resolve can tell by identity that two sources read the same token. */
function tokenLocation(from: { header?: string | undefined; cookie?: string | undefined } | undefined, locations: Map<string, TokenLocation>): TokenLocation {
  const location = from === undefined ? DEFAULT_TOKEN_LOCATION : { header: from.header, cookie: from.cookie };
  const id = location.header !== undefined ? `header:${location.header}` : `cookie:${location.cookie!}`;
  const known = locations.get(id);
  if (known !== undefined) return known;
  locations.set(id, location);
  return location;
}

/** A header's value, or undefined when absent or empty. Repeated headers are joined as Node joins them. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' ? raw : raw.join(', ');
  return value === '' ? undefined : value;
}

/** The label standing for `{tenant}` in the host, if the host fits the pattern; one label, no dots. */
function tenantFromHost(host: string, prefix: string, suffix: string): string | undefined {
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1); // a fully qualified `acme.example.com.` is the same host
  if (h.length <= prefix.length + suffix.length || !h.startsWith(prefix) || !h.endsWith(suffix)) return undefined;
  const label = h.slice(prefix.length, h.length - suffix.length);
  return label.includes('.') ? undefined : label;
}

/** The segment standing for `{tenant}` in the path, if the path fits the pattern. */
function tenantFromPath(path: string, prefix: string, rest: string): string | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const slash = path.indexOf('/', prefix.length);
  const end = slash === -1 ? path.length : slash;
  if (end === prefix.length) return undefined;
  // What follows the segment must follow the pattern too; `/t/{tenant}/` also takes a bare `/t/acme`.
  if (rest !== '' && !path.startsWith(rest, end)) {
    const bare = rest.endsWith('/') && path.length - end === rest.length - 1 && path.startsWith(rest.slice(0, -1), end);
    if (!bare) return undefined;
  }
  return path.slice(prefix.length, end);
}

function subjectOf(claims: JwtClaims): string | undefined {
  const sub = claims['sub'];
  return typeof sub === 'string' && sub !== '' ? sub : undefined;
}

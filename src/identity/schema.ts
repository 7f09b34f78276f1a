/**
 * The `identity` section: who is asking. Tenant and client sources are ordered lists; the first
 * source that yields a usable value wins. Each source is one flat strict object with exactly one kind
 * key, so a typo is an unknown-key error and two kinds in one entry are refused, instead of one of
 * them being silently ignored.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { JWT_ALGS, checkSecretLength, publicKeyFromPem } from './jwtKeys.js';

/**
 * Tenant ids end up in rate-limit keys, Redis keys and metric labels, so only a conservative charset
 * is accepted; a value outside it is ignored as if the source had not yielded. Case is kept: ids such
 * as Clerk's `org_2NMk...` are case-sensitive, and a client that can choose the tenant header can
 * choose any tenant anyway, so folding case would buy no protection.
 */
export const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/; // RFC 9110 token: header and cookie names

const headerName = z
  .string()
  .regex(TOKEN, 'expected an HTTP header name like x-tenant-id')
  .transform((s) => s.toLowerCase());
const cookieName = z.string().regex(TOKEN, 'expected a cookie name like session_id');

/** An IPv4 or IPv6 address or CIDR block, e.g. `10.0.0.0/8`, `::1`, `fd00::/8`. */
const cidr = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'expected an IP address or CIDR block like 10.0.0.0/8');

/** Where a JWT is read from. Default: the `Authorization: Bearer` header. */
const tokenLocation = z
  .strictObject({ header: headerName.optional(), cookie: cookieName.optional() })
  .refine((l) => (l.header === undefined) !== (l.cookie === undefined), 'expected exactly one of { header: NAME } or { cookie: NAME }');

const HOST_PATTERN = /^[a-z0-9.-]*\{tenant\}[a-z0-9.-]*$/;
const PATH_PATTERN = /^\/[^{}?#\s]*\{tenant\}(\/[^{}?#\s]*)?$/;

const TENANT_KINDS = ['header', 'hostPattern', 'pathPrefix', 'cookie', 'jwtClaim'] as const;

export const tenantSourceSchema = z
  .strictObject({
    /** A request header carrying the tenant id, e.g. `x-tenant-id`. */
    header: headerName.optional(),
    /** The tenant is one DNS label of the host, e.g. `{tenant}.example.com`. */
    hostPattern: z
      .string()
      .transform((s) => s.toLowerCase())
      .refine((s) => HOST_PATTERN.test(s), 'expected a host pattern with one {tenant} label, like {tenant}.example.com')
      .optional(),
    /** The tenant is one path segment, e.g. `/t/{tenant}/`. */
    pathPrefix: z
      .string()
      .refine((s) => PATH_PATTERN.test(s), 'expected a path pattern where {tenant} is a whole segment, like /t/{tenant}/')
      .optional(),
    /** A cookie carrying the tenant id. */
    cookie: cookieName.optional(),
    /** A claim of a verified JWT, e.g. `org_id`. The name is taken literally (namespaced claims contain dots). */
    jwtClaim: z.string().min(1).optional(),
    /** Where the JWT is read from (only with jwtClaim). */
    from: tokenLocation.optional(),
  })
  .superRefine((s, ctx) => exactlyOneKind(s, TENANT_KINDS, ctx, 'jwtClaim'));

const CLIENT_KINDS = ['cookie', 'header', 'jwtSubject', 'ip'] as const;

export const clientSourceSchema = z
  .strictObject({
    /** A session cookie; its value is hashed before it becomes a key. */
    cookie: cookieName.optional(),
    /** An API key header; its value is hashed before it becomes a key. */
    header: headerName.optional(),
    /** The `sub` claim of a verified JWT. */
    jwtSubject: z.literal(true).optional(),
    /** The client address (IPv6 grouped by `ipv6Prefix`). */
    ip: z.literal(true).optional(),
    /** Where the JWT is read from (only with jwtSubject). */
    from: tokenLocation.optional(),
  })
  .superRefine((s, ctx) => exactlyOneKind(s, CLIENT_KINDS, ctx, 'jwtSubject'));

function exactlyOneKind(source: Record<string, unknown>, kinds: readonly string[], ctx: z.RefinementCtx, jwtKind: string): void {
  const set = kinds.filter((k) => source[k] !== undefined);
  if (set.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        set.length === 0
          ? `expected one of: ${kinds.join(', ')}`
          : `expected only one of ${set.join(', ')} in one entry; give each its own entry`,
    });
  }
  if (source['from'] !== undefined && source[jwtKind] === undefined) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: `"from" only applies to ${jwtKind}` });
  }
}

export const jwtKeySchema = z
  .strictObject({
    /** Must agree with the key when given; otherwise taken from the key (secret: HS256, RSA: RS256, P-256: ES256). */
    alg: z.enum(JWT_ALGS).optional(),
    /** Matched against the token's `kid` header when both are present. */
    kid: z.string().min(1).optional(),
    /** HS256 shared secret, at least 32 bytes (RFC 7518 section 3.2). */
    secret: z.string().optional(),
    secretEncoding: z.enum(['utf8', 'base64', 'base64url', 'hex']).default('utf8'),
    /** PEM public key (SPKI or PKCS#1), inline. */
    publicKey: z.string().optional(),
    /** Path to a PEM public key file, read when the resolver is built. */
    publicKeyFile: z.string().min(1).optional(),
    /** Path to a JWKS file ({ "keys": [...] }), read when the resolver is built. */
    jwksFile: z.string().min(1).optional(),
  })
  .superRefine((k, ctx) => {
    const given = (['secret', 'publicKey', 'publicKeyFile', 'jwksFile'] as const).filter((f) => k[f] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of secret, publicKey, publicKeyFile or jwksFile' });
      return;
    }
    if (k.secret !== undefined) {
      if (k.alg !== undefined && k.alg !== 'HS256') {
        ctx.addIssue({ code: 'custom', path: ['alg'], input: k.alg, message: 'a shared secret only verifies HS256' });
      }
      const problem = checkSecretLength(k.secret, k.secretEncoding);
      if (problem) ctx.addIssue({ code: 'custom', path: ['secret'], message: problem });
    } else if (k.alg === 'HS256') {
      ctx.addIssue({ code: 'custom', path: ['alg'], input: k.alg, message: 'HS256 needs a secret; a public key cannot verify it' });
    }
    if (k.publicKey !== undefined) {
      // Inline keys are checked here so that `anteroom check` catches them; files are read (and
      // checked) when the resolver is built, see loadJwtKeys.
      const parsed = publicKeyFromPem(k.publicKey);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', path: ['publicKey'], message: parsed });
      } else if (k.alg !== undefined && k.alg !== 'HS256' && k.alg !== parsed.alg) {
        ctx.addIssue({ code: 'custom', path: ['alg'], input: k.alg, message: `the key is a ${parsed.alg} key` });
      }
    }
    if (k.jwksFile !== undefined && (k.alg !== undefined || k.kid !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'alg and kid come from the JWKS entries; remove them here' });
    }
  });

export const jwtSchema = z.strictObject({
  keys: z.array(jwtKeySchema).min(1),
  /** Accepted `iss` values; unset: any. */
  issuer: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  /** Accepted `aud` values (a token's `aud` must contain one); unset: any. */
  audience: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  /** Clock skew allowed on `exp` and `nbf`. */
  leewayS: z.int().min(0).max(300).default(30),
  /** Refuse tokens without `exp`. */
  requireExp: z.boolean().default(false),
  /** Verified tokens remembered, so a repeated token costs a map lookup instead of a signature check. */
  cacheSize: z.int().min(0).max(1_000_000).default(10_000),
});

export const identitySchema = z
  .strictObject({
    /** Proxies whose X-Forwarded-For is believed. Empty: the socket address is the client address. */
    trustedProxies: z.array(cidr).default([]),
    /** Where the tenant comes from, in order. Empty: every request is `defaultTenant`. */
    tenant: z.array(tenantSourceSchema).default([]),
    /** Where the client key comes from, in order. The client address is the last resort either way. */
    client: z.array(clientSourceSchema).default([{ ip: true }]),
    defaultTenant: z
      .string()
      .regex(TENANT_ID, 'expected letters, digits, _ . - (at most 64, starting with a letter or digit)')
      .default('default'),
    /** IPv6 clients are keyed by this prefix: one host usually owns a whole /64. */
    ipv6Prefix: z.int().min(1).max(128).default(64),
    jwt: jwtSchema.optional(),
  })
  .superRefine((identity, ctx) => {
    if (identity.jwt !== undefined) return;
    const message = 'needs identity.jwt.keys to verify tokens';
    identity.tenant.forEach((s, i) => {
      if (s.jwtClaim !== undefined) ctx.addIssue({ code: 'custom', path: ['tenant', i, 'jwtClaim'], message });
    });
    identity.client.forEach((s, i) => {
      if (s.jwtSubject !== undefined) ctx.addIssue({ code: 'custom', path: ['client', i, 'jwtSubject'], message });
    });
  });

export type IdentityConfig = z.output<typeof identitySchema>;
export type TenantSourceConfig = z.output<typeof tenantSourceSchema>;
export type ClientSourceConfig = z.output<typeof clientSourceSchema>;
export type JwtConfig = z.output<typeof jwtSchema>;
export type JwtKeyConfig = z.output<typeof jwtKeySchema>;

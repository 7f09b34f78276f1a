/**
 * Verifies compact JWS tokens (RFC 7515/7519) signed with HS256, RS256 or ES256, synchronously, with
 * node:crypto. Synchronous matters: identify runs on every request, and a verified token is cached, so
 * the common case is one Map lookup and the rare miss is one signature check (tens of microseconds)
 * without a promise. A token that cannot be verified for any reason is `null`, never an exception:
 * identity then falls through to its next source.
 */
import { createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { JwtAlg, VerificationKey } from './jwtKeys.js';
import { TtlCache } from './ttlCache.js';

export type JwtClaims = Readonly<Record<string, unknown>>;

/** Why a token was refused. */
export type JwtRejection =
  | 'malformed' // not three base64url parts of a JSON header and a JSON object payload
  | 'unsupported-alg' // alg is not HS256, RS256 or ES256 (this includes `none`)
  | 'critical-header' // a `crit` header names extensions that must be understood (RFC 7515 4.1.11)
  | 'no-key' // no configured key for this alg (and kid)
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-exp'
  | 'wrong-issuer'
  | 'wrong-audience';

export type JwtCheck = { ok: true; claims: JwtClaims; expiresAt: number } | { ok: false; reason: JwtRejection };

export interface JwtVerifierOptions {
  /** Accepted `iss` values; unset: any. */
  issuer?: string | readonly string[] | undefined;
  /** Accepted `aud` values; unset: any. */
  audience?: string | readonly string[] | undefined;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. */
  leewayS?: number;
  /** Refuse tokens without `exp`. */
  requireExp?: boolean;
  /** Verified tokens remembered; 0 disables the cache. */
  cacheSize?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

export interface JwtCacheStats {
  /** Tokens answered from the cache, verified or refused. */
  hits: number;
  /** Tokens that needed a full check. */
  misses: number;
  size: number;
}

/** Longer tokens are refused unread; headers are capped well below this anyway. */
const MAX_TOKEN_CHARS = 16_384;
/** A token without `exp` is re-verified after this long, so a cache entry never outlives its welcome. */
const MAX_CACHE_MS = 5 * 60_000;
/**
 * Refused tokens are remembered for this long, so a client retrying one bad token costs a lookup.
 * `not-yet-valid` is never remembered: that token becomes good by itself.
 */
const REFUSED_MS = 60_000;
const B64URL = /^[A-Za-z0-9_-]+$/;
/**
 * Cache entries are found by the token's last characters (a piece of its signature) and then compared
 * in full. Map lookups hash the whole key, and a request's token is a fresh string every time: hashing
 * 32 characters instead of the whole token (600 and more for RS256) is most of the cost of a hit.
 */
const KEY_CHARS = 32;

interface Verified {
  readonly token: string;
  readonly claims: JwtClaims;
}

export class JwtVerifier {
  private readonly byAlg: Readonly<Record<JwtAlg, readonly VerificationKey[]>>;
  private readonly issuer: readonly string[] | null;
  private readonly audience: readonly string[] | null;
  private readonly leewayS: number;
  private readonly requireExp: boolean;
  private readonly now: () => number;
  private readonly verified: TtlCache<Verified>;
  /** Refused tokens, by the same key; the value is the token. */
  private readonly refused: TtlCache<string>;
  private hits = 0;
  private misses = 0;

  constructor(keys: readonly VerificationKey[], options: JwtVerifierOptions = {}) {
    this.byAlg = {
      HS256: keys.filter((k) => k.alg === 'HS256'),
      RS256: keys.filter((k) => k.alg === 'RS256'),
      ES256: keys.filter((k) => k.alg === 'ES256'),
    };
    this.issuer = toList(options.issuer);
    this.audience = toList(options.audience);
    this.leewayS = options.leewayS ?? 30;
    this.requireExp = options.requireExp ?? false;
    this.now = options.now ?? Date.now;
    const size = options.cacheSize ?? 10_000;
    this.verified = new TtlCache(size);
    this.refused = new TtlCache(Math.min(size, 1024));
  }

  get stats(): JwtCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.verified.size };
  }

  /** The token's claims when it verifies now, else null. Results are cached by token. */
  verify(token: string): JwtClaims | null {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return null;
    const now = this.now();
    const key = token.slice(-KEY_CHARS);
    const cached = this.verified.get(key, now);
    if (cached !== undefined && cached.token === token) {
      this.hits++;
      return cached.claims;
    }
    if (this.refused.get(key, now) === token) {
      this.hits++;
      return null;
    }
    this.misses++;
    const result = this.check(token, now);
    if (result.ok) {
      this.verified.set(key, { token, claims: result.claims }, Math.min(result.expiresAt, now + MAX_CACHE_MS));
      return result.claims;
    }
    if (result.reason !== 'not-yet-valid') this.refused.set(key, token, now + REFUSED_MS);
    return null;
  }

  /**
   * The full check, uncached, with the reason for a refusal (for `anteroom explain` and tests).
   * Claims are checked before the signature: a refusal needs no signature check, and acceptance always
   * has one.
   */
  check(token: string, now: number = this.now()): JwtCheck {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return refuse('malformed');
    const dot1 = token.indexOf('.');
    const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 === -1 || token.indexOf('.', dot2 + 1) !== -1) return refuse('malformed');
    const header = decodeJson(token.slice(0, dot1));
    if (header === null) return refuse('malformed');
    const alg = header['alg'];
    if (alg !== 'HS256' && alg !== 'RS256' && alg !== 'ES256') return refuse('unsupported-alg');
    if (header['crit'] !== undefined) return refuse('critical-header');
    const claims = decodeJson(token.slice(dot1 + 1, dot2));
    const signature = token.slice(dot2 + 1);
    if (claims === null || !B64URL.test(signature)) return refuse('malformed');

    const nowS = now / 1000;
    const exp = claims['exp'];
    const nbf = claims['nbf'];
    if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) return refuse('malformed');
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) return refuse('malformed');
    if (exp === undefined && this.requireExp) return refuse('missing-exp');
    // RFC 7519 4.1.4: the token must not be accepted on or after exp.
    if (exp !== undefined && nowS >= exp + this.leewayS) return refuse('expired');
    if (nbf !== undefined && nowS + this.leewayS < nbf) return refuse('not-yet-valid');
    if (this.issuer !== null && !this.issuer.includes(claims['iss'] as string)) return refuse('wrong-issuer');
    if (this.audience !== null && !audienceMatches(claims['aud'], this.audience)) return refuse('wrong-audience');

    const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
    const keys = this.byAlg[alg];
    const anyKidMatches = kid !== undefined && keys.some((k) => k.kid === kid);
    const input = Buffer.from(token.slice(0, dot2), 'latin1');
    const sig = Buffer.from(signature, 'base64url');
    let tried = 0;
    for (const k of keys) {
      // A kid picks its key; keys without a kid stand in only when no key carries the token's kid.
      if (anyKidMatches ? k.kid !== kid : kid !== undefined && k.kid !== undefined) continue;
      tried++;
      if (signatureValid(alg, k.key, input, sig)) {
        const expiresAt = exp === undefined ? Number.POSITIVE_INFINITY : (exp + this.leewayS) * 1000;
        return { ok: true, claims: deepFreeze(claims), expiresAt };
      }
    }
    return refuse(tried === 0 ? 'no-key' : 'bad-signature');
  }
}

function signatureValid(alg: JwtAlg, key: KeyObject, input: Buffer, sig: Buffer): boolean {
  try {
    switch (alg) {
      case 'HS256': {
        if (sig.length !== 32) return false;
        return timingSafeEqual(createHmac('sha256', key).update(input).digest(), sig);
      }
      case 'RS256':
        return verify('sha256', input, key, sig);
      case 'ES256':
        // JWS carries ECDSA signatures as raw r || s (RFC 7518 3.4), not DER.
        return sig.length === 64 && verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    }
  } catch {
    return false;
  }
}

function decodeJson(segment: string): Record<string, unknown> | null {
  if (!B64URL.test(segment)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}

function toList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}

function refuse(reason: JwtRejection): JwtCheck {
  return { ok: false, reason };
}

/** Cached claims are shared by every request that presents the token, so nobody may change them. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

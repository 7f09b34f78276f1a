/**
 * Turns the configured JWT keys (shared secrets, PEM public keys, JWKS files) into KeyObjects, each
 * pinned to exactly one algorithm. The algorithm comes from the key, never from a token: that is what
 * makes the alg-confusion attack (an HS256 token "signed" with the RSA public key as the secret) and
 * `alg: none` impossible, since a token can only be checked against keys of the algorithm it names.
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JwtConfig } from './schema.js';

export const JWT_ALGS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlg = (typeof JWT_ALGS)[number];

export interface VerificationKey {
  readonly alg: JwtAlg;
  /** Matched against the token's `kid` header when both are set. */
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

/** A problem with one configured key, shaped like config/load.ts's ConfigError. */
export interface KeyProblem {
  /** Dotted path from the config root, e.g. `identity.jwt.keys.1.publicKeyFile`. */
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
}

/** RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output, 256 bits. */
const MIN_SECRET_BYTES = 32;
/** RSA keys shorter than this are breakable; RFC 7518 section 3.3 requires 2048 bits. */
const MIN_RSA_BITS = 2048;

/** What is wrong with a shared secret, or undefined when it is usable. */
export function checkSecretLength(secret: string, encoding: BufferEncoding): string | undefined {
  const bytes = Buffer.from(secret, encoding).length;
  if (bytes < MIN_SECRET_BYTES) {
    return `an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 3.2); this one is ${bytes}`;
  }
  return undefined;
}

/**
 * Loads every configured key. Files are read here, synchronously: this runs once per config load,
 * never per request. Keys that cannot be used are reported, not skipped, so that `anteroom check`
 * and a reload refuse a config whose tokens would silently stop verifying.
 */
export function loadJwtKeys(config: JwtConfig, base = 'identity.jwt.keys'): { keys: VerificationKey[]; problems: KeyProblem[] } {
  const keys: VerificationKey[] = [];
  const problems: KeyProblem[] = [];
  config.keys.forEach((k, i) => {
    const at = `${base}.${i}`;
    if (k.secret !== undefined) {
      const problem = checkSecretLength(k.secret, k.secretEncoding);
      if (problem) problems.push({ path: `${at}.secret`, message: problem });
      else keys.push({ alg: 'HS256', kid: k.kid, key: createSecretKey(Buffer.from(k.secret, k.secretEncoding)) });
      return;
    }
    if (k.publicKey !== undefined || k.publicKeyFile !== undefined) {
      const field = k.publicKey !== undefined ? 'publicKey' : 'publicKeyFile';
      let pem: string;
      try {
        pem = k.publicKey ?? readFileSync(k.publicKeyFile!, 'utf8');
      } catch (err) {
        problems.push({ path: `${at}.${field}`, value: k.publicKeyFile, message: `cannot read the key file: ${(err as Error).message}` });
        return;
      }
      const parsed = publicKeyFromPem(pem);
      if (typeof parsed === 'string') {
        problems.push({ path: `${at}.${field}`, message: parsed });
        return;
      }
      if (k.alg !== undefined && k.alg !== parsed.alg) {
        problems.push({ path: `${at}.alg`, value: k.alg, message: `the key is a ${parsed.alg} key` });
        return;
      }
      keys.push({ alg: parsed.alg, kid: k.kid, key: parsed.key });
      return;
    }
    if (k.jwksFile !== undefined) {
      const loaded = keysFromJwks(k.jwksFile);
      if (typeof loaded === 'string') problems.push({ path: `${at}.jwksFile`, value: k.jwksFile, message: loaded });
      else keys.push(...loaded);
    }
  });
  return { keys, problems };
}

/** A public key from PEM text and the one algorithm it verifies, or what is wrong with it. */
export function publicKeyFromPem(pem: string): { alg: JwtAlg; key: KeyObject } | string {
  if (pem.includes('PRIVATE KEY')) return 'expected a public key; anteroom only verifies and must not hold the private key';
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    return `not a PEM public key: ${(err as Error).message}`;
  }
  const alg = algOf(key);
  return typeof alg === 'object' ? alg.problem : { alg, key };
}

/** The algorithm a public key verifies, or why it verifies none that anteroom supports. */
function algOf(key: KeyObject): JwtAlg | { problem: string } {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? 'RS256' : { problem: `RSA keys must have at least ${MIN_RSA_BITS} bits; this one has ${bits}` };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    return { problem: `only P-256 EC keys (ES256) are supported; this key is on ${curve ?? 'an unknown curve'}` };
  }
  return { problem: `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}; expected RSA (RS256) or EC P-256 (ES256)` };
}

/**
 * Keys from a JWKS file. Entries for other uses (`use: enc`) or other algorithms are skipped, as an
 * identity provider's JWKS often lists keys anteroom has no use for; a file with no usable key at all
 * is an error.
 */
function keysFromJwks(file: string): VerificationKey[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return `cannot read the JWKS file: ${(err as Error).message}`;
  }
  const entries = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(entries)) return 'expected a JWKS document: { "keys": [ ... ] }';
  const keys: VerificationKey[] = [];
  const problems: string[] = [];
  entries.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object') return;
    const jwk = entry as JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown };
    if (jwk.use !== undefined && jwk.use !== 'sig') return;
    if (jwk.alg !== undefined && !JWT_ALGS.includes(jwk.alg as JwtAlg)) return;
    const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    if (jwk.kty === 'oct') {
      // A symmetric JWK is only taken when it says HS256: guessing the algorithm of a secret is how
      // alg confusion starts.
      if (jwk.alg !== 'HS256' || typeof jwk.k !== 'string') return;
      const secret = Buffer.from(jwk.k, 'base64url');
      if (secret.length < MIN_SECRET_BYTES) problems.push(`keys[${i}]: an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes`);
      else keys.push({ alg: 'HS256', kid, key: createSecretKey(secret) });
      return;
    }
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') return;
    let key: KeyObject;
    try {
      // Only the public members: a JWKS that also carries `d` still yields just the public key.
      const { kty, n, e, crv, x, y } = jwk;
      key = createPublicKey({ key: { kty, n, e, crv, x, y } as JsonWebKey, format: 'jwk' });
    } catch (err) {
      problems.push(`keys[${i}]: ${(err as Error).message}`);
      return;
    }
    const alg = algOf(key);
    if (typeof alg === 'object') {
      // An entry that names no algorithm may be meant for something else (an RSA key too short for
      // RS256 that nobody signs with); one that names ours but cannot verify it is a mistake.
      if (jwk.alg !== undefined) problems.push(`keys[${i}]: ${alg.problem}`);
      return;
    }
    if (jwk.alg !== undefined && jwk.alg !== alg) {
      problems.push(`keys[${i}]: says alg ${String(jwk.alg)} but is a ${alg} key`);
      return;
    }
    keys.push({ alg, kid, key });
  });
  if (problems.length > 0) return problems.join('; ');
  if (keys.length === 0) return 'the JWKS has no key for HS256, RS256 or ES256 signatures';
  return keys;
}

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadJwtKeys, type VerificationKey } from '../../src/identity/jwtKeys.js';
import { JwtVerifier, type JwtVerifierOptions } from '../../src/identity/jwtVerifier.js';
import { jwtSchema } from '../../src/identity/schema.js';
import { NOW_MS, NOW_S, b64url, ec, ecPublicPem, hsSecret, rsa, rsaPublicPem, signJwt } from './jwtFixtures.js';

function keysFrom(keys: unknown[]): VerificationKey[] {
  const loaded = loadJwtKeys(jwtSchema.parse({ keys }));
  expect(loaded.problems).toEqual([]);
  return loaded.keys;
}

const allKeys = keysFrom([{ secret: hsSecret }, { publicKey: rsaPublicPem }, { publicKey: ecPublicPem }]);

function verifier(options: JwtVerifierOptions = {}, keys = allKeys): JwtVerifier {
  return new JwtVerifier(keys, { now: () => NOW_MS, ...options });
}

const claims = { sub: 'user-1', org_id: 'acme', exp: NOW_S + 3600 };
const hs = (payload: Record<string, unknown> = claims, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }) =>
  signJwt(header, payload, 'HS256', hsSecret);
const rs = (payload: Record<string, unknown> = claims, header: Record<string, unknown> = { alg: 'RS256' }) => signJwt(header, payload, 'RS256', rsa.privateKey);
const es = (payload: Record<string, unknown> = claims, header: Record<string, unknown> = { alg: 'ES256' }) => signJwt(header, payload, 'ES256', ec.privateKey);

describe('JwtVerifier: valid tokens', () => {
  it.each([
    ['HS256', hs],
    ['RS256', rs],
    ['ES256', es],
  ])('accepts a %s token signed with the configured key and returns its claims', (_alg, make) => {
    const result = verifier().check(make());
    expect(result).toMatchObject({ ok: true, claims: { sub: 'user-1', org_id: 'acme' }, expiresAt: (claims.exp + 30) * 1000 });
  });

  it('returns frozen claims, so a cached token cannot be altered by one request for the next', () => {
    const c = verifier().verify(hs({ sub: 'u', nested: { role: 'admin' } }))!;
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c['nested'])).toBe(true);
  });
});

describe('JwtVerifier: refusals are null, never exceptions', () => {
  it.each([
    ['HS256', hs],
    ['RS256', rs],
    ['ES256', es],
  ])('refuses a %s token whose payload was swapped after signing', (_alg, make) => {
    const [header, , signature] = make().split('.');
    const forged = `${header}.${b64url(JSON.stringify({ ...claims, sub: 'admin' }))}.${signature}`;
    expect(verifier().check(forged)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifier().verify(forged)).toBeNull();
  });

  it('refuses tokens signed with keys other than the configured ones', () => {
    const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const v = verifier();
    expect(v.check(signJwt({ alg: 'HS256' }, claims, 'HS256', 'another secret of at least 32 bytes!!'))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v.check(signJwt({ alg: 'RS256' }, claims, 'RS256', otherRsa.privateKey))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v.check(signJwt({ alg: 'ES256' }, claims, 'ES256', otherEc.privateKey))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an expired token, with the configured leeway', () => {
    const v = verifier({ leewayS: 30 });
    expect(v.check(hs({ sub: 'u', exp: NOW_S - 31 }))).toEqual({ ok: false, reason: 'expired' });
    expect(v.check(hs({ sub: 'u', exp: NOW_S - 30 }))).toEqual({ ok: false, reason: 'expired' });
    expect(v.check(hs({ sub: 'u', exp: NOW_S - 29 })).ok).toBe(true);
    expect(verifier({ leewayS: 0 }).check(hs({ sub: 'u', exp: NOW_S - 1 }))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a token before its nbf, with the configured leeway', () => {
    const v = verifier({ leewayS: 30 });
    expect(v.check(hs({ sub: 'u', nbf: NOW_S + 31 }))).toEqual({ ok: false, reason: 'not-yet-valid' });
    expect(v.check(hs({ sub: 'u', nbf: NOW_S + 29 })).ok).toBe(true);
  });

  it('refuses the alg-confusion attack: an HS256 token keyed with the RSA public key', () => {
    const confused = signJwt({ alg: 'HS256' }, claims, 'HS256', rsaPublicPem);
    const rsaOnly = keysFrom([{ publicKey: rsaPublicPem }]);
    expect(verifier({}, rsaOnly).check(confused)).toEqual({ ok: false, reason: 'no-key' });
    // With an HS256 key configured too, the token is checked against that secret only, never the PEM.
    expect(verifier().check(confused)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a token whose header names another algorithm than the one it was signed with', () => {
    const [, payload, signature] = es().split('.');
    const relabelled = `${b64url(JSON.stringify({ alg: 'RS256' }))}.${payload}.${signature}`;
    expect(verifier().check(relabelled)).toEqual({ ok: false, reason: 'bad-signature' });
    // An RS256 token presented as ES256 has a 256-byte signature, which is no P-256 signature.
    const [, payload2, signature2] = rs().split('.');
    expect(verifier().check(`${b64url(JSON.stringify({ alg: 'ES256' }))}.${payload2}.${signature2}`)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses alg none in every spelling, signed or not', () => {
    const payload = b64url(JSON.stringify(claims));
    for (const alg of ['none', 'None', 'NONE', 'nOnE', '', 'HS512', 'RS384', 'EdDSA']) {
      const header = b64url(JSON.stringify({ alg }));
      expect(verifier().check(`${header}.${payload}.`), alg).toEqual({ ok: false, reason: 'unsupported-alg' });
      expect(verifier().check(`${header}.${payload}.c2lnbmF0dXJl`), alg).toEqual({ ok: false, reason: 'unsupported-alg' });
    }
    expect(verifier().check(`${b64url(JSON.stringify({ typ: 'JWT' }))}.${payload}.c2ln`)).toEqual({ ok: false, reason: 'unsupported-alg' });
  });

  it('refuses malformed tokens', () => {
    const good = hs();
    const [h, p, s] = good.split('.') as [string, string, string];
    const malformed = [
      'garbage',
      'a.b',
      `${good}.extra`,
      `${h}..${s}`,
      `${h}.${p}.`,
      `${h}.${p}.${s}!`,
      `${h}.${p}+.${s}`,
      `${b64url('not json')}.${p}.${s}`,
      `${h}.${b64url('not json')}.${s}`,
      `${h}.${b64url('[1,2]')}.${s}`,
      `${h}.${b64url('null')}.${s}`,
      `${h}.${b64url('"text"')}.${s}`,
      `${b64url('[]')}.${p}.${s}`,
      hs({ sub: 'u', exp: 'tomorrow' }),
      hs({ sub: 'u', nbf: null }),
      'x'.repeat(20_000),
    ];
    for (const token of malformed) {
      const result = verifier().check(token);
      expect(result.ok, token.slice(0, 80)).toBe(false);
      expect(verifier().verify(token)).toBeNull();
    }
    expect(verifier().check('a.b')).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier().check(`${h}.${b64url('[1,2]')}.${s}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier().check(hs({ sub: 'u', exp: 'tomorrow' }))).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier().verify('')).toBeNull();
  });

  it('refuses a token with critical header extensions it cannot understand', () => {
    expect(verifier().check(hs(claims, { alg: 'HS256', crit: ['b64'], b64: false }))).toEqual({ ok: false, reason: 'critical-header' });
  });

  it('checks issuer and audience when configured', () => {
    const v = verifier({ issuer: ['https://id.example.com'], audience: 'anteroom' });
    expect(v.check(hs({ ...claims, iss: 'https://id.example.com', aud: 'anteroom' })).ok).toBe(true);
    expect(v.check(hs({ ...claims, iss: 'https://id.example.com', aud: ['other', 'anteroom'] })).ok).toBe(true);
    expect(v.check(hs({ ...claims, iss: 'https://evil.example.com', aud: 'anteroom' }))).toEqual({ ok: false, reason: 'wrong-issuer' });
    expect(v.check(hs({ ...claims, aud: 'anteroom' }))).toEqual({ ok: false, reason: 'wrong-issuer' });
    expect(v.check(hs({ ...claims, iss: 'https://id.example.com', aud: 'other' }))).toEqual({ ok: false, reason: 'wrong-audience' });
    expect(v.check(hs({ ...claims, iss: 'https://id.example.com' }))).toEqual({ ok: false, reason: 'wrong-audience' });
    // Unconfigured, neither is looked at.
    expect(verifier().check(hs({ ...claims, iss: 'anyone', aud: 'anything' })).ok).toBe(true);
  });

  it('refuses tokens without exp only when requireExp is set', () => {
    expect(verifier().check(hs({ sub: 'u' })).ok).toBe(true);
    expect(verifier({ requireExp: true }).check(hs({ sub: 'u' }))).toEqual({ ok: false, reason: 'missing-exp' });
  });
});

describe('JwtVerifier: key selection by kid', () => {
  const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = (k: typeof a) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keys = keysFrom([
    { publicKey: pem(a), kid: 'a' },
    { publicKey: pem(b), kid: 'b' },
  ]);

  it('uses the key the token names', () => {
    expect(verifier({}, keys).check(signJwt({ alg: 'RS256', kid: 'b' }, claims, 'RS256', b.privateKey)).ok).toBe(true);
    expect(verifier({}, keys).check(signJwt({ alg: 'RS256', kid: 'a' }, claims, 'RS256', a.privateKey)).ok).toBe(true);
  });

  it('does not try other keys when the named one fails', () => {
    expect(verifier({}, keys).check(signJwt({ alg: 'RS256', kid: 'a' }, claims, 'RS256', b.privateKey))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('tries every key of the algorithm when the token names none', () => {
    expect(verifier({}, keys).check(signJwt({ alg: 'RS256' }, claims, 'RS256', b.privateKey)).ok).toBe(true);
  });

  it('finds no key for an unknown kid when every key has a kid', () => {
    expect(verifier({}, keys).check(signJwt({ alg: 'RS256', kid: 'c' }, claims, 'RS256', b.privateKey))).toEqual({ ok: false, reason: 'no-key' });
  });

  it('falls back to keys without a kid for an unknown kid', () => {
    const mixed = [...keys, ...keysFrom([{ publicKey: rsaPublicPem }])];
    expect(verifier({}, mixed).check(signJwt({ alg: 'RS256', kid: 'c' }, claims, 'RS256', rsa.privateKey)).ok).toBe(true);
  });
});

describe('JwtVerifier: cache', () => {
  it('answers a repeated token from the cache', () => {
    const v = verifier();
    const token = rs();
    const first = v.verify(token);
    expect(v.stats).toEqual({ hits: 0, misses: 1, size: 1 });
    const second = v.verify(token);
    expect(second).toBe(first);
    expect(v.stats).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('drops a cached token when it expires', () => {
    let now = NOW_MS;
    const v = verifier({ now: () => now, leewayS: 5 });
    const token = es({ sub: 'u', exp: NOW_S + 60 });
    expect(v.verify(token)).not.toBeNull();
    now += 64_000;
    expect(v.verify(token)).not.toBeNull();
    now += 1_000; // exp + leeway reached
    expect(v.verify(token)).toBeNull();
    expect(v.stats.hits).toBe(1);
  });

  it('re-verifies a token without exp after five minutes', () => {
    let now = NOW_MS;
    const v = verifier({ now: () => now });
    const token = hs({ sub: 'u' });
    v.verify(token);
    now += 299_000;
    v.verify(token);
    expect(v.stats).toMatchObject({ hits: 1, misses: 1 });
    now += 2_000;
    v.verify(token);
    expect(v.stats).toMatchObject({ hits: 1, misses: 2 });
  });

  it('does not serve a forged token from the cache entry of the genuine token it copies the signature of', () => {
    const v = verifier();
    const genuine = rs({ sub: 'user-1', exp: NOW_S + 600 });
    const [, , signature] = genuine.split('.');
    const forged = `${b64url(JSON.stringify({ alg: 'RS256' }))}.${b64url(JSON.stringify({ sub: 'admin' }))}.${signature}`;
    expect(v.verify(genuine)).toMatchObject({ sub: 'user-1' });
    expect(v.verify(forged)).toBeNull();
    expect(v.verify(forged)).toBeNull();
    expect(v.verify(genuine)).toMatchObject({ sub: 'user-1' });
    expect(v.stats).toEqual({ hits: 2, misses: 2, size: 1 });
    // And the other way round: a refused forgery does not get the genuine token refused.
    const fresh = verifier();
    expect(fresh.verify(forged)).toBeNull();
    expect(fresh.verify(genuine)).toMatchObject({ sub: 'user-1' });
  });

  it('remembers a refused token briefly', () => {
    const v = verifier();
    const forged = `${hs().slice(0, -4)}AAAA`;
    expect(v.verify(forged)).toBeNull();
    expect(v.verify(forged)).toBeNull();
    expect(v.stats).toMatchObject({ hits: 1, misses: 1, size: 0 });
  });

  it('does not remember a token that is not valid yet, which becomes valid by itself', () => {
    let now = NOW_MS;
    const v = verifier({ now: () => now, leewayS: 0 });
    const token = hs({ sub: 'u', nbf: NOW_S + 10 });
    expect(v.verify(token)).toBeNull();
    now += 10_000;
    expect(v.verify(token)).not.toBeNull();
  });

  it('keeps at most cacheSize tokens, evicting the least recently used', () => {
    const v = verifier({ cacheSize: 2 });
    const [t1, t2, t3] = [hs({ sub: '1' }), hs({ sub: '2' }), hs({ sub: '3' })];
    v.verify(t1);
    v.verify(t2);
    v.verify(t1); // t1 is now the most recently used
    v.verify(t3); // evicts t2
    expect(v.stats).toEqual({ hits: 1, misses: 3, size: 2 });
    v.verify(t1);
    expect(v.stats.hits).toBe(2);
    v.verify(t2);
    expect(v.stats.misses).toBe(4);
  });

  it('verifies every time with cacheSize 0', () => {
    const v = verifier({ cacheSize: 0 });
    const token = hs();
    expect(v.verify(token)).not.toBeNull();
    expect(v.verify(token)).not.toBeNull();
    expect(v.stats).toEqual({ hits: 0, misses: 2, size: 0 });
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadJwtKeys } from '../../src/identity/jwtKeys.js';
import { JwtVerifier } from '../../src/identity/jwtVerifier.js';
import { jwtSchema } from '../../src/identity/schema.js';
import { NOW_MS, NOW_S, RFC7515, ec, ecPublicPem, rsa, rsaPublicPem, signJwt } from './jwtFixtures.js';
import { tempDir } from '../helpers/tempDir.js';

const { path: dir, file } = tempDir('anteroom-jwt-');

const load = (keys: unknown[]) => loadJwtKeys(jwtSchema.parse({ keys }));

describe('loadJwtKeys', () => {
  it('verifies the RFC 7515 appendix A example tokens from a JWKS file and a base64url secret', () => {
    const jwks = file('rfc.json', JSON.stringify({ keys: [RFC7515.rs256.jwk, RFC7515.es256.jwk] }));
    const { keys, problems } = load([{ jwksFile: jwks }, { secret: RFC7515.hs256.k, secretEncoding: 'base64url' }]);
    expect(problems).toEqual([]);
    expect(keys.map((k) => k.alg)).toEqual(['RS256', 'ES256', 'HS256']);
    const v = new JwtVerifier(keys, { now: () => RFC7515.clockMs });
    for (const token of [RFC7515.hs256.token, RFC7515.rs256.token, RFC7515.es256.token]) {
      expect(v.check(token)).toMatchObject({ ok: true, claims: { iss: 'joe', 'http://example.com/is_root': true } });
    }
    expect(v.check(RFC7515.none)).toEqual({ ok: false, reason: 'unsupported-alg' });
    // The same tokens, today: long expired.
    expect(new JwtVerifier(keys).check(RFC7515.rs256.token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('reads PEM public key files and takes the algorithm from the key', () => {
    const { keys, problems } = load([{ publicKeyFile: file('rsa.pem', rsaPublicPem), kid: 'r1' }, { publicKeyFile: file('ec.pem', ecPublicPem) }]);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.alg, k.kid])).toEqual([
      ['RS256', 'r1'],
      ['ES256', undefined],
    ]);
    const v = new JwtVerifier(keys, { now: () => NOW_MS });
    expect(v.check(signJwt({ alg: 'ES256' }, { sub: 'u', exp: NOW_S + 60 }, 'ES256', ec.privateKey)).ok).toBe(true);
    expect(v.check(signJwt({ alg: 'RS256', kid: 'r1' }, { sub: 'u' }, 'RS256', rsa.privateKey)).ok).toBe(true);
  });

  it('accepts PKCS#1 RSA public keys', () => {
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(load([{ publicKey: pkcs1 }]).keys[0]?.alg).toBe('RS256');
  });

  it('reports a missing key file with its config path', () => {
    const { keys, problems } = load([{ secret: 'x'.repeat(32) }, { publicKeyFile: join(dir, 'missing.pem') }]);
    expect(keys).toHaveLength(1);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('identity.jwt.keys.1.publicKeyFile');
    expect(problems[0]!.message).toMatch(/cannot read the key file/);
  });

  it('refuses a private key, an RSA key under 2048 bits and curves other than P-256', () => {
    const priv = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { keys, problems } = load([
      { publicKeyFile: file('priv.pem', priv) },
      { publicKeyFile: file('short.pem', short) },
      { publicKeyFile: file('p384.pem', p384) },
      { publicKeyFile: file('ed.pem', ed) },
      { publicKeyFile: file('junk.pem', 'not a key') },
    ]);
    expect(keys).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/expected a public key/),
      expect.stringMatching(/at least 2048 bits; this one has 1024/),
      expect.stringMatching(/only P-256/),
      expect.stringMatching(/unsupported key type ed25519/),
      expect.stringMatching(/not a PEM public key/),
    ]);
  });

  it('reports an alg that disagrees with the key', () => {
    const { problems } = load([{ publicKeyFile: file('rsa2.pem', rsaPublicPem), alg: 'ES256' }]);
    expect(problems).toEqual([{ path: 'identity.jwt.keys.0.alg', value: 'ES256', message: 'the key is a RS256 key' }]);
  });

  it('skips JWKS entries for encryption or other algorithms, and refuses a JWKS with no usable key', () => {
    const encOnly = file('enc.json', JSON.stringify({ keys: [{ ...RFC7515.rs256.jwk, use: 'enc' }, { ...RFC7515.es256.jwk, alg: 'ES384' }] }));
    expect(load([{ jwksFile: encOnly }]).problems[0]?.message).toMatch(/no key for HS256, RS256 or ES256/);
    const mixed = file('mixed.json', JSON.stringify({ keys: [{ ...RFC7515.rs256.jwk, use: 'enc' }, { ...RFC7515.es256.jwk, kid: 'e1', use: 'sig' }] }));
    const { keys, problems } = load([{ jwksFile: mixed }]);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.alg, k.kid])).toEqual([['ES256', 'e1']]);
  });

  it('takes a symmetric JWKS entry only when it says HS256', () => {
    const k = Buffer.from(RFC7515.hs256.k, 'base64url').toString('base64url');
    const jwks = file('oct.json', JSON.stringify({ keys: [{ kty: 'oct', k }, { kty: 'oct', k, alg: 'HS256', kid: 'h' }] }));
    const { keys } = load([{ jwksFile: jwks }]);
    expect(keys.map((key) => [key.alg, key.kid])).toEqual([['HS256', 'h']]);
    expect(new JwtVerifier(keys, { now: () => RFC7515.clockMs }).check(RFC7515.hs256.token).ok).toBe(true);
  });

  it('reports unreadable and malformed JWKS files', () => {
    expect(load([{ jwksFile: join(dir, 'nope.json') }]).problems[0]?.message).toMatch(/cannot read the JWKS file/);
    expect(load([{ jwksFile: file('bad.json', '{"keys": 1}') }]).problems[0]?.message).toMatch(/expected a JWKS document/);
    expect(load([{ jwksFile: file('bad2.json', '{nope') }]).problems[0]?.message).toMatch(/cannot read the JWKS file/);
    const wrongAlg = file('wrongalg.json', JSON.stringify({ keys: [{ ...RFC7515.rs256.jwk, alg: 'ES256' }] }));
    expect(load([{ jwksFile: wrongAlg }]).problems[0]?.message).toMatch(/says alg ES256 but is a RS256 key/);
  });
});

import { describe, expect, it } from 'vitest';
import { identitySchema } from '../../src/identity/schema.js';
import { ecPublicPem, rsa, rsaPublicPem } from './jwtFixtures.js';

function issues(section: unknown): { path: string; message: string }[] {
  const r = identitySchema.safeParse(section);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('identitySchema', () => {
  it('fills defaults', () => {
    expect(identitySchema.parse({})).toEqual({ trustedProxies: [], tenant: [], client: [{ ip: true }], defaultTenant: 'default', ipv6Prefix: 64 });
    const jwt = identitySchema.parse({ jwt: { keys: [{ secret: 'x'.repeat(32) }] } }).jwt!;
    expect(jwt).toMatchObject({ leewayS: 30, requireExp: false, cacheSize: 10_000 });
    expect(jwt.keys[0]!.secretEncoding).toBe('utf8');
  });

  it('takes the example configuration', () => {
    const parsed = identitySchema.parse({
      trustedProxies: ['10.0.0.0/8', '::1', 'fd00::/8'],
      tenant: [{ header: 'X-Tenant-Id' }, { hostPattern: '{tenant}.example.com' }, { pathPrefix: '/t/{tenant}/' }, { cookie: 'tenant' }, { jwtClaim: 'org_id', from: { cookie: 'id' } }],
      client: [{ cookie: 'session_id' }, { header: 'x-api-key' }, { jwtSubject: true }, { ip: true }],
      defaultTenant: 'public',
      ipv6Prefix: 56,
      jwt: { keys: [{ publicKey: rsaPublicPem, kid: 'k1' }, { publicKey: ecPublicPem, alg: 'ES256' }], issuer: 'https://id.example.com', audience: ['a', 'b'] },
    });
    expect(parsed.tenant[0]).toEqual({ header: 'x-tenant-id' });
  });

  it('refuses an entry with two kinds or none, naming the kinds', () => {
    expect(issues({ tenant: [{ header: 'x', cookie: 'y' }] })).toEqual([{ path: 'tenant.0', message: 'expected only one of header, cookie in one entry; give each its own entry' }]);
    expect(issues({ client: [{}] })).toEqual([{ path: 'client.0', message: 'expected one of: cookie, header, jwtSubject, ip' }]);
  });

  it('refuses unknown keys', () => {
    expect(issues({ tenant: [{ hedaer: 'x' }] }).map((i) => i.path)).toContain('tenant.0');
    expect(issues({ tenants: [] })[0]?.message).toMatch(/Unrecognized key/);
  });

  it('refuses "from" on a source that reads no token', () => {
    expect(issues({ client: [{ header: 'x-api-key', from: { cookie: 'c' } }] })).toEqual([{ path: 'client.0.from', message: '"from" only applies to jwtSubject' }]);
    expect(issues({ tenant: [{ jwtClaim: 'org', from: { cookie: 'a', header: 'b' } }], jwt: { keys: [{ secret: 'x'.repeat(32) }] } })).toEqual([
      { path: 'tenant.0.from', message: 'expected exactly one of { header: NAME } or { cookie: NAME }' },
    ]);
  });

  it('refuses JWT sources without JWT keys', () => {
    expect(issues({ tenant: [{ jwtClaim: 'org_id' }], client: [{ jwtSubject: true }] })).toEqual([
      { path: 'tenant.0.jwtClaim', message: 'needs identity.jwt.keys to verify tokens' },
      { path: 'client.0.jwtSubject', message: 'needs identity.jwt.keys to verify tokens' },
    ]);
  });

  it('refuses host and path patterns without a whole {tenant} part', () => {
    expect(issues({ tenant: [{ hostPattern: 'example.com' }] })[0]?.message).toMatch(/one \{tenant\} label/);
    expect(issues({ tenant: [{ hostPattern: '{tenant}.{tenant}.com' }] })).toHaveLength(1);
    expect(issues({ tenant: [{ pathPrefix: '/t/x{tenant}y/' }] })[0]?.message).toMatch(/whole segment/);
    expect(issues({ tenant: [{ pathPrefix: 't/{tenant}/' }] })).toHaveLength(1);
    expect(issues({ tenant: [{ pathPrefix: '/t-{tenant}' }] })).toEqual([]);
  });

  it('refuses bad header names, tenants, prefixes and proxies', () => {
    expect(issues({ tenant: [{ header: 'x tenant' }] })[0]).toEqual({ path: 'tenant.0.header', message: 'expected an HTTP header name like x-tenant-id' });
    expect(issues({ defaultTenant: 'has space' })[0]?.path).toBe('defaultTenant');
    expect(issues({ ipv6Prefix: 0 })[0]?.path).toBe('ipv6Prefix');
    expect(issues({ ipv6Prefix: 129 })[0]?.path).toBe('ipv6Prefix');
    for (const bad of ['10.0.0.0/33', '::/129', 'example.com', '1.2.3.4/8/1', '10.0.0.0/']) {
      expect(issues({ trustedProxies: [bad] }), bad).toEqual([{ path: 'trustedProxies.0', message: 'expected an IP address or CIDR block like 10.0.0.0/8' }]);
    }
  });

  it('checks JWT keys: one source each, secret length, algorithm agreement, no private keys', () => {
    const priv = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(
      issues({
        jwt: {
          keys: [
            { secret: 'too short' },
            { secret: 'x'.repeat(32), alg: 'RS256' },
            { publicKey: rsaPublicPem, alg: 'HS256' },
            { publicKey: rsaPublicPem, alg: 'ES256' },
            { publicKey: priv },
            { secret: 'x'.repeat(32), publicKey: rsaPublicPem },
            { jwksFile: '/etc/jwks.json', kid: 'k' },
            { secret: 'AAAA', secretEncoding: 'base64' },
          ],
        },
      }),
    ).toEqual([
      { path: 'jwt.keys.0.secret', message: 'an HS256 secret must be at least 32 bytes (RFC 7518 3.2); this one is 9' },
      { path: 'jwt.keys.1.alg', message: 'a shared secret only verifies HS256' },
      { path: 'jwt.keys.2.alg', message: 'HS256 needs a secret; a public key cannot verify it' },
      { path: 'jwt.keys.3.alg', message: 'the key is a RS256 key' },
      { path: 'jwt.keys.4.publicKey', message: 'expected a public key; anteroom only verifies and must not hold the private key' },
      { path: 'jwt.keys.5', message: 'expected exactly one of secret, publicKey, publicKeyFile or jwksFile' },
      { path: 'jwt.keys.6', message: 'alg and kid come from the JWKS entries; remove them here' },
      { path: 'jwt.keys.7.secret', message: 'an HS256 secret must be at least 32 bytes (RFC 7518 3.2); this one is 3' },
    ]);
    expect(issues({ jwt: { keys: [] } })[0]?.path).toBe('jwt.keys');
  });
});

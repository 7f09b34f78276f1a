import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { IdentityConfigError, IdentityResolver, type IdentityResolverOptions } from '../../src/identity/identityResolver.js';
import { identitySchema } from '../../src/identity/schema.js';
import { NOW_MS, NOW_S, ec, ecPublicPem, hsSecret, rsa, rsaPublicPem, signJwt } from './jwtFixtures.js';

const jwt = { keys: [{ secret: hsSecret }, { publicKey: rsaPublicPem }, { publicKey: ecPublicPem }] };

function resolver(section: Record<string, unknown>, options: IdentityResolverOptions = {}): IdentityResolver {
  return new IdentityResolver(identitySchema.parse(section), { now: () => NOW_MS, ...options });
}

const IP = '198.51.100.9';
const resolve = (r: IdentityResolver, headers: IncomingHttpHeaders = {}, host = 'app.example.com', path = '/', ip = IP) => r.resolve(host, path, headers, ip);
const bearer = (token: string): IncomingHttpHeaders => ({ authorization: `Bearer ${token}` });
const rsToken = (claims: Record<string, unknown>) => signJwt({ alg: 'RS256' }, { exp: NOW_S + 600, ...claims }, 'RS256', rsa.privateKey);

describe('IdentityResolver: tenant sources', () => {
  it('takes the tenant from a header', () => {
    const r = resolver({ tenant: [{ header: 'X-Tenant-Id' }] });
    expect(resolve(r, { 'x-tenant-id': 'acme' })).toMatchObject({ tenant: 'acme', tenantSource: 'header:x-tenant-id' });
  });

  it('takes the tenant from one label of the host', () => {
    const r = resolver({ tenant: [{ hostPattern: '{tenant}.Example.com' }] });
    expect(resolve(r, {}, 'acme.example.com')).toMatchObject({ tenant: 'acme', tenantSource: 'host:{tenant}.example.com' });
    expect(resolve(r, {}, 'ACME.EXAMPLE.COM.')).toMatchObject({ tenant: 'acme' });
    expect(resolve(r, {}, 'a.b.example.com')).toMatchObject({ tenant: 'default', tenantSource: 'default' });
    expect(resolve(r, {}, 'example.com')).toMatchObject({ tenant: 'default' });
    expect(resolve(r, {}, '.example.com')).toMatchObject({ tenant: 'default' });
    expect(resolve(r, {}, 'acme.example.org')).toMatchObject({ tenant: 'default' });
    const inner = resolver({ tenant: [{ hostPattern: 'api-{tenant}.eu.example.com' }] });
    expect(resolve(inner, {}, 'api-globex.eu.example.com')).toMatchObject({ tenant: 'globex' });
  });

  it('takes the tenant from a path segment', () => {
    const r = resolver({ tenant: [{ pathPrefix: '/t/{tenant}/' }] });
    expect(resolve(r, {}, 'h', '/t/acme/orders/1')).toMatchObject({ tenant: 'acme', tenantSource: 'path:/t/{tenant}/' });
    expect(resolve(r, {}, 'h', '/t/acme/')).toMatchObject({ tenant: 'acme' });
    expect(resolve(r, {}, 'h', '/t/acme')).toMatchObject({ tenant: 'acme' });
    expect(resolve(r, {}, 'h', '/t/')).toMatchObject({ tenant: 'default' });
    expect(resolve(r, {}, 'h', '/t//x')).toMatchObject({ tenant: 'default' });
    expect(resolve(r, {}, 'h', '/x/acme/')).toMatchObject({ tenant: 'default' });
    const deeper = resolver({ tenant: [{ pathPrefix: '/{tenant}/api/' }] });
    expect(resolve(deeper, {}, 'h', '/acme/api/v1')).toMatchObject({ tenant: 'acme' });
    expect(resolve(deeper, {}, 'h', '/acme/api')).toMatchObject({ tenant: 'acme' });
    expect(resolve(deeper, {}, 'h', '/acme/web/v1')).toMatchObject({ tenant: 'default' });
  });

  it('takes the tenant from a cookie', () => {
    const r = resolver({ tenant: [{ cookie: 'tenant' }] });
    expect(resolve(r, { cookie: 'a=1; tenant=acme' })).toMatchObject({ tenant: 'acme', tenantSource: 'cookie:tenant' });
  });

  it('takes the tenant from a claim of a verified JWT', () => {
    const r = resolver({ tenant: [{ jwtClaim: 'org_id' }], jwt });
    expect(resolve(r, bearer(rsToken({ org_id: 'acme', sub: 'u1' })))).toEqual({
      tenant: 'acme',
      tenantSource: 'jwt:org_id',
      clientKey: `ip:${IP}`,
      clientSource: 'ip',
      subject: 'u1',
    });
    // Namespaced claims are names, not paths.
    const namespaced = resolver({ tenant: [{ jwtClaim: 'https://example.com/org' }], jwt });
    expect(resolve(namespaced, bearer(rsToken({ 'https://example.com/org': 'globex' })))).toMatchObject({ tenant: 'globex' });
    // Numeric organisation ids are used as text.
    expect(resolve(r, bearer(rsToken({ org_id: 4711 })))).toMatchObject({ tenant: '4711' });
  });

  it('reads the JWT from a cookie or another header when told to', () => {
    const token = rsToken({ org_id: 'acme' });
    const fromCookie = resolver({ tenant: [{ jwtClaim: 'org_id', from: { cookie: 'id_token' } }], jwt });
    expect(resolve(fromCookie, { cookie: `id_token=${token}` })).toMatchObject({ tenant: 'acme' });
    expect(resolve(fromCookie, bearer(token))).toMatchObject({ tenant: 'default' });
    const fromHeader = resolver({ tenant: [{ jwtClaim: 'org_id', from: { header: 'x-id-token' } }], jwt });
    expect(resolve(fromHeader, { 'x-id-token': token })).toMatchObject({ tenant: 'acme' });
    expect(resolve(fromHeader, { 'x-id-token': `bearer ${token}` })).toMatchObject({ tenant: 'acme' });
  });

  it('ignores the claim of a token that does not verify', () => {
    const r = resolver({ tenant: [{ jwtClaim: 'org_id' }, { header: 'x-tenant-id' }], jwt });
    const forged = signJwt({ alg: 'HS256' }, { org_id: 'acme' }, 'HS256', rsaPublicPem);
    const expired = rsToken({ org_id: 'acme', exp: NOW_S - 3600 });
    const headers = (token: string) => ({ ...bearer(token), 'x-tenant-id': 'fallback' });
    for (const token of [forged, expired, 'garbage', `${rsToken({ org_id: 'acme' })}x`]) {
      expect(resolve(r, headers(token))).toMatchObject({ tenant: 'fallback', tenantSource: 'header:x-tenant-id' });
    }
  });

  it('reads only a Bearer credential from Authorization as a token', () => {
    const r = resolver({ tenant: [{ jwtClaim: 'org_id' }, { header: 'x-tenant-id' }], jwt });
    const basic = { authorization: `Basic ${Buffer.from('a:b').toString('base64')}`, 'x-tenant-id': 'fallback' };
    expect(resolve(r, basic)).toMatchObject({ tenant: 'fallback' });
    expect(r.jwt!.stats.misses).toBe(0);
    expect(resolve(r, { authorization: `bearer  ${rsToken({ org_id: 'acme' })}` })).toMatchObject({ tenant: 'acme' });
  });

  it('tries the sources in order; the first that yields wins', () => {
    const sources = [{ header: 'x-tenant-id' }, { hostPattern: '{tenant}.example.com' }, { pathPrefix: '/t/{tenant}/' }, { cookie: 'tenant' }, { jwtClaim: 'org_id' }];
    const r = resolver({ tenant: sources, jwt });
    const all = { 'x-tenant-id': 'h', cookie: 'tenant=c', ...bearer(rsToken({ org_id: 'j' })) };
    expect(resolve(r, all, 'host.example.com', '/t/p/')).toMatchObject({ tenant: 'h' });
    expect(resolve(r, { ...all, 'x-tenant-id': undefined }, 'host.example.com', '/t/p/')).toMatchObject({ tenant: 'host' });
    expect(resolve(r, { ...all, 'x-tenant-id': undefined }, 'other.org', '/t/p/')).toMatchObject({ tenant: 'p' });
    expect(resolve(r, { ...all, 'x-tenant-id': undefined }, 'other.org', '/')).toMatchObject({ tenant: 'c' });
    expect(resolve(r, { ...all, 'x-tenant-id': undefined, cookie: undefined }, 'other.org', '/')).toMatchObject({ tenant: 'j' });
    // Reversed order, reversed winner.
    const reversed = resolver({ tenant: [...sources].reverse(), jwt });
    expect(resolve(reversed, all, 'host.example.com', '/t/p/')).toMatchObject({ tenant: 'j', tenantSource: 'jwt:org_id' });
  });

  it('uses defaultTenant when no source yields', () => {
    expect(resolve(resolver({}))).toMatchObject({ tenant: 'default', tenantSource: 'default' });
    const r = resolver({ tenant: [{ header: 'x-tenant-id' }], defaultTenant: 'public' });
    expect(resolve(r)).toMatchObject({ tenant: 'public', tenantSource: 'default' });
  });

  it('ignores tenant values that are unfit for keys and labels, and goes on to the next source', () => {
    const r = resolver({ tenant: [{ header: 'x-tenant-id' }, { cookie: 'tenant' }] });
    const bad = ['', 'a b', 'acme:evil', '{acme}', '../etc', '-acme', 'a'.repeat(65), 'ac%6De', 'acme, globex', 'tenant\u00e9', 'x\n'];
    for (const value of bad) {
      expect(resolve(r, { 'x-tenant-id': value, cookie: 'tenant=good' }), JSON.stringify(value)).toMatchObject({ tenant: 'good', tenantSource: 'cookie:tenant' });
    }
    for (const value of ['acme', 'Acme-EU_2', 'org.example', '7', 'a'.repeat(64)]) {
      expect(resolve(r, { 'x-tenant-id': value }), value).toMatchObject({ tenant: value });
    }
  });
});

describe('IdentityResolver: client sources', () => {
  const sha = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

  it('keys a session cookie by its hash', () => {
    const r = resolver({ client: [{ cookie: 'session_id' }] });
    const id = resolve(r, { cookie: 'session_id=s3cr3t-session' });
    expect(id).toMatchObject({ clientKey: `s:${sha('s3cr3t-session')}`, clientSource: 'cookie:session_id' });
    expect(id.clientKey).not.toContain('s3cr3t');
    expect(resolve(r, { cookie: 'session_id=other' }).clientKey).not.toBe(id.clientKey);
  });

  it('keys an API key by its hash; the raw key appears nowhere in the identity', () => {
    const apiKey = 'sk_live_9f8e7d6c5b4a39281726354';
    const r = resolver({ client: [{ header: 'x-api-key' }] });
    const id = resolve(r, { 'x-api-key': apiKey });
    expect(id).toMatchObject({ clientKey: `k:${sha(apiKey)}`, clientSource: 'header:x-api-key' });
    const text = JSON.stringify(id);
    expect(text).not.toContain(apiKey);
    // Not even a recognisable piece of it.
    for (let i = 0; i + 8 <= apiKey.length; i++) expect(text).not.toContain(apiKey.slice(i, i + 8));
    expect(resolve(r, { 'x-api-key': `${apiKey}x` }).clientKey).not.toBe(id.clientKey);
  });

  it('keys secrets with HMAC when given a hash secret', () => {
    const r = resolver({ client: [{ header: 'x-api-key' }] }, { hashSecret: 'pepper' });
    const expected = createHmac('sha256', 'pepper').update('key-1').digest('base64url').slice(0, 22);
    expect(resolve(r, { 'x-api-key': 'key-1' }).clientKey).toBe(`k:${expected}`);
    expect(resolve(r, { 'x-api-key': 'key-1' }).clientKey).not.toBe(`k:${sha('key-1')}`);
  });

  it('keys a verified JWT subject', () => {
    const r = resolver({ client: [{ jwtSubject: true }], jwt });
    expect(resolve(r, bearer(rsToken({ sub: 'auth0|12345' })))).toMatchObject({ clientKey: 'j:auth0|12345', clientSource: 'jwt:sub', subject: 'auth0|12345' });
    const es = signJwt({ alg: 'ES256' }, { sub: 'user@example.com' }, 'ES256', ec.privateKey);
    expect(resolve(r, bearer(es))).toMatchObject({ clientKey: 'j:user@example.com' });
    const hs = signJwt({ alg: 'HS256' }, { sub: 'u-7' }, 'HS256', hsSecret);
    expect(resolve(r, bearer(hs))).toMatchObject({ clientKey: 'j:u-7' });
  });

  it('hashes a subject that is unfit for a key, under its own prefix', () => {
    const r = resolver({ client: [{ jwtSubject: true }], jwt });
    const odd = 'ip:198.51.100.9';
    const id = resolve(r, bearer(rsToken({ sub: odd })));
    expect(id.clientKey).toBe(`jh:${sha(odd)}`);
    expect(id.subject).toBe(odd);
  });

  it('keys by the client address, IPv6 grouped by ipv6Prefix', () => {
    const r = resolver({ client: [{ ip: true }] });
    expect(resolve(r, {}, 'h', '/', '203.0.113.5')).toMatchObject({ clientKey: 'ip:203.0.113.5', clientSource: 'ip' });
    const a = resolve(r, {}, 'h', '/', '2001:db8:7:8::1').clientKey;
    expect(a).toBe('ip:2001:db8:7:8::/64');
    expect(resolve(r, {}, 'h', '/', '2001:db8:7:8:ffff::2').clientKey).toBe(a);
    expect(resolve(r, {}, 'h', '/', '2001:db8:7:9::1').clientKey).not.toBe(a);
    const wide = resolver({ client: [{ ip: true }], ipv6Prefix: 48 });
    expect(resolve(wide, {}, 'h', '/', '2001:db8:7:9::1').clientKey).toBe('ip:2001:db8:7::/48');
  });

  it('tries the sources in order and falls through the ones that yield nothing', () => {
    const r = resolver({ client: [{ cookie: 'session_id' }, { header: 'x-api-key' }, { jwtSubject: true }, { ip: true }], jwt });
    const all = { cookie: 'session_id=s1', 'x-api-key': 'k1', ...bearer(rsToken({ sub: 'u1' })) };
    expect(resolve(r, all).clientSource).toBe('cookie:session_id');
    expect(resolve(r, { ...all, cookie: 'other=1' }).clientSource).toBe('header:x-api-key');
    expect(resolve(r, { ...all, cookie: 'session_id=', 'x-api-key': '' }).clientSource).toBe('jwt:sub');
    expect(resolve(r, { ...all, cookie: undefined, 'x-api-key': undefined, authorization: 'Bearer forged.token.here' })).toMatchObject({ clientSource: 'ip', clientKey: `ip:${IP}` });
  });

  it('namespaces keys by source, so equal values from different sources never share a bucket', () => {
    const r = resolver({ client: [{ cookie: 'session_id' }, { header: 'x-api-key' }] });
    const bySession = resolve(r, { cookie: 'session_id=same' }).clientKey;
    const byApiKey = resolve(r, { 'x-api-key': 'same' }).clientKey;
    expect(bySession.slice(2)).toBe(byApiKey.slice(2));
    expect(bySession).not.toBe(byApiKey);
  });

  it('falls back to the address when no listed source yields', () => {
    const r = resolver({ client: [{ header: 'x-api-key' }] });
    expect(resolve(r)).toMatchObject({ clientKey: `ip:${IP}`, clientSource: 'ip (fallback)' });
  });

  it('defaults to keying by address', () => {
    expect(resolve(resolver({}))).toMatchObject({ clientKey: `ip:${IP}`, clientSource: 'ip' });
  });
});

describe('IdentityResolver: JWT', () => {
  it('looks a token up once when both tenant and client read it, and serves repeats from the cache', () => {
    const r = resolver({ tenant: [{ jwtClaim: 'org_id' }], client: [{ jwtSubject: true }], jwt });
    const headers = bearer(rsToken({ org_id: 'acme', sub: 'u1' }));
    expect(resolve(r, headers)).toMatchObject({ tenant: 'acme', clientKey: 'j:u1', subject: 'u1' });
    expect(r.jwt!.stats).toMatchObject({ misses: 1, hits: 0 });
    resolve(r, headers);
    expect(r.jwt!.stats).toMatchObject({ misses: 1, hits: 1 });
    // The same location written twice is still one lookup.
    const twice = resolver({ tenant: [{ jwtClaim: 'org_id', from: { cookie: 't' } }], client: [{ jwtSubject: true, from: { cookie: 't' } }], jwt });
    resolve(twice, { cookie: `t=${rsToken({ org_id: 'acme', sub: 'u1' })}` });
    expect(twice.jwt!.stats).toMatchObject({ misses: 1, hits: 0 });
  });

  it('reads different token locations separately', () => {
    const r = resolver({ tenant: [{ jwtClaim: 'org_id', from: { cookie: 'id_token' } }], client: [{ jwtSubject: true }], jwt });
    const id = resolve(r, { cookie: `id_token=${rsToken({ org_id: 'acme', sub: 'cookie-user' })}`, ...bearer(rsToken({ sub: 'bearer-user' })) });
    expect(id).toMatchObject({ tenant: 'acme', clientKey: 'j:bearer-user', subject: 'cookie-user' });
  });

  it('leaves subject unset when no token was verified', () => {
    const r = resolver({ client: [{ header: 'x-api-key' }, { jwtSubject: true }], jwt });
    expect(resolve(r, { 'x-api-key': 'k', ...bearer(rsToken({ sub: 'u1' })) }).subject).toBeUndefined();
    expect(resolve(r, bearer(rsToken({ sub: 'u1' }))).subject).toBe('u1');
  });

  it('throws IdentityConfigError naming the key when a key file cannot be loaded', () => {
    const config = identitySchema.parse({ client: [{ jwtSubject: true }], jwt: { keys: [{ jwksFile: '/nonexistent/jwks.json' }] } });
    expect(() => new IdentityResolver(config)).toThrow(IdentityConfigError);
    try {
      new IdentityResolver(config);
    } catch (err) {
      expect((err as IdentityConfigError).problems[0]?.path).toBe('identity.jwt.keys.0.jwksFile');
    }
  });
});

/**
 * identify and route, seen through the limits they select: which tenant's and which client's bucket a
 * request takes from, and what a route rule changes (class buckets, cost, per-route rate, bypass).
 * Rates are per hour, so no token refills during a test and every count is exact.
 */
import { describe, expect, it } from 'vitest';
import { capturingLogger, type Origin, type Proxy } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';
import { count, get, quickOrigin, sequential, statuses, until, type Reply } from './util.js';

const rig = proxyRig<Origin>();

async function setup(patch: Record<string, unknown>, logger = capturingLogger('info').logger): Promise<Proxy> {
  rig.origin = await quickOrigin();
  return rig.startProxy(rig.origin.url, patch, logger);
}

/** How many of `n` requests, sent one after another with these headers, pass. */
async function passes(n: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return count(await sequential(n, () => get(rig.proxy!.port, path, { headers })), 200);
}

describe('tenant', () => {
  it('comes from the header, then the host pattern, else the default tenant; each has its own bucket', async () => {
    const log = capturingLogger('info');
    await setup(
      {
        log: { requests: true },
        identity: { tenant: [{ header: 'x-tenant-id' }, { hostPattern: '{tenant}.example.test' }], defaultTenant: 'public' },
        limits: { tenant: { rate: '1/h', burst: 2 }, tenants: { acme: { rate: '1/h', burst: 4 }, public: { rate: '1/h', burst: 3 } } },
      },
      log.logger,
    );
    expect(await passes(6, '/', { 'x-tenant-id': 'acme' })).toBe(4);
    // The host names the same tenant: its bucket is the one the header emptied.
    expect(await passes(3, '/', { host: 'acme.example.test' })).toBe(0);
    expect(await passes(4, '/', { host: 'globex.example.test' })).toBe(2);
    // The header comes first: initech, not acme.
    expect(await passes(4, '/', { 'x-tenant-id': 'initech', host: 'acme.example.test' })).toBe(2);
    // A value outside the tenant id charset is ignored, as if the header were absent.
    expect(await passes(5, '/', { 'x-tenant-id': 'no such tenant!', host: 'localhost' })).toBe(3);
    expect(await passes(2, '/', { host: 'localhost' })).toBe(0);

    await until(() => log.lines.filter((l) => l['msg'] === 'request').length === 24, 'a log line per request');
    const tenants = log.lines.filter((l) => l['msg'] === 'request').map((l) => l['tenant']);
    expect(tenants).toEqual([
      ...Array(6).fill('acme'),
      ...Array(3).fill('acme'),
      ...Array(4).fill('globex'),
      ...Array(4).fill('initech'),
      ...Array(5).fill('public'),
      ...Array(2).fill('public'),
    ]);
  });
});

describe('client key', () => {
  it('from an API key header: each key has its own bucket, keyless clients fall back to their address, and the raw key is never logged', async () => {
    const log = capturingLogger('debug');
    const keys = ['sk_live_4f9a1c2e8b7d6a5f', 'sk_live_0b1c2d3e4f5a6b7c'];
    await setup(
      {
        log: { requests: true, level: 'debug' },
        identity: { client: [{ header: 'x-api-key' }, { ip: true }] },
        // The shadow tenant bucket logs the client key of every request it would refuse.
        limits: { client: { rate: '1/h', burst: 2 }, tenant: { rate: '1/h', burst: 1, shadow: true } },
      },
      log.logger,
    );
    expect(await passes(4, '/', { 'x-api-key': keys[0]! })).toBe(2);
    expect(await passes(4, '/', { 'x-api-key': keys[1]! })).toBe(2);
    expect(await passes(4, '/')).toBe(2);
    await until(() => log.lines.filter((l) => l['msg'] === 'request').length === 12, 'a log line per request');

    const shadowKeys = new Set(log.lines.filter((l) => l['msg'] === 'shadow limit would refuse').map((l) => String(l['clientKey'])));
    // Two hashed API keys and the address.
    expect(shadowKeys.size).toBe(3);
    expect([...shadowKeys].filter((k) => /^k:[A-Za-z0-9_-]{22}$/.test(k))).toHaveLength(2);
    expect(shadowKeys.has('ip:127.0.0.1')).toBe(true);
    const everything = JSON.stringify(log.lines);
    for (const key of keys) {
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(key.slice(8));
    }
    // The key itself still reaches the upstream.
    expect(rig.origin!.requests[0]!.headers['x-api-key']).toBe(keys[0]);
  });

  it('from a session cookie: two sessions on one address are two clients', async () => {
    await setup({ identity: { client: [{ cookie: 'sid' }] }, limits: { client: { rate: '1/h', burst: 2 } } });
    expect(await passes(3, '/', { cookie: 'theme=dark; sid=alice-session' })).toBe(2);
    expect(await passes(3, '/', { cookie: 'sid=bob-session' })).toBe(2);
    expect(await passes(1, '/', { cookie: 'sid=alice-session; theme=light' })).toBe(0);
  });

  it('from the client address behind a trusted proxy (X-Forwarded-For, right to left)', async () => {
    await setup({ identity: { trustedProxies: ['127.0.0.1'], client: [{ ip: true }] }, limits: { client: { rate: '1/h', burst: 2 } } });
    expect(await passes(3, '/', { 'x-forwarded-for': '203.0.113.5' })).toBe(2);
    expect(await passes(3, '/', { 'x-forwarded-for': '203.0.113.6' })).toBe(2);
    // A client cannot choose its address by adding entries on the left: the rightmost untrusted hop counts.
    expect(await passes(2, '/', { 'x-forwarded-for': '198.51.100.1, 203.0.113.5' })).toBe(0);
    // Trusted hops are skipped.
    expect(await passes(2, '/', { 'x-forwarded-for': '203.0.113.6, 127.0.0.1' })).toBe(0);
    expect(rig.origin!.requests[0]!.headers['x-forwarded-for']).toBe('203.0.113.5, 127.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    await setup({ identity: { client: [{ ip: true }] }, limits: { client: { rate: '1/h', burst: 2 } } });
    const replies = await sequential(4, (i) => get(rig.proxy!.port, '/', { headers: { 'x-forwarded-for': `203.0.113.${10 + i}` } }));
    expect(statuses(replies)).toEqual([200, 200, 429, 429]);
  });
});

describe('routes', () => {
  const routes = [
    { name: 'static', path: '/static/**', bypass: true },
    { name: 'automation', path: '/api/automation/**', class: 'bulk' },
    { name: 'export', path: '/api/export', cost: 3 },
    { name: 'huge', path: '/api/huge', cost: 20 },
    { name: 'ping', path: '/api/ping', cost: 0 },
    { name: 'search', path: '/api/search', limits: { rate: '1/h', burst: 3 } },
  ];

  it('class bucket: limits.tenant.classes.bulk applies per tenant to routes of class bulk only', async () => {
    await setup({
      routes,
      identity: { tenant: [{ header: 'x-tenant-id' }] },
      limits: { tenant: { classes: { bulk: { rate: '1/h', burst: 2 } } }, tenants: { acme: { classes: { bulk: { rate: '1/h', burst: 4 } } } } },
    });
    const a = { 'x-tenant-id': 'globex' };
    expect(await passes(4, '/api/automation/sync', a)).toBe(2);
    // Normal traffic of the same tenant is not in the bulk bucket.
    expect(await passes(5, '/api/orders', a)).toBe(5);
    expect(await passes(3, '/api/automation/sync', { 'x-tenant-id': 'initech' })).toBe(2);
    expect(await passes(6, '/api/automation/sync', { 'x-tenant-id': 'acme' })).toBe(4);
    const refused = await get(rig.proxy!.port, '/api/automation/other', { headers: a });
    expect(refused.status).toBe(429);
    expect(refused.json()['limit']).toBe('tenant-bulk');
    expect(refused.headers['ratelimit-policy']).toBe('"tenant-bulk";q=2;w=7200');
  });

  it('a route class refusal does not drain the client bucket it was decided with', async () => {
    await setup({ routes, limits: { client: { rate: '1/h', burst: 5 }, tenant: { classes: { bulk: { rate: '1/h', burst: 2 } } } } });
    expect(await passes(6, '/api/automation/sync')).toBe(2);
    // 2 of the client's 5 tokens are gone, not 6.
    expect(await passes(5, '/api/orders')).toBe(3);
  });

  it('cost: a route taking 3 tokens drains the client bucket three times as fast', async () => {
    await setup({ routes, limits: { client: { rate: '1/h', burst: 10 } } });
    const exports = await sequential(4, () => get(rig.proxy!.port, '/api/export'));
    expect(statuses(exports)).toEqual([200, 200, 200, 429]);
    // 9 tokens taken; the refused export took none, so one plain request still fits.
    expect(statuses(await sequential(2, () => get(rig.proxy!.port, '/api/orders')))).toEqual([200, 429]);
  });

  it('cost 0: never refused by a bucket, and takes nothing from it', async () => {
    await setup({ routes, limits: { client: { rate: '1/h', burst: 1 } } });
    expect(await passes(1, '/api/orders')).toBe(1);
    expect(await passes(5, '/api/ping')).toBe(5);
  });

  it('a cost above the burst is refused with a detail that says it can never pass, and takes nothing', async () => {
    await setup({ routes, limits: { client: { rate: '1/h', burst: 10 } } });
    const r = await get(rig.proxy!.port, '/api/huge');
    expect(r.status).toBe(429);
    expect(r.json()['detail']).toBe('This request costs 20 tokens, more than the "client" limit can ever hold (10).');
    expect(r.headers['retry-after']).toMatch(/^\d+$/);
    expect(rig.origin!.requests).toHaveLength(0);
    expect(await passes(11, '/api/orders')).toBe(10);
  });

  it('limits.rate on a route replaces the client bucket for that route, per client', async () => {
    await setup({ routes, identity: { client: [{ header: 'x-api-key' }] }, limits: { client: { rate: '1/h', burst: 1 } } });
    const alice = { 'x-api-key': 'alice' };
    expect(await passes(5, '/api/search', alice)).toBe(3);
    expect(await passes(3, '/api/orders', alice)).toBe(1);
    expect(await passes(5, '/api/search', { 'x-api-key': 'bob' })).toBe(3);
    const refused = await get(rig.proxy!.port, '/api/search', { headers: alice });
    expect(refused.json()['limit']).toBe('route-search');
    expect(refused.headers['ratelimit-policy']).toBe('"route-search";q=3;w=10800');
  });

  it('bypass routes skip the limits and take no tokens', async () => {
    await setup({ routes, limits: { client: { rate: '1/h', burst: 1 }, tenant: { rate: '1/h', burst: 1 } } });
    const replies: Reply[] = await Promise.all(Array.from({ length: 10 }, (_, i) => get(rig.proxy!.port, `/static/app-${i}.js`)));
    expect(count(replies, 200)).toBe(10);
    expect(statuses(await sequential(2, () => get(rig.proxy!.port, '/api/orders')))).toEqual([200, 429]);
    expect(await passes(3, '/static/late.css')).toBe(3);
  });
});

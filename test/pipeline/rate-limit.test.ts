/**
 * The rate-limit phase through real sockets: a real Anteroom in front of a real origin. Rates are slow
 * (per minute or per hour) wherever the test counts passes, so no token refills during the test and
 * the counts are exact; where a refill is part of the point, the test waits for it and counts what
 * passed meanwhile.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { capturingLogger, startOrigin, type Origin, type Proxy } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';
import { count, get, quickOrigin, sequential, sleep, statuses, until } from './util.js';

const rig = proxyRig<Origin>();

async function setup(patch: Record<string, unknown>, logger = capturingLogger('debug').logger): Promise<{ origin: Origin; proxy: Proxy }> {
  rig.origin = await quickOrigin();
  return { origin: rig.origin, proxy: await rig.startProxy(rig.origin.url, patch, logger) };
}

/** The fields of a RateLimit or RateLimit-Policy item, e.g. `"client";r=0;t=5` -> { name: client, r: 0, t: 5 }. */
function parseItems(field: string | string[] | undefined): { name: string; params: Record<string, number> }[] {
  expect(typeof field).toBe('string');
  return (field as string).split(/,\s*/).map((item) => {
    const [name, ...params] = item.split(';');
    expect(name).toMatch(/^"[a-z0-9-]+"$/);
    const out: Record<string, number> = {};
    for (const p of params) {
      const m = /^([a-z]+)=(\d+)$/.exec(p);
      expect(m, `parameter ${p} of ${item}`).not.toBeNull();
      out[m![1]!] = Number(m![2]);
    }
    return { name: name!.slice(1, -1), params: out };
  });
}

describe('client bucket', () => {
  it('lets exactly `burst` of a burst through and answers the rest 429 with Retry-After, RateLimit headers and problem+json', async () => {
    // 6/min: one token every 10 s, so nothing refills while the burst runs.
    const { origin, proxy } = await setup({ limits: { client: { rate: '6/min', burst: 5 } } });
    const before = performance.now();
    const replies = await Promise.all(Array.from({ length: 12 }, () => get(proxy.port, '/api/items')));
    expect(count(replies, 200)).toBe(5);
    expect(count(replies, 429)).toBe(7);
    expect(origin.requests).toHaveLength(5);

    for (const r of replies.filter((x) => x.status === 429)) {
      // Retry-After: whole seconds, never before the next token is really there (10 s after the
      // first request took the fifth token; at most the test's runtime has passed since then).
      const retryAfter = r.headers['retry-after'];
      expect(retryAfter).toMatch(/^\d+$/);
      const elapsedMs = performance.now() - before;
      expect(Number(retryAfter) * 1000).toBeGreaterThanOrEqual(10_000 - elapsedMs);
      // Jitter spreads retries by at most a quarter of the wait (at least 1 s): 10 s + 2.5 s.
      expect(Number(retryAfter)).toBeLessThanOrEqual(13);

      const policy = parseItems(r.headers['ratelimit-policy']);
      expect(policy).toEqual([{ name: 'client', params: { q: 5, w: 50 } }]);
      const state = parseItems(r.headers['ratelimit']);
      expect(state).toHaveLength(1);
      expect(state[0]!.name).toBe('client');
      expect(state[0]!.params['r']).toBe(0);
      // The bucket is full again 5 tokens * 10 s after the first request.
      expect(state[0]!.params['t']).toBeGreaterThanOrEqual(49);
      expect(state[0]!.params['t']).toBeLessThanOrEqual(50);

      expect(r.headers['content-type']).toBe('application/problem+json');
      const body = r.json();
      expect(body['code']).toBe('ANT_RATE_LIMITED');
      expect(body['status']).toBe(429);
      expect(body['type']).toBe('urn:anteroom:error:ANT_RATE_LIMITED');
      expect(body['limit']).toBe('client');
      expect(body['retryAfterMs']).toBeGreaterThan(10_000 - (performance.now() - before) - 1);
      expect(String(body['detail'])).toContain('Rate limit "client" (6/min, burst 5) reached');
      expect(body['requestId']).toBe(r.headers['x-request-id']);
    }
  });

  it('answers a refused browser navigation with an HTML page, still with Retry-After', async () => {
    const { proxy } = await setup({ limits: { client: { rate: '1/h', burst: 1 } } });
    const page = { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } };
    expect((await get(proxy.port, '/', page)).status).toBe(200);
    const refused = await get(proxy.port, '/', page);
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(3590);
    expect(refused.body).toMatch(/^<!doctype html>/);
    expect(refused.body).toContain('<h1>Too many requests</h1>');
    expect(refused.body).toContain('Rate limit &quot;client&quot; (1/h, burst 1) reached');
    // An API call of the same client gets JSON, not the page.
    const api = await get(proxy.port, '/', { headers: { accept: 'application/json' } });
    expect(api.status).toBe(429);
    expect(api.headers['content-type']).toBe('application/problem+json');
  });

  it('sends RateLimit headers on admitted responses only with headersOnSuccess', async () => {
    const { proxy } = await setup({ limits: { client: { rate: '1/h', burst: 3 }, headersOnSuccess: true } });
    const [first, second] = await sequential(2, () => get(proxy.port, '/'));
    expect(first!.status).toBe(200);
    expect(first!.headers['ratelimit-policy']).toBe('"client";q=3;w=10800');
    expect(first!.headers['ratelimit']).toBe('"client";r=2;t=3600');
    expect(second!.headers['ratelimit']).toBe('"client";r=1;t=7200');
    await proxy.stop();
    await rig.origin!.close();

    // Without headersOnSuccess an admitted response carries no RateLimit fields of anteroom's.
    const plain = await setup({ limits: { client: { rate: '1/h', burst: 3 } } });
    const ok = await get(plain.proxy.port, '/');
    expect(ok.status).toBe(200);
    expect(ok.headers['ratelimit-policy']).toBeUndefined();
    expect(ok.headers['ratelimit']).toBeUndefined();
  });

  it("keeps the upstream's own RateLimit policies after anteroom's", async () => {
    rig.origin = await startOrigin((_req, res) => {
      res.setHeader('ratelimit-policy', '"app";q=100;w=60');
      res.setHeader('ratelimit', '"app";r=99;t=60');
      res.end('ok');
    });
    const proxy = await rig.startProxy(rig.origin.url, { limits: { client: { rate: '1/h', burst: 3 }, headersOnSuccess: true } });
    const r = await get(proxy.port, '/');
    expect(r.headers['ratelimit-policy']).toBe('"client";q=3;w=10800, "app";q=100;w=60');
    expect(r.headers['ratelimit']).toBe('"client";r=2;t=3600, "app";r=99;t=60');
  });

  it('logs each refusal with its reason and the config entry behind it', async () => {
    const log = capturingLogger('info');
    const { proxy } = await setup(
      {
        log: { requests: true },
        identity: { tenant: [{ header: 'x-tenant-id' }] },
        limits: { tenant: { rate: '1/h', burst: 5 }, tenants: { acme: { rate: '1/h', burst: 1 } } },
      },
      log.logger,
    );
    const replies = await sequential(2, () => get(proxy.port, '/orders', { headers: { 'x-tenant-id': 'acme' } }));
    expect(statuses(replies)).toEqual([200, 429]);
    await until(() => log.lines.filter((l) => l['msg'] === 'request').length === 2, 'two request log lines');
    const [ok, refused] = log.lines.filter((l) => l['msg'] === 'request');
    expect(ok).toMatchObject({ decision: 'forward', status: 200, tenant: 'acme', path: '/orders' });
    expect(ok!['refusal']).toBeUndefined();
    expect(refused).toMatchObject({
      decision: 'refuse',
      status: 429,
      refusal: 'ANT_RATE_LIMITED',
      tenant: 'acme',
      source: 'limits.tenants.acme.rate',
    });
    expect(String(refused!['reason'])).toContain('Rate limit "tenant" (1/h, burst 1) reached');
  });
});

describe('tenant and client decided together', () => {
  it('a request refused by the tenant bucket takes nothing from the client bucket', async () => {
    // Tenant: 3 at once, refilling in 100 ms steps. Client: 6, refilling hourly (not during the test).
    const { proxy } = await setup({ limits: { client: { rate: '1/h', burst: 6 }, tenant: { rate: '10/s', burst: 3 } } });
    const first = await sequential(3, () => get(proxy.port, '/'));
    expect(statuses(first)).toEqual([200, 200, 200]);
    // The tenant bucket is empty now; the client bucket has 3 left.
    const refused = await Promise.all(Array.from({ length: 8 }, () => get(proxy.port, '/')));
    const passedMeanwhile = count(refused, 200); // tenant tokens that refilled while these ran
    const tenantRefusals = refused.filter((r) => r.status === 429);
    expect(tenantRefusals.length).toBeGreaterThanOrEqual(6);
    for (const r of tenantRefusals) expect(r.json()['limit']).toBe('tenant');
    // Let the tenant bucket fill up again (3 tokens at 10/s), then count what the client has left.
    await sleep(500);
    const after = await sequential(6, () => get(proxy.port, '/'));
    // Had the tenant's refusals drained the client bucket, nothing would pass now.
    expect(count(after, 200)).toBe(3 - passedMeanwhile);
    const last = after.at(-1)!;
    expect(last.status).toBe(429);
    expect(last.json()['limit']).toBe('client');
    // Both policies are announced; the state is the refusing bucket's.
    expect(parseItems(last.headers['ratelimit-policy']).map((p) => p.name)).toEqual(['client', 'tenant']);
    expect(parseItems(last.headers['ratelimit'])[0]!.name).toBe('client');
  });

  it('per-tenant overrides: limits.tenants.acme.rate replaces the tenant default for acme only', async () => {
    const { proxy } = await setup({
      identity: { tenant: [{ header: 'x-tenant-id' }] },
      limits: { tenant: { rate: '1/h', burst: 2 }, tenants: { acme: { rate: '2/h', burst: 5 } } },
    });
    const as = (tenant: string | undefined) => () => get(proxy.port, '/', { headers: tenant ? { 'x-tenant-id': tenant } : {} });
    expect(count(await sequential(8, as('acme')), 200)).toBe(5);
    expect(count(await sequential(8, as('globex')), 200)).toBe(2);
    expect(count(await sequential(8, as(undefined)), 200)).toBe(2);
    const refused = await as('acme')();
    expect(refused.status).toBe(429);
    expect(refused.json()['detail']).toContain('Rate limit "tenant" (2/h, burst 5) reached');
    expect(refused.headers['ratelimit-policy']).toBe('"tenant";q=5;w=9000');
  });
});

describe('shadow mode', () => {
  it('refuses nothing but logs every request it would have refused', async () => {
    const log = capturingLogger('info');
    const { origin, proxy } = await setup(
      { limits: { client: { rate: '1/h', burst: 2, shadow: true }, tenant: { rate: '1/h', burst: 10 } } },
      log.logger,
    );
    const replies = await sequential(5, () => get(proxy.port, '/'));
    expect(statuses(replies)).toEqual([200, 200, 200, 200, 200]);
    expect(origin.requests).toHaveLength(5);
    const shadow = log.lines.filter((l) => l['msg'] === 'shadow limit would refuse');
    expect(shadow).toHaveLength(3);
    for (const l of shadow) {
      expect(l['limit']).toBe('client');
      expect(l['source']).toBe('limits.client');
      expect(l['level']).toBe(40);
    }
    expect(proxy.app.rt.limits.shadowRefusals).toBe(3);
    // The enforced tenant bucket still counted all five: five more pass, the sixth is refused.
    const more = await sequential(6, () => get(proxy.port, '/'));
    expect(statuses(more)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(more[5]!.json()['limit']).toBe('tenant');
  });
});

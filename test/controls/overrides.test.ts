/**
 * Runtime limit overrides through the admin API (incident 001: turning one account down without a
 * deploy): a tenant's rate and concurrency, a route's per-client rate and concurrency take effect on
 * the next request, touch nobody else, and are gone once cleared. Rates are per minute so that nothing
 * refills during a test.
 */
import { describe, expect, it } from 'vitest';
import { countingOrigin, get, until, type CountingOrigin } from '../pipeline/util.js';
import type { Proxy } from '../helpers/index.js';
import { proxyRig } from '../helpers/proxyRig.js';
import { adminOk, TOKEN } from '../admin/adminClient.js';

const rig = proxyRig<CountingOrigin>();

async function setup(holdSlow = false): Promise<Proxy> {
  rig.origin = await countingOrigin({ hold: (req) => holdSlow && (req.url ?? '').includes('slow') });
  return rig.startProxy(rig.origin.url, {
    admin: { token: TOKEN },
    identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
    routes: [{ name: 'export', path: '/export/**' }],
    limits: { wait: { timeoutMs: 200 } },
  });
}

function req(p: Proxy, path: string, tenant: string, client = 'c') {
  return get(p.port, path, { headers: { 'x-tenant-id': tenant, 'x-client-id': client } });
}

describe('limit overrides', () => {
  it("a tenant's rate override refuses past its burst, leaves other tenants alone, and clears", async () => {
    const p = await setup();
    expect((await adminOk(p, 'PUT', '/overrides/tenants/acme', { rate: '2/min', burst: 2, reason: 'runaway automation' }))['override']).toMatchObject({ rate: '2/min', burst: 2 });
    expect((await req(p, '/a', 'acme')).status).toBe(200);
    expect((await req(p, '/a', 'acme', 'other-client')).status).toBe(200);
    const refused = await req(p, '/a', 'acme');
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'ANT_RATE_LIMITED', limit: 'tenant' });
    expect(refused.headers['ratelimit-policy']).toBe('"tenant";q=2;w=60');
    for (let i = 0; i < 5; i++) expect((await req(p, '/g', 'globex')).status).toBe(200);
    await adminOk(p, 'DELETE', '/overrides/tenants/acme');
    expect((await req(p, '/a', 'acme')).status).toBe(200);
  });

  it("a tenant's concurrency override caps what it has in flight, and clears", async () => {
    const p = await setup(true);
    await adminOk(p, 'PUT', '/overrides/tenants/acme', { concurrency: 1 });
    const first = req(p, '/slow/1', 'acme');
    await until(() => rig.origin!.held === 1, 'the first acme request at the origin');
    // A second one waits for the slot and gives up after limits.wait.timeoutMs.
    const second = await req(p, '/slow/2', 'acme');
    expect(second.status).toBe(503);
    expect(second.json()).toMatchObject({ code: 'ANT_CAPACITY' });
    // Another tenant is not capped.
    const other = req(p, '/slow/3', 'globex');
    await until(() => rig.origin!.held === 2, 'the globex request at the origin');
    await adminOk(p, 'DELETE', '/overrides/tenants/acme');
    const third = req(p, '/slow/4', 'acme');
    await until(() => rig.origin!.held === 3, 'a second acme request in flight once cleared');
    rig.origin!.releaseAll();
    expect((await first).status).toBe(200);
    expect((await other).status).toBe(200);
    expect((await third).status).toBe(200);
  });

  it("a route's override limits each client on that route only", async () => {
    const p = await setup(true);
    await adminOk(p, 'PUT', '/overrides/routes/export', { rate: '1/min' });
    expect((await req(p, '/export/a', 'acme', 'x')).status).toBe(200);
    const refused = await req(p, '/export/b', 'acme', 'x');
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ limit: 'route-export' });
    // Per client: another client has its own bucket; other routes are not limited.
    expect((await req(p, '/export/a', 'acme', 'y')).status).toBe(200);
    expect((await req(p, '/other', 'acme', 'x')).status).toBe(200);
    await adminOk(p, 'DELETE', '/overrides/routes/export');
    expect((await req(p, '/export/c', 'acme', 'x')).status).toBe(200);
  });

  it("a route's concurrency override caps that route only", async () => {
    const p = await setup(true);
    await adminOk(p, 'PUT', '/overrides/routes/export', { concurrency: 1 });
    const first = req(p, '/export/slow1', 'acme', 'x');
    await until(() => rig.origin!.held === 1, 'the first export request at the origin');
    const second = await req(p, '/export/slow2', 'globex', 'y');
    expect(second.status).toBe(503);
    expect(second.json()).toMatchObject({ code: 'ANT_CAPACITY' });
    const elsewhere = req(p, '/slow/elsewhere', 'acme', 'x');
    await until(() => rig.origin!.held === 2, 'a request on another route at the origin');
    rig.origin!.releaseAll();
    expect((await first).status).toBe(200);
    expect((await elsewhere).status).toBe(200);
    await adminOk(p, 'DELETE', '/overrides/routes/export');
    expect((await req(p, '/export/c', 'acme', 'x')).status).toBe(200);
  });
});

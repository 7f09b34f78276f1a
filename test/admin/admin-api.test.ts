/**
 * The admin listener over real sockets: every endpoint refuses a missing and a wrong token (unknown
 * paths too, so nothing is revealed without one), bad bodies get a 400 that names the field and the
 * value, the listener refuses a non-loopback host without a token, /status has what a dashboard
 * polls for, /reload re-reads the start file and refuses a broken one, /metrics serves a registry.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdminConfigError } from '../../src/admin/adminServer.js';
import { Anteroom } from '../../src/app.js';
import { proxyConfig, silentLogger, startProxy, type Origin, type Proxy } from '../helpers/index.js';
import { quickOrigin } from '../pipeline/util.js';
import { admin, adminOk, TOKEN } from './adminClient.js';

let origin: Origin;
let proxy: Proxy;
let dir: string;

const PATCH = {
  admin: { token: TOKEN },
  identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-api-key' }, { cookie: 'sid' }] },
  routes: [{ name: 'export', path: '/export/**' }],
  limits: { tenants: { acme: { rate: '100/s' } } },
};

beforeAll(async () => {
  origin = await quickOrigin();
  proxy = await startProxy(origin.url, PATCH);
  dir = mkdtempSync(join(tmpdir(), 'anteroom-admin-'));
});

afterAll(async () => {
  await proxy?.stop();
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ENDPOINTS: [string, string, unknown?][] = [
  ['GET', '/status'],
  ['GET', '/blocks'],
  ['POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'x' }],
  ['DELETE', '/blocks/abc'],
  ['GET', '/modes'],
  ['PUT', '/modes', { mode: 'pause' }],
  ['DELETE', '/modes'],
  ['PUT', '/modes/tenants/acme', { mode: 'pause' }],
  ['DELETE', '/modes/tenants/acme'],
  ['GET', '/overrides'],
  ['PUT', '/overrides/tenants/acme', { rate: '1/s' }],
  ['DELETE', '/overrides/tenants/acme'],
  ['PUT', '/overrides/routes/export', { concurrency: 1 }],
  ['DELETE', '/overrides/routes/export'],
  ['POST', '/reload'],
  ['GET', '/metrics'],
  ['GET', '/no/such/endpoint'],
];

describe('admin API authentication', () => {
  it.each(ENDPOINTS)('%s %s: 401 without a token and with a wrong one, and changes nothing', async (method, path, body) => {
    const missing = await admin(proxy, method, path, body, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="anteroom-admin"');
    expect(missing.json()['message']).toMatch(/missing token/);
    const wrong = await admin(proxy, method, path, body, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json()['message']).toBe('wrong token');
    // Not a bearer credential at all.
    const basic = await fetch(`http://127.0.0.1:${proxy.app.adminAddress!.port}${path}`, { method, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(proxy.app.rt.controls.state.blocks()).toEqual([]);
    expect(proxy.app.rt.controls.state.modesSet).toBe(false);
  });

  it('answers an unknown path with 404 once the token is right', async () => {
    const r = await admin(proxy, 'GET', '/no/such/endpoint');
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ error: 'not found' });
    expect(r.json()['message']).toContain('GET /no/such/endpoint');
  });
});

describe('admin API bodies', () => {
  afterEach(async () => {
    for (const b of proxy.app.rt.controls.state.blocks()) await proxy.app.rt.controls.removeBlock(b.id);
  });

  it.each([
    ['POST', '/blocks', { kind: 'planet', value: 'x', reason: 'r' }, /kind: expected one of: client, session, ip, tenant, route \(got "planet"\)/],
    ['POST', '/blocks', { kind: 'ip', value: '999.1.1.1', reason: 'r' }, /value: expected an IP address or CIDR block.*\(got "999\.1\.1\.1"\)/],
    ['POST', '/blocks', { kind: 'ip', value: '10.0.0.0/33', reason: 'r' }, /value: expected a prefix length of 0 to 32/],
    ['POST', '/blocks', { kind: 'tenant', value: 'acme' }, /reason: is required/],
    ['POST', '/blocks', { kind: 'tenant', value: 'acme', reason: '  ' }, /reason: is required: say why/],
    ['POST', '/blocks', { kind: 'tenant', value: 'a b', reason: 'r' }, /value: expected a tenant id.*\(got "a b"\)/],
    ['POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'r', ttlS: -5 }, /ttlS: expected at least 1 \(got -5\)/],
    ['POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'r', ttlS: '10m' }, /ttlS: expected number \(got "10m"\)/],
    ['POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'r', colour: 'red' }, /colour: unknown field; expected one of: kind, value, reason/],
    ['POST', '/blocks', { kind: 'route', value: 'exprot', reason: 'r' }, /value: no route is named "exprot"; expected one of: default, export/],
    ['POST', '/blocks', [1, 2], /body: expected object/],
    ['PUT', '/modes', { mode: 'sleep' }, /mode: expected one of: auto, open, queue-all, maintenance, pause \(got "sleep"\)/],
    ['PUT', '/modes', {}, /mode: is required/],
    ['PUT', '/modes/tenants/a%20b', { mode: 'pause' }, /tenant: expected a tenant id.*\(got "a b"\)/],
    ['PUT', '/overrides/tenants/-x', { concurrency: 1 }, /tenant: expected a tenant id.*\(got "-x"\)/],
    ['PUT', '/overrides/tenants/acme', { rate: 'fast' }, /rate: expected a rate like 20\/s.*\(got "fast"\)/],
    ['PUT', '/overrides/tenants/acme', { rate: '0/s' }, /rate: .*above zero/],
    ['PUT', '/overrides/tenants/acme', {}, /expected at least one of rate, burst, concurrency/],
    ['PUT', '/overrides/tenants/globex', { burst: 5 }, /burst: tenant globex has no rate limit/],
    ['PUT', '/overrides/routes/nope', { concurrency: 1 }, /route: no route is named "nope"/],
    ['PUT', '/overrides/routes/export', { concurrency: 0 }, /concurrency: expected at least 1 \(got 0\)/],
  ] as const)('%s %s %j: 400 naming the problem', async (method, path, body, message) => {
    const r = await admin(proxy, method, path, body);
    expect(r.status, r.text).toBe(400);
    expect(r.json()['error']).toBe('bad request');
    expect(r.json()['message']).toMatch(message);
    expect(proxy.app.rt.controls.state.blocks()).toEqual([]);
  });

  it('refuses a body that is not JSON, and a session block without a session cookie configured', async () => {
    const r = await admin(proxy, 'POST', '/blocks', '{"kind": ');
    expect(r.status).toBe(400);
    expect(r.json()['error']).toBe('bad request');
    const noCookies = await startProxy(origin.url, { admin: { token: TOKEN } });
    try {
      const s = await admin(noCookies, 'POST', '/blocks', { kind: 'session', value: 'abc', reason: 'r' });
      expect(s.status).toBe(400);
      expect(s.json()['message']).toMatch(/no session cookie is configured/);
    } finally {
      await noCookies.stop();
    }
  });

  it('stores a session block as its key, never the cookie itself', async () => {
    const body = await adminOk(proxy, 'POST', '/blocks', { kind: 'session', value: 'secret-session-id', reason: 'stolen' });
    const block = body['block'] as Record<string, unknown>;
    expect(block['value']).toBe(proxy.app.rt.identity.sessionKey('secret-session-id'));
    expect(JSON.stringify(await adminOk(proxy, 'GET', '/blocks'))).not.toContain('secret-session-id');
  });

  it('answers 404 for a block, mode or override that is not there', async () => {
    expect((await admin(proxy, 'DELETE', '/blocks/nope')).status).toBe(404);
    expect((await admin(proxy, 'DELETE', '/modes')).json()['message']).toMatch(/no global runtime mode is set; the config's room.mode \(auto\)/);
    expect((await admin(proxy, 'DELETE', '/modes/tenants/acme')).status).toBe(404);
    expect((await admin(proxy, 'DELETE', '/overrides/routes/export')).status).toBe(404);
  });
});

describe('admin API answers', () => {
  it('lists and lifts what was set', async () => {
    const added = await adminOk(proxy, 'POST', '/blocks', { kind: 'ip', value: '10.0.0.0/8', reason: 'scanner', ttlS: 600, message: 'Go away.' });
    const b = added['block'] as Record<string, unknown>;
    expect(b).toMatchObject({ kind: 'ip', value: '10.0.0.0/8', reason: 'scanner', message: 'Go away.', websocketsOnly: false, closeWebsockets: false, expiresInS: 600 });
    expect(added['shared']).toBe(true);
    expect(((await adminOk(proxy, 'GET', '/blocks'))['blocks'] as unknown[]).length).toBe(1);
    expect(await adminOk(proxy, 'DELETE', `/blocks/${String(b['id'])}`)).toMatchObject({ removed: { id: b['id'] } });

    await adminOk(proxy, 'PUT', '/modes', { mode: 'queue-all', reason: 'launch' });
    await adminOk(proxy, 'PUT', '/modes/tenants/acme', { mode: 'maintenance', message: 'Back at noon' });
    expect(await adminOk(proxy, 'GET', '/modes')).toMatchObject({
      config: 'auto',
      global: { mode: 'queue-all', reason: 'launch', tenant: null },
      tenants: [{ tenant: 'acme', mode: 'maintenance', message: 'Back at noon' }],
    });
    await adminOk(proxy, 'DELETE', '/modes/tenants/acme');
    expect(await adminOk(proxy, 'DELETE', '/modes')).toMatchObject({ global: null, tenants: [] });

    expect(await adminOk(proxy, 'PUT', '/overrides/tenants/acme', { rate: '3/min', burst: 3 })).toMatchObject({ override: { scope: 'tenant', name: 'acme', rate: '3/min', burst: 3, concurrency: null } });
    expect(await adminOk(proxy, 'GET', '/overrides')).toMatchObject({ overrides: [{ name: 'acme' }] });
    await adminOk(proxy, 'DELETE', '/overrides/tenants/acme');
    expect(await adminOk(proxy, 'GET', '/overrides')).toEqual({ overrides: [] });
  });

  it('reports every upstream and every tenant it has seen in /status', async () => {
    await fetch(`${proxy.url}/x`, { headers: { 'x-tenant-id': 'acme' } });
    const blocked = await adminOk(proxy, 'POST', '/blocks', { kind: 'tenant', value: 'globex', reason: 'r' });
    await fetch(`${proxy.url}/x`, { headers: { 'x-tenant-id': 'globex' } });
    await fetch(`${proxy.url}/x`, { headers: { 'x-tenant-id': 'globex' } });
    const status = await adminOk(proxy, 'GET', '/status');
    await adminOk(proxy, 'DELETE', `/blocks/${String((blocked['block'] as Record<string, unknown>)['id'])}`);
    expect(status).toMatchObject({
      instance: proxy.app.rt.instanceId,
      draining: false,
      store: { kind: 'memory', degraded: false },
      room: { queue: 'local', mode: { config: 'auto', global: null } },
      controls: { backend: 'memory', synced: true, blocks: 1 },
      upstreams: [{ name: 'app', url: `${origin.url}/`, inFlight: 0, limit: null, limitSource: 'none' }],
    });
    const tenants = status['tenants'] as Record<string, unknown>[];
    expect(tenants.find((t) => t['tenant'] === 'globex')).toMatchObject({ mode: 'auto', refusals: { ANT_BLOCKED: 2 }, waiting: { total: 0 } });
    // A tenant with limits of its own is listed before it is seen.
    expect(tenants.find((t) => t['tenant'] === 'acme')).toMatchObject({ refusals: {}, admittedSessions: 0, inFlight: 0, websockets: 0 });
  });

  it('reloads the file the proxy started from, and keeps the config when the file is broken', async () => {
    const file = join(dir, 'anteroom.yaml');
    const yaml = (rate: string) => `listen: { host: 127.0.0.1, port: 0 }\nadmin: { host: 127.0.0.1, port: 0, token: ${TOKEN} }\nupstreams: { app: { url: "${origin.url}" } }\nlimits: { client: { rate: ${rate} } }\nlog: { level: silent, requests: false }\n`;
    writeFileSync(file, yaml('10/s'));
    const config = proxyConfig(origin.url, { admin: { token: TOKEN }, limits: { client: { rate: '10/s' } } });
    const app = new Anteroom(config, { logger: silentLogger(), configFile: file });
    await app.start();
    const p: Proxy = { app, port: 0, url: '', config, stop: () => app.stop(0) };
    try {
      writeFileSync(file, yaml('5/s'));
      expect(await adminOk(p, 'POST', '/reload')).toEqual({ ok: true, changed: ['limits'], needsRestart: [] });
      expect(app.rt.limits.plan.client!.rate).toBe(5);
      writeFileSync(file, yaml('fast'));
      const bad = await admin(p, 'POST', '/reload');
      expect(bad.status).toBe(422);
      expect(bad.json()).toMatchObject({ ok: false, errors: [{ path: 'limits.client.rate', value: 'fast' }] });
      expect(app.rt.limits.plan.client!.rate).toBe(5);
    } finally {
      await app.stop(0);
    }
    const r = await admin(proxy, 'POST', '/reload');
    expect(r.status).toBe(422);
    expect(r.json()['errors']).toEqual([{ path: '', message: 'anteroom was not started from a config file; there is nothing to reload' }]);
  });

  it('serves /metrics: its own registry by default, or the one it was given', async () => {
    const own = await admin(proxy, 'GET', '/metrics');
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(own.text).toMatch(/^# HELP anteroom_/m);
    const config = proxyConfig(origin.url, { admin: { token: TOKEN } });
    const app = new Anteroom(config, { logger: silentLogger(), metrics: { contentType: 'text/plain; version=0.0.4', render: async () => 'anteroom_up 1\n' } });
    await app.start();
    try {
      const r = await admin({ app, port: 0, url: '', config, stop: () => app.stop(0) }, 'GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4');
      expect(r.text).toBe('anteroom_up 1\n');
    } finally {
      await app.stop(0);
    }
  });
});

describe('admin listener address', () => {
  it('refuses to listen beyond loopback without a token, before the public listener starts', async () => {
    const config = proxyConfig(origin.url, { admin: { host: '0.0.0.0', port: 0 } });
    const app = new Anteroom(config, { logger: silentLogger(), env: {} });
    await expect(app.start()).rejects.toThrow(AdminConfigError);
    await expect(app.start()).rejects.toThrow(/admin.host is 0.0.0.0, which is not loopback, and no admin token is set.*Set admin.token \(or ANTEROOM_ADMIN_TOKEN\), or listen on 127.0.0.1/);
    expect(app.server.listening).toBe(false);
    await app.rt.close();
  });

  it('listens beyond loopback with a token from the environment, and requires it', async () => {
    const config = proxyConfig(origin.url, { admin: { host: '0.0.0.0', port: 0 } });
    const app = new Anteroom(config, { logger: silentLogger(), env: { ANTEROOM_ADMIN_TOKEN: 'from-env' } });
    await app.start();
    const p: Proxy = { app, port: 0, url: '', config, stop: () => app.stop(0) };
    try {
      expect((await admin(p, 'GET', '/status', undefined, null)).status).toBe(401);
      expect((await admin(p, 'GET', '/status', undefined, 'from-env')).status).toBe(200);
    } finally {
      await app.stop(0);
    }
  });

  it('needs no token on loopback when none is set', async () => {
    const config = proxyConfig(origin.url);
    const app = new Anteroom(config, { logger: silentLogger(), env: {} });
    await app.start();
    try {
      expect((await admin({ app, port: 0, url: '', config, stop: () => app.stop(0) }, 'GET', '/blocks', undefined, null)).status).toBe(200);
    } finally {
      await app.stop(0);
    }
  });

  it('without a token, refuses requests that name another host (DNS rebinding), and changes nothing', async () => {
    const config = proxyConfig(origin.url);
    const app = new Anteroom(config, { logger: silentLogger(), env: {} });
    await app.start();
    const port = app.adminAddress!.port;
    const ask = (host: string, method = 'GET', path = '/status', body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) expect((await ask(host)).status).toBe(200);
      const evil = await ask(`rebound.example:${port}`);
      expect(evil.status).toBe(403);
      expect(JSON.parse(evil.body)['message']).toMatch(/loopback host.*got Host "rebound.example:\d+".*Set admin.token/);
      expect((await ask('rebound.example', 'PUT', '/modes', JSON.stringify({ mode: 'pause' }))).status).toBe(403);
      expect(app.rt.controls.roomMode('any', 'auto')).toBe('auto');
    } finally {
      await app.stop(0);
    }
  });
});

/**
 * Blocks through the admin API and a real proxy: each kind refuses the requests it names and nothing
 * else, as problem+json, as a page for a browser navigation and as a 1013 close for a websocket; a
 * websocket-only block lets plain HTTP through; a block with a TTL says when it lifts and lifts by
 * itself; unblocking lets the client back in at once.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startOrigin, startProxy, type Origin, type Proxy } from '../helpers/index.js';
import { get, type Reply } from '../pipeline/util.js';
import { until } from '../room/proxyHelpers.js';
import { admin, adminOk, TOKEN } from '../admin/adminClient.js';

let origin: Origin;
let wss: WebSocketServer;
let proxy: Proxy;
const upgrades: IncomingMessage[] = [];

beforeAll(async () => {
  origin = await startOrigin((_req, res) => res.end('ok'));
  wss = new WebSocketServer({ server: origin.server });
  wss.on('connection', (socket, req) => {
    upgrades.push(req);
    socket.on('message', (data) => socket.send(data));
  });
  proxy = await startProxy(origin.url, {
    admin: { token: TOKEN },
    identity: {
      // X-Forwarded-For from the test (a trusted proxy on loopback) gives each client its own address.
      trustedProxies: ['127.0.0.1', '::1'],
      tenant: [{ header: 'x-tenant-id' }],
      client: [{ header: 'x-api-key' }, { cookie: 'sid' }, { ip: true }],
    },
    routes: [{ name: 'export', path: '/export/**' }],
  });
});

afterEach(async () => {
  for (const b of proxy.app.rt.controls.state.blocks()) await proxy.app.rt.controls.removeBlock(b.id);
});

afterAll(async () => {
  await proxy?.stop();
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
  await origin?.close();
});

interface Who {
  tenant?: string;
  key?: string;
  sid?: string;
  ip?: string;
  path?: string;
  browser?: boolean;
}

function headers(w: Who): Record<string, string> {
  const h: Record<string, string> = { 'x-tenant-id': w.tenant ?? 'acme', 'x-forwarded-for': w.ip ?? '192.0.2.1' };
  if (w.key !== undefined) h['x-api-key'] = w.key;
  if (w.sid !== undefined) h['cookie'] = `sid=${w.sid}`;
  if (w.browser) h['accept'] = 'text/html';
  return h;
}

function request(w: Who): Promise<Reply> {
  return get(proxy.port, w.path ?? '/x', { headers: headers(w) });
}

function keyOf(w: Who): string {
  return proxy.app.rt.identity.resolve('localhost', w.path ?? '/x', headers(w), w.ip ?? '192.0.2.1').clientKey;
}

async function block(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await adminOk(proxy, 'POST', '/blocks', { reason: 'test', ...body }))['block'] as Record<string, unknown>;
}

type WsOutcome = { kind: 'open'; ws: WebSocket } | { kind: 'closed'; code: number; reason: string };

function connect(w: Who): Promise<WsOutcome> {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}${w.path ?? '/live'}`, { headers: headers(w) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      // A refusal arrives as a close frame right behind the handshake; an echo proves the socket is through.
      ws.send('ping');
      ws.once('message', () => resolve({ kind: 'open', ws }));
    });
    ws.once('close', (code, reason) => resolve({ kind: 'closed', code, reason: reason.toString() }));
    ws.once('error', reject);
  });
}

const CASES: [string, Who, Who, () => Record<string, unknown>][] = [
  ['client', { key: 'alice' }, { key: 'bob' }, () => ({ kind: 'client', value: keyOf({ key: 'alice' }) })],
  ['session', { sid: 'stolen', key: 'carol' }, { sid: 'fine', key: 'carol2' }, () => ({ kind: 'session', value: 'stolen' })],
  ['ip', { ip: '203.0.113.7' }, { ip: '203.0.114.7' }, () => ({ kind: 'ip', value: '203.0.113.7' })],
  ['ip (CIDR)', { ip: '203.0.113.200' }, { ip: '203.0.114.1' }, () => ({ kind: 'ip', value: '203.0.113.0/24' })],
  ['ip (IPv6 prefix)', { ip: '2001:db8::7' }, { ip: '2001:db9::7' }, () => ({ kind: 'ip', value: '2001:db8::/32' })],
  ['tenant', { tenant: 'acme' }, { tenant: 'globex' }, () => ({ kind: 'tenant', value: 'acme' })],
  ['route', { path: '/export/all' }, { path: '/import/all' }, () => ({ kind: 'route', value: 'export' })],
];

describe('blocks', () => {
  it.each(CASES)('a %s block refuses the requests it names and nothing else', async (_kind, blocked, other, body) => {
    expect((await request(blocked)).status).toBe(200);
    const b = await block(body());
    const refused = await request(blocked);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.json()).toMatchObject({ code: 'ANT_BLOCKED', status: 403, blockId: b['id'] });
    expect(refused.json()['detail']).toContain(`Reference: block ${String(b['id'])}.`);
    expect((await request(other)).status).toBe(200);
    // Unblocked: back in at once.
    await adminOk(proxy, 'DELETE', `/blocks/${String(b['id'])}`);
    expect((await request(blocked)).status).toBe(200);
  });

  it('answers a blocked browser navigation with a page, and shows the operator\'s message', async () => {
    await block({ kind: 'tenant', value: 'acme', message: 'Your account is suspended; call support.' });
    const page = await request({ browser: true });
    expect(page.status).toBe(403);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('Your account is suspended; call support.');
    expect(page.body).not.toContain('reason');
  });

  it('closes a blocked upgrade with 1013 and a retry hint, and lets other tenants connect', async () => {
    const b = await block({ kind: 'tenant', value: 'acme' });
    const before = upgrades.length;
    const refused = await connect({ tenant: 'acme' });
    expect(refused).toMatchObject({ kind: 'closed', code: 1013 });
    const reason = JSON.parse((refused as { reason: string }).reason) as { code: string; retryAfterMs: number };
    expect(reason.code).toBe('ANT_BLOCKED');
    // No TTL: the configured hint (30 s) plus up to half of it.
    expect(reason.retryAfterMs).toBeGreaterThanOrEqual(30_000);
    expect(reason.retryAfterMs).toBeLessThanOrEqual(45_000);
    expect(upgrades.length).toBe(before);
    const ok = await connect({ tenant: 'globex' });
    expect(ok.kind).toBe('open');
    (ok as { ws: WebSocket }).ws.close();
    expect(b['closeWebsockets']).toBe(false);
  });

  it('turns websockets off for a tenant and leaves its plain HTTP alone', async () => {
    await block({ kind: 'tenant', value: 'acme', websocketsOnly: true });
    expect((await request({ tenant: 'acme' })).status).toBe(200);
    const refused = await connect({ tenant: 'acme' });
    expect(refused).toMatchObject({ kind: 'closed', code: 1013 });
    expect((refused as { reason: string }).reason).toContain('ANT_BLOCKED');
    const other = await connect({ tenant: 'globex' });
    expect(other.kind).toBe('open');
    (other as { ws: WebSocket }).ws.close();
  });

  it('says when a block with a TTL lifts, and lifts it by itself', async () => {
    const b = await block({ kind: 'client', value: keyOf({ key: 'dave' }), ttlS: 1 });
    const refused = await request({ key: 'dave' });
    expect(refused.status).toBe(403);
    expect(refused.headers['retry-after']).toBe('1');
    const deadline = Date.now() + 10_000;
    while ((await request({ key: 'dave' })).status !== 200) {
      if (Date.now() > deadline) throw new Error('the block with a 1 s TTL did not lift within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await admin(proxy, 'GET', '/blocks')).json()['blocks']).toEqual([]);
    expect((await admin(proxy, 'DELETE', `/blocks/${String(b['id'])}`)).status).toBe(404);
  });

  it('blocks a session whichever source gave the client key', async () => {
    await block({ kind: 'session', value: 'stolen' });
    // The API key comes first in identity.client, so the client key is the key's; the session still counts.
    expect(keyOf({ sid: 'stolen', key: 'eve' })).toMatch(/^k:/);
    expect((await request({ sid: 'stolen', key: 'eve' })).status).toBe(403);
    expect((await request({ sid: 'stolen' })).status).toBe(403);
    expect((await request({ key: 'eve' })).status).toBe(200);
  });

  it('counts the refusals of each tenant for the status', async () => {
    const before = proxy.app.rt.refusals.of('initech')['ANT_BLOCKED'] ?? 0;
    await block({ kind: 'tenant', value: 'initech' });
    await request({ tenant: 'initech' });
    await request({ tenant: 'initech' });
    await until(() => (proxy.app.rt.refusals.of('initech')['ANT_BLOCKED'] ?? 0) === before + 2, 'two refusals counted');
  });
});

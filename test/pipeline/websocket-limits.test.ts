/**
 * Websocket upgrade limits through real sockets, with the `ws` package on both ends (incident 000: a
 * reconnect storm must reach the upstream at no more than the configured rate). A refused upgrade is
 * completed and closed at once with 1013 and a JSON reason carrying `retryAfterMs` (what a browser's
 * close handler can read), or answered 429 with `refuseWith: http`. Rates are per minute or hour so
 * that nothing refills during a test.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startProxy, type Proxy } from '../helpers/index.js';
import { rawUpgrade } from '../helpers/rawUpgrade.js';
import { websocketRig } from '../helpers/websocketRig.js';
import { until } from './util.js';

const rig = websocketRig();

/** An origin that accepts websockets at /live and echoes; `upgrades` lists the upgrade requests it accepted. */
async function setup(patch: Record<string, unknown>): Promise<{ proxy: Proxy; upgrades: IncomingMessage[] }> {
  const { origin, upgrades } = await rig.echoOrigin({ path: '/live' });
  const proxy = await startProxy(origin.url, patch);
  rig.proxy = proxy;
  return { proxy, upgrades };
}

type Outcome =
  | { kind: 'open'; ws: WebSocket }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'http'; status: number; headers: IncomingMessage['headers']; body: string };

/**
 * Opens a websocket and tells how it went: open (stays open; the caller closes it), closed by the
 * server before anything else happened (code and reason), or refused with an HTTP answer.
 */
function connect(port: number, headers: Record<string, string> = {}, path = '/live'): Promise<Outcome> {
  const ws = rig.client(`ws://127.0.0.1:${port}${path}`, { headers });
  return new Promise((resolve, reject) => {
    let opened = false;
    ws.once('open', () => {
      opened = true;
      // A refusal arrives as a close frame right behind the handshake; give it a moment to land.
      const timer = setTimeout(() => resolve({ kind: 'open', ws }), 50);
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ kind: 'closed', code, reason: reason.toString() });
      });
    });
    ws.once('unexpected-response', (_req, res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ kind: 'http', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    ws.once('error', (err) => {
      if (!opened) reject(err);
    });
  });
}

async function closeClient(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}

describe('per-client upgrade bucket', () => {
  it('a reconnect loop of 10 upgrades reaches the origin exactly 3 times; the rest are closed with 1013 and retryAfterMs', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perClient: { rate: '3/min', burst: 3 } } } });
    const started = performance.now();
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 10; i++) {
      const o = await connect(proxy.port);
      outcomes.push(o);
      if (o.kind === 'open') await closeClient(o.ws);
    }
    expect(outcomes.map((o) => o.kind)).toEqual(['open', 'open', 'open', ...Array(7).fill('closed')]);
    expect(upgrades).toHaveLength(3);
    for (const o of outcomes.slice(3)) {
      if (o.kind !== 'closed') throw new Error('expected a close');
      expect(o.code).toBe(1013);
      const reason = JSON.parse(o.reason) as { code: string; retryAfterMs: number };
      expect(reason.code).toBe('ANT_RATE_LIMITED');
      // 3/min: the next upgrade token comes 20 s after the first upgrade took the third token.
      expect(reason.retryAfterMs).toBeGreaterThan(0);
      expect(reason.retryAfterMs).toBeGreaterThanOrEqual(20_000 - (performance.now() - started));
      expect(reason.retryAfterMs % 1000).toBe(0);
    }
  });

  it('keeps clients apart: another client still gets its own 3', async () => {
    const { proxy, upgrades } = await setup({
      identity: { client: [{ header: 'x-api-key' }] },
      limits: { websocket: { perClient: { rate: '3/min', burst: 3 } } },
    });
    const kinds = async (key: string, n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const o = await connect(proxy.port, { 'x-api-key': key });
        out.push(o.kind);
        if (o.kind === 'open') await closeClient(o.ws);
      }
      return out;
    };
    expect(await kinds('alice', 4)).toEqual(['open', 'open', 'open', 'closed']);
    expect(await kinds('bob', 4)).toEqual(['open', 'open', 'open', 'closed']);
    expect(upgrades).toHaveLength(6);
  });

  it('answers a plain 429 with Retry-After and problem+json with refuseWith: http', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perClient: { rate: '1/h', burst: 1 }, refuseWith: 'http' } } });
    const first = await connect(proxy.port);
    expect(first.kind).toBe('open');
    const refused = await connect(proxy.port);
    if (refused.kind !== 'http') throw new Error(`expected an HTTP refusal, got ${refused.kind}`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(3590);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(refused.body) as Record<string, unknown>;
    expect(body['code']).toBe('ANT_RATE_LIMITED');
    expect(body['retryAfterMs']).toBe(Number(refused.headers['retry-after']) * 1000);
    expect(upgrades).toHaveLength(1);
  });

  it('does not count plain HTTP requests against the upgrade bucket', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perClient: { rate: '1/h', burst: 1 } } } });
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${proxy.url}/page`);
      expect(r.status).toBe(200);
      await r.text();
    }
    expect((await connect(proxy.port)).kind).toBe('open');
    expect(upgrades).toHaveLength(1);
  });
});

describe('global upgrade bucket', () => {
  it('limits.websocket.global caps upgrades across all clients', async () => {
    const { proxy, upgrades } = await setup({
      identity: { client: [{ header: 'x-api-key' }] },
      limits: { websocket: { perClient: { rate: '1/h', burst: 5 }, global: { rate: '1/h', burst: 2 } } },
    });
    const kinds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const o = await connect(proxy.port, { 'x-api-key': `client-${i}` });
      kinds.push(o.kind);
      if (o.kind === 'closed') expect(o.code).toBe(1013);
    }
    expect(kinds).toEqual(['open', 'open', 'closed', 'closed', 'closed']);
    expect(upgrades).toHaveLength(2);
  });

  it('an upgrade the global bucket refuses gives its client token back (regression: a storm drained every client)', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perClient: { rate: '1/h', burst: 3 }, global: { rate: '1/h', burst: 1 } } } });
    const kinds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const o = await connect(proxy.port);
      kinds.push(o.kind);
      if (o.kind === 'open') await closeClient(o.ws);
    }
    expect(kinds).toEqual(['open', 'closed', 'closed', 'closed', 'closed']);
    expect(upgrades).toHaveLength(1);
    // The client (by address, tenant "default") spent one token; four refusals by the global bucket took none.
    const rt = proxy.app.rt;
    const d = await rt.limits.store.consume(rt.limits.plan.websocketBuckets('default', 'ip:127.0.0.1').enforced, 0);
    expect(d.buckets[0]!.remaining).toBe(2);
  });
});

describe('open websockets per tenant', () => {
  it('perTenantOpen caps the sockets a tenant has open, and a closed socket frees its place', async () => {
    const { proxy, upgrades } = await setup({
      identity: { tenant: [{ header: 'x-tenant-id' }] },
      limits: { websocket: { perTenantOpen: 2 }, tenants: { big: { websocketsOpen: 3 } } },
    });
    const acme = { 'x-tenant-id': 'acme' };
    const a = await connect(proxy.port, acme);
    const b = await connect(proxy.port, acme);
    expect([a.kind, b.kind]).toEqual(['open', 'open']);
    const third = await connect(proxy.port, acme);
    if (third.kind !== 'closed') throw new Error(`expected a close, got ${third.kind}`);
    expect(third.code).toBe(1013);
    expect(JSON.parse(third.reason)).toMatchObject({ code: 'ANT_RATE_LIMITED' });
    expect(JSON.parse(third.reason).retryAfterMs).toBeGreaterThan(0);
    // Other tenants have their own count, and an override raises the cap for one.
    expect((await connect(proxy.port, { 'x-tenant-id': 'globex' })).kind).toBe('open');
    const big = [];
    for (let i = 0; i < 4; i++) big.push((await connect(proxy.port, { 'x-tenant-id': 'big' })).kind);
    expect(big).toEqual(['open', 'open', 'open', 'closed']);
    expect(upgrades).toHaveLength(6);

    if (a.kind === 'open') await closeClient(a.ws);
    await until(() => proxy.app.rt.websockets.openFor('acme') === 1, 'the closed socket forgotten');
    expect((await connect(proxy.port, acme)).kind).toBe('open');
    expect((await connect(proxy.port, acme)).kind).toBe('closed');
    expect(upgrades).toHaveLength(7);
  });

  it('holds under a burst of parallel upgrades: upgrades still in their handshake count too', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perTenantOpen: 2 } } });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => connect(proxy.port)));
    expect(outcomes.filter((o) => o.kind === 'open')).toHaveLength(2);
    expect(outcomes.filter((o) => o.kind === 'closed')).toHaveLength(6);
    expect(upgrades).toHaveLength(2);
    expect(proxy.app.rt.websockets.openFor('default')).toBe(2);
  });

  it('an upgrade refused by a bucket gives its place back at once, while its socket is still open', async () => {
    const { proxy, upgrades } = await setup({
      identity: { client: [{ header: 'x-api-key' }] },
      limits: { websocket: { perTenantOpen: 2, perClient: { rate: '1/h', burst: 1 } } },
    });
    const a = await connect(proxy.port, { 'x-api-key': 'a' });
    expect(a.kind).toBe('open');
    // A second upgrade of client a, refused by its bucket; the raw client keeps its end open.
    const { client: raw, res } = await rawUpgrade(proxy.port, '/live', { 'X-Api-Key': 'a' });
    expect(res.status).toBe(101);
    // RFC 6455 section 1.3's example key and its accept value.
    expect(res.header('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    await until(() => raw.pending.length >= 2, 'the close frame');
    expect(raw.pending.readUInt16BE(2)).toBe(1013);
    expect(proxy.app.rt.websockets.openFor('default')).toBe(1);
    expect((await connect(proxy.port, { 'x-api-key': 'b' })).kind).toBe('open');
    expect(upgrades).toHaveLength(2);
    raw.close();
  });

  it('an upgrade the upstream refuses gives its place back', async () => {
    const { proxy, upgrades } = await setup({ limits: { websocket: { perTenantOpen: 1 } } });
    const refused = await connect(proxy.port, {}, '/not-a-socket');
    expect(refused.kind).toBe('http');
    await until(() => proxy.app.rt.websockets.openFor('default') === 0, 'the refused upgrade forgotten');
    expect((await connect(proxy.port)).kind).toBe('open');
    expect((await connect(proxy.port)).kind).toBe('closed');
    expect(upgrades).toHaveLength(1);
  });
});

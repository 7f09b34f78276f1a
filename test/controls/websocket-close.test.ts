/**
 * Closing the open websockets of a blocked tenant without a new storm (incident 000): real `ws`
 * clients through the proxy see 1013 with a JSON reason carrying a jittered `retryAfterMs`, in batches
 * of `batchSize` every `intervalMs` rather than all at once; other tenants' sockets stay open, and a
 * client's reconnect is refused while the block holds.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startProxy, type Proxy } from '../helpers/index.js';
import { websocketRig } from '../helpers/websocketRig.js';
import { until } from '../room/proxyHelpers.js';
import { adminOk, TOKEN } from '../admin/adminClient.js';

const rig = websocketRig();

async function setup(closeWebsockets: Record<string, number>): Promise<Proxy> {
  const { origin } = await rig.echoOrigin({ body: 'ok' });
  const proxy = await startProxy(origin.url, {
    admin: { token: TOKEN },
    identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
    controls: { closeWebsockets },
  });
  rig.proxy = proxy;
  return proxy;
}

interface Closed {
  at: number;
  code: number;
  reason: string;
}

/** Opens a websocket and resolves once it is through (an echo came back); `closed` fills when it closes. */
async function open(port: number, tenant: string, client: string): Promise<{ ws: WebSocket; closed: Closed[] }> {
  const ws = rig.client(`ws://127.0.0.1:${port}/live`, { headers: { 'x-tenant-id': tenant, 'x-client-id': client } });
  const closed: Closed[] = [];
  ws.on('close', (code, reason) => closed.push({ at: performance.now(), code, reason: reason.toString() }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.send('ping');
      ws.once('message', () => resolve());
    });
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('closing a blocked tenant\'s websockets', () => {
  it('closes them with 1013 and a jittered retryAfterMs, in staggered batches, and keeps the others', async () => {
    const batchSize = 3;
    const intervalMs = 400;
    const p = await setup({ batchSize, intervalMs, retryAfterMs: 20_000 });
    const acme: Awaited<ReturnType<typeof open>>[] = [];
    for (let i = 0; i < 10; i++) acme.push(await open(p.port, 'acme', `a${i}`));
    const globex = [await open(p.port, 'globex', 'g0'), await open(p.port, 'globex', 'g1')];
    await until(() => p.app.rt.websockets.size === 12, 'twelve websockets tracked');

    const started = performance.now();
    await adminOk(p, 'POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'reconnect storm', closeWebsockets: true });
    await until(() => acme.every((s) => s.closed.length === 1), 'every acme websocket closed', 20_000);

    const closes = acme.map((s) => s.closed[0]!);
    for (const c of closes) {
      expect(c.code).toBe(1013);
      const reason = JSON.parse(c.reason) as { code: string; retryAfterMs: number };
      expect(reason.code).toBe('ANT_BLOCKED');
      expect(reason.retryAfterMs).toBeGreaterThanOrEqual(20_000);
      expect(reason.retryAfterMs).toBeLessThanOrEqual(30_000);
    }
    // Jitter: the hints differ, so clients that obey them do not come back together.
    expect(new Set(closes.map((c) => JSON.parse(c.reason).retryAfterMs as number)).size).toBeGreaterThan(5);

    // Batches: 4 of them (3 + 3 + 3 + 1), each `intervalMs` after the one before at the proxy. The
    // clients see them spread out accordingly, never all at once.
    const times = closes.map((c) => c.at - started).sort((a, b) => a - b);
    const spread = times[times.length - 1]! - times[0]!;
    expect(spread, `closes seen at ${times.map((t) => Math.round(t)).join(', ')} ms`).toBeGreaterThanOrEqual(intervalMs);
    const groups = times.reduce((n, t, i) => (i > 0 && t - times[i - 1]! > intervalMs / 2 ? n + 1 : n), 1);
    expect(groups, `closes seen at ${times.map((t) => Math.round(t)).join(', ')} ms`).toBeGreaterThanOrEqual(2);

    for (const s of globex) {
      expect(s.closed).toEqual([]);
      expect(s.ws.readyState).toBe(WebSocket.OPEN);
    }
    await until(() => p.app.rt.websockets.size === 2, 'only the two globex websockets left');

    // The reconnect of a closed client is refused while the block holds.
    const again = rig.client(`ws://127.0.0.1:${p.port}/live`, { headers: { 'x-tenant-id': 'acme', 'x-client-id': 'a0' } });
    const code = await new Promise<number>((resolve) => again.once('close', (c) => resolve(c)));
    expect(code).toBe(1013);
  });

  it('closes only the sockets the block names (a client), and nothing for a block without closeWebsockets', async () => {
    const p = await setup({ batchSize: 100, intervalMs: 50 });
    const a = await open(p.port, 'acme', 'alice');
    const b = await open(p.port, 'acme', 'bob');
    const bobKey = p.app.rt.identity.resolve('localhost', '/live', { 'x-client-id': 'bob' }, '127.0.0.1').clientKey;
    await adminOk(p, 'POST', '/blocks', { kind: 'tenant', value: 'acme', reason: 'no closing' });
    await adminOk(p, 'POST', '/blocks', { kind: 'client', value: bobKey, reason: 'bob only', closeWebsockets: true, ttlS: 60 });
    await until(() => b.closed.length === 1, 'bob closed');
    const hint = JSON.parse(b.closed[0]!.reason) as { retryAfterMs: number };
    // A block with a TTL hints at its time left (about 60 s), plus up to half of it.
    expect(hint.retryAfterMs).toBeGreaterThan(55_000);
    expect(hint.retryAfterMs).toBeLessThanOrEqual(90_000);
    expect(a.closed).toEqual([]);
    a.ws.send('still there?');
    await new Promise<void>((resolve) => a.ws.once('message', () => resolve()));
  });
});

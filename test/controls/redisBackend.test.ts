/**
 * The switches shared through a private redis-server: a change on one instance reaches another by
 * pub/sub, a change whose message was lost arrives with the periodic resync, a restarted instance
 * loads the state before it answers ready, an outage keeps the last known state and the changes made
 * meanwhile reach Redis when it is back, and a Redis that comes back empty gets the state written back.
 */
import { describe, expect, it } from 'vitest';
import { Controls } from '../../src/controls/controls.js';
import { RedisBackend } from '../../src/controls/redisBackend.js';
import { silentLogger } from '../helpers/index.js';
import { redisPerFile } from '../helpers/redisPerFile.js';
import { until } from '../room/proxyHelpers.js';

const open: Controls[] = [];

const db = redisPerFile(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function instance(resyncMs = 1_000): Controls {
  const c = new Controls(new RedisBackend({ connection: { url: db.server.url }, logger: silentLogger(), resyncMs, commandTimeoutMs: 1_000 }), silentLogger());
  open.push(c);
  return c;
}

const ENTRIES = 'anteroom:{anteroom-controls}:entries';
const VERSION = 'anteroom:{anteroom-controls}:version';

describe('RedisBackend', () => {
  it('carries a block, a mode and an override to another instance, and their removal', async () => {
    const a = instance();
    const b = instance();
    expect(await a.ready(5_000)).toBe(true);
    expect(await b.ready(5_000)).toBe(true);
    const { entry: blk, shared } = await a.addBlock({ kind: 'tenant', value: 'acme', reason: 'flood' });
    expect(shared).toBe(true);
    await a.setMode('globex', 'pause');
    await a.setOverride('tenant', 'acme', { rate: 5, concurrency: 2 });
    await until(() => b.state.blocks().length === 1 && b.roomMode('globex', 'auto') === 'pause' && b.tenantOverride('acme')?.concurrency === 2, 'the changes on b', 5_000);
    expect(b.state.blocks()[0]).toEqual(blk);
    await a.removeBlock(blk.id);
    await until(() => b.state.blocks().length === 0, 'the removal on b', 5_000);
    expect(a.state.blocks()).toEqual([]);
  });

  it('picks up a change whose message was lost within the resync period', async () => {
    const a = instance(200);
    expect(await a.ready(5_000)).toBe(true);
    const entry = { type: 'mode', tenant: null, mode: 'maintenance', message: 'back at noon', setAt: Date.now() };
    // Written as an instance would, but without the PUBLISH: the message is lost.
    await db.admin.hset(ENTRIES, 'm:*', JSON.stringify(entry));
    await db.admin.incr(VERSION);
    await until(() => a.maintenance('acme') === 'back at noon', 'the change without a message', 5_000);
  });

  it('loads the state into a new instance before it is ready', async () => {
    const a = instance();
    await a.ready(5_000);
    await a.addBlock({ kind: 'ip', value: '10.0.0.0/8', reason: 'scanner', ttlS: 3600 });
    await a.close();
    open.splice(open.indexOf(a), 1);
    const b = instance();
    expect(await b.ready(5_000)).toBe(true);
    expect(b.state.blocks().map((x) => x.value)).toEqual(['10.0.0.0/8']);
    expect(b.state.blockFor({ clientKey: '', clientIp: '10.1.2.3', tenant: 't', routeName: 'r' }, false)).not.toBeNull();
  });

  it('skips an entry it cannot read and keeps the others', async () => {
    await db.admin.hset(ENTRIES, 'b:junk', '{"type":"block","kind":"planet"}', 'm:*', JSON.stringify({ type: 'mode', tenant: null, mode: 'pause', setAt: 1 }));
    await db.admin.set(VERSION, '3');
    const a = instance();
    expect(await a.ready(5_000)).toBe(true);
    expect(a.paused('acme')).toBe(true);
    expect(a.state.blocks()).toEqual([]);
  });

  it('removes an expired block from Redis', async () => {
    const a = instance();
    const b = instance();
    await a.ready(5_000);
    await b.ready(5_000);
    await a.addBlock({ kind: 'client', value: 'k:x', reason: 'short', ttlS: 1 });
    await until(() => b.state.blocks().length === 1, 'the block on b', 5_000);
    await until(() => a.state.blocks().length === 0 && b.state.blocks().length === 0, 'the block expired on both', 5_000);
    await expect.poll(() => db.admin.hlen(ENTRIES), { timeout: 5_000 }).toBe(0);
  });
});

describe('RedisBackend during an outage', () => {
  it('keeps the last known state, holds a change made meanwhile and writes it when Redis is back', async () => {
    const a = instance(200);
    const b = instance(200);
    await a.ready(5_000);
    await b.ready(5_000);
    await a.addBlock({ kind: 'tenant', value: 'acme', reason: 'before' });
    await until(() => b.state.blocks().length === 1, 'the first block on b', 5_000);
    db.server.pause();
    try {
      const during = await a.addBlock({ kind: 'tenant', value: 'globex', reason: 'during' });
      expect(during.shared).toBe(false);
      // In force here at once; the state from before stays on both.
      expect(a.state.blocks().map((x) => x.value).sort()).toEqual(['acme', 'globex']);
      expect(b.state.blocks().map((x) => x.value)).toEqual(['acme']);
      expect(a.synced).toBe(false);
    } finally {
      db.server.resume();
    }
    await until(() => b.state.blocks().length === 2, 'the change made during the outage on b', 10_000);
    expect(await db.admin.hlen(ENTRIES)).toBe(2);
    expect(a.synced).toBe(true);
  });

  it('writes its copy back into a Redis that lost its data', async () => {
    const a = instance(200);
    await a.ready(5_000);
    await a.addBlock({ kind: 'route', value: 'export', reason: 'too heavy' });
    await a.setMode('acme', 'queue-all');
    await db.server.restart();
    await expect.poll(() => db.admin.hlen(ENTRIES).catch(() => -1), { timeout: 10_000, interval: 100 }).toBe(2);
    expect(a.state.blocks().map((x) => x.value)).toEqual(['export']);
    const b = instance();
    expect(await b.ready(5_000)).toBe(true);
    expect(b.roomMode('acme', 'auto')).toBe('queue-all');
  });
});

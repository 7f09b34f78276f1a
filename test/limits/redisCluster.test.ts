/**
 * The bucket script on a real Redis Cluster (three masters on free ports): keys hash-tagged by tenant
 * land on different nodes, and every decision's keys are in one slot, so the script runs.
 */
import { describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import { RedisStore } from '../../src/limits/redisStore.js';
import { bucketKey } from '../../src/limits/store.js';
import { redisClusterPerFile } from '../helpers/redisClusterPerFile.js';

const cluster = redisClusterPerFile(3);

describe('RedisStore on Redis Cluster', () => {
  it('decides client + tenant buckets of many tenants atomically across the nodes', async () => {
    const store = new RedisStore({
      connection: { clusterNodes: cluster.startupNodes() },
      logger: pino({ level: 'silent' }),
      commandTimeoutMs: 1000,
    });
    const admin = new Cluster(cluster.startupNodes());
    try {
      expect(await store.ready(10_000)).toBe(true);
      const tenants = Array.from({ length: 12 }, (_, i) => `tenant-${i}-${Math.random()}`);
      for (const tenant of tenants) {
        const tenantBucket = { key: bucketKey(tenant, 'tenant', ''), rate: 1 / 60, burst: 4 };
        let passed = 0;
        for (const client of ['a', 'b', 'c']) {
          for (let i = 0; i < 3; i++) {
            const d = await store.consume([{ key: bucketKey(tenant, 'c', client), rate: 1 / 60, burst: 2 }, tenantBucket], 1);
            expect(d.degraded).toBe(false);
            if (d.allowed) passed++;
          }
        }
        // Clients take 2 each until the tenant's 4 are gone: a, a, b, b.
        expect(passed).toBe(4);
      }
      // The tenants' keys are spread over the masters: the test did exercise more than one node.
      const owners = new Set<string>();
      for (const tenant of tenants) {
        const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', `anteroom:${bucketKey(tenant, 'tenant', '')}`));
        const owner = (admin.slots[slot] ?? [])[0];
        if (owner) owners.add(owner);
        expect(await admin.exists(`anteroom:${bucketKey(tenant, 'c', 'a')}`, `anteroom:${bucketKey(tenant, 'tenant', '')}`)).toBe(2);
      }
      expect(owners.size).toBeGreaterThan(1);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});

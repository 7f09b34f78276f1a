/**
 * The switches on a real Redis Cluster (three masters): the entries and the version share one slot,
 * so the write script runs; the change message published on one node reaches a subscriber connected
 * to another.
 */
import { describe, expect, it } from 'vitest';
import { Controls } from '../../src/controls/controls.js';
import { RedisBackend } from '../../src/controls/redisBackend.js';
import { silentLogger } from '../helpers/index.js';
import { redisClusterPerFile } from '../helpers/redisClusterPerFile.js';
import { until } from '../room/proxyHelpers.js';

const cluster = redisClusterPerFile(3);

describe('RedisBackend on Redis Cluster', () => {
  it('carries a block from one instance to another (no periodic resync within the test)', async () => {
    // Each instance seeded with a different node, so their connections land on different nodes.
    const make = (i: number) =>
      new Controls(
        new RedisBackend({ connection: { clusterNodes: [{ host: '127.0.0.1', port: cluster.nodes[i]!.port }] }, logger: silentLogger(), resyncMs: 60_000, connectTimeoutMs: 5_000 }),
        silentLogger(),
      );
    const a = make(0);
    const b = make(2);
    try {
      expect(await a.ready(10_000)).toBe(true);
      expect(await b.ready(10_000)).toBe(true);
      const { shared } = await a.addBlock({ kind: 'tenant', value: 'acme', reason: 'cluster' });
      expect(shared).toBe(true);
      await until(() => b.state.blocks().length === 1, 'the block on the other instance', 10_000);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

/**
 * A real Redis Cluster (masters on free ports, created with redis-cli) shared by every test of one
 * file: creating it takes seconds, so a file makes it once, before its first test, and stops its
 * nodes after the last.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedisCluster, type RedisServer } from './redisServer.js';

export interface RedisClusterPerFile {
  /** The running nodes (empty before the file's first test). */
  readonly nodes: readonly RedisServer[];
  /** The nodes as the cluster's start-up nodes, for `connection.clusterNodes` or ioredis. */
  startupNodes(): { host: string; port: number }[];
}

export function redisClusterPerFile(size = 3): RedisClusterPerFile {
  let nodes: RedisServer[] = [];
  beforeAll(async () => {
    nodes = await startRedisCluster(size);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  return {
    get nodes() {
      return nodes;
    },
    startupNodes: () => nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  };
}

import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryStore } from './memoryStore.js';
import { RedisStore } from './redisStore.js';
import type { Store } from './store.js';

/** The store the config asks for: memory (one instance) or Redis / Redis Cluster (many as one). */
export function createStore(config: Config['store'], log: Logger, instanceId: string): Store {
  if (config.kind === 'memory') return new MemoryStore();
  const store = new RedisStore({
    connection: config.url !== undefined ? { url: config.url } : { clusterNodes: config.cluster! },
    logger: log,
    instanceId,
    prefix: config.prefix,
    commandTimeoutMs: config.commandTimeoutMs,
  });
  return store;
}

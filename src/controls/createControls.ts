import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryBackend } from './backend.js';
import { Controls } from './controls.js';
import { RedisBackend } from './redisBackend.js';

/** The switches the config's store asks for: in this process (memory), or shared through Redis. */
export function createControls(config: Readonly<Config>, log: Logger): Controls {
  const store = config.store;
  if (store.kind === 'memory') return new Controls(new MemoryBackend(), log);
  return new Controls(
    new RedisBackend({
      connection: store.url !== undefined ? { url: store.url } : { clusterNodes: store.cluster! },
      logger: log,
      prefix: store.prefix,
      // Off the request path: a longer timeout than the limits' keeps a slow Redis from failing a command.
      commandTimeoutMs: Math.max(store.commandTimeoutMs, 1_000),
      resyncMs: config.controls.resyncMs,
    }),
    log,
  );
}

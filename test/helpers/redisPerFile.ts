/**
 * A private redis-server on a free port for one test file (never the machine's 6379, whose lifecycle
 * is not the tests' to touch), emptied after each test so that no key one test leaves is read by the
 * next. What a test opened on it is closed first, by `beforeFlush`, so that nothing writes after the
 * flush.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Redis } from 'ioredis';
import { RedisServer } from './redisServer.js';

export interface RedisPerFile {
  /** The running server (from the file's first test on). */
  readonly server: RedisServer;
  /** A plain client on it, for reading and writing keys directly. */
  readonly admin: Redis;
}

export function redisPerFile(beforeFlush: () => Promise<void> | void = () => undefined): RedisPerFile {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    await beforeFlush();
    await admin!.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return server!;
    },
    get admin() {
      return admin!;
    },
  };
}

/**
 * The set-up every database poller's test file shares. Connection counts are server-wide, so the
 * file holds the server's test lock from start to end and other files cannot open sessions under its
 * counts; the idle sessions a test opens and the pollers it builds are closed after it, so that no
 * session or poll outlives the test that made it.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Poller } from '../../src/control/poller.js';
import { Crowd } from '../control/services.js';

export interface DatabasePollers {
  /** Idle sessions against the real servers, closed after each test. */
  readonly crowd: Crowd;
  /** Registers a poller to be closed after the current test; returns it. */
  track(p: Poller): Poller;
}

/** Registers the file's hooks: `lock` (lockPostgres or lockMysql) before all, then the closes. */
export function databasePollers(lock: () => Promise<() => Promise<void>>): DatabasePollers {
  const crowd = new Crowd();
  const pollers: Poller[] = [];
  let unlock: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    unlock = await lock();
  });
  afterEach(async () => {
    await crowd.closeAll();
    await Promise.all(pollers.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await crowd.closeAll();
    await unlock?.();
  });
  return {
    crowd,
    track(p) {
      pollers.push(p);
      return p;
    },
  };
}

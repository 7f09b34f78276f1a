/**
 * The `controls` section: how the operators' switches (blocks, room modes, limit overrides; set
 * through the admin API) are carried out.
 */
import { z } from 'zod';

export const controlsSchema = z.strictObject({
  /**
   * Closing the open websockets of a block made with `closeWebsockets`: in batches, so that their
   * reconnects do not arrive as one storm (incident 000).
   */
  closeWebsockets: z
    .strictObject({
      /** Sockets closed at once. */
      batchSize: z.int().min(1).max(100_000).default(100),
      /** Time between two batches. */
      intervalMs: z.int().min(1).max(60_000).default(250),
      /**
       * The retry hint in each close reason (`retryAfterMs`) for a block without a TTL; a block with
       * one uses the time it has left. Each socket gets the hint plus up to half of it at random.
       */
      retryAfterMs: z.int().min(0).max(86_400_000).default(30_000),
    })
    .prefault({}),
  /**
   * With `store.kind: redis`: how often each instance compares its switches with Redis, in case a
   * change message was missed (a change normally arrives by pub/sub at once).
   */
  resyncMs: z.int().min(100).max(60_000).default(1_000),
});

export type ControlsConfig = z.output<typeof controlsSchema>;

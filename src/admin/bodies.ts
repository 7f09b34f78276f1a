/**
 * The bodies the admin API accepts, checked field by field (see problems.ts for how a bad one is
 * answered). What needs the running config (a route name, a session cookie) is checked by the handler.
 */
import { z } from 'zod';
import { addressProblem } from '../controls/addressBlock.js';
import { BLOCK_KINDS, ROOM_MODES } from '../controls/model.js';
import { TENANT_ID } from '../identity/schema.js';
import { rateSchema } from '../limits/rate.js';

const reason = z.string().trim().max(1000);

export const blockBody = z
  .strictObject({
    kind: z.enum(BLOCK_KINDS),
    /** Client key, session cookie value, address or CIDR block, tenant id or route name. */
    value: z.string().trim().min(1).max(4096),
    /** Why, for whoever lifts it; logged and listed, never sent to the client. */
    reason: z.string().trim().min(1, 'is required: say why, for whoever lifts the block').max(1000),
    /** For the blocked client, instead of the generic sentence. */
    message: z.string().trim().min(1).max(1000).optional(),
    /** Seconds until the block lifts by itself; at most 90 days. None: until removed. */
    ttlS: z.int().min(1).max(90 * 86_400).optional(),
    websocketsOnly: z.boolean().default(false),
    closeWebsockets: z.boolean().default(false),
  })
  .superRefine((b, ctx) => {
    const problem =
      b.kind === 'ip'
        ? addressProblem(b.value)
        : b.kind === 'tenant' && !TENANT_ID.test(b.value)
          ? 'expected a tenant id: letters, digits, _ . - (at most 64, starting with a letter or digit)'
          : b.kind !== 'session' && b.value.length > 512
            ? 'expected at most 512 characters'
            : null;
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['value'], input: b.value, message: problem });
  });
export const BLOCK_FIELDS = Object.keys(blockBody.shape);

export const modeBody = z.strictObject({
  mode: z.enum(ROOM_MODES),
  /** Shown on the maintenance page and in its 503s. */
  message: z.string().trim().min(1).max(1000).optional(),
  reason: reason.optional(),
});
export const MODE_FIELDS = Object.keys(modeBody.shape);

export const overrideBody = z
  .strictObject({
    /** Like `20/s`: the tenant's bucket, or the per-client bucket of the route. */
    rate: rateSchema.optional(),
    burst: z.int().min(1).max(1_000_000_000).optional(),
    concurrency: z.int().min(1).max(1_000_000).optional(),
    reason: reason.optional(),
  })
  .refine((o) => o.rate !== undefined || o.burst !== undefined || o.concurrency !== undefined, {
    message: 'expected at least one of rate, burst, concurrency',
  });
export const OVERRIDE_FIELDS = Object.keys(overrideBody.shape);

export const tenantParam = z.string().regex(TENANT_ID, 'expected a tenant id: letters, digits, _ . - (at most 64, starting with a letter or digit)');

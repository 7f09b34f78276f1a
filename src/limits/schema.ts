/**
 * The `limits` section: token buckets per client, per tenant and per tenant and class, concurrency
 * caps, websocket upgrade limits and per-tenant overrides. Rates are written `20/s`, `3/min`, `100/h`.
 */
import { z } from 'zod';
import { timerMs } from '../config/timerMs.js';
import { rateSchema } from './rate.js';

const failureMode = z.enum(['local', 'open', 'closed']);

/** One token bucket. */
export const bucketSchema = z.strictObject({
  rate: rateSchema,
  /** Most tokens the bucket holds: how many requests may arrive at once. Defaults to one second of rate (at least 1). */
  burst: z.int().min(1).optional(),
  /** Count and log what this limit would refuse, but refuse nothing. */
  shadow: z.boolean().default(false),
  /** When the shared store (Redis) is unreachable: local buckets sized to this instance's share, allow, or refuse. */
  onStoreFailure: failureMode.default('local'),
});

const classBuckets = z.strictObject({
  critical: bucketSchema.optional(),
  normal: bucketSchema.optional(),
  bulk: bucketSchema.optional(),
});

/** Limits of one tenant; every key overrides the `tenant` default of the same name. */
export const tenantLimitsSchema = z.strictObject({
  rate: rateSchema.optional(),
  burst: z.int().min(1).optional(),
  shadow: z.boolean().optional(),
  onStoreFailure: failureMode.optional(),
  /** Most requests of this tenant in flight at the upstream at once (per instance). */
  concurrency: z.int().min(1).optional(),
  /** Buckets per class of traffic within the tenant. */
  classes: classBuckets.optional(),
  /** Most websockets of this tenant open at once (per instance). */
  websocketsOpen: z.int().min(0).optional(),
});

export const websocketLimitsSchema = z.strictObject({
  /** Upgrade bucket per client, e.g. 3/min with burst 3: a reconnect loop cannot exceed it. */
  perClient: bucketSchema.optional(),
  /** Upgrade bucket across all clients and tenants. */
  global: bucketSchema.optional(),
  /** Most websockets open per tenant at once (per instance), unless the tenant overrides it. */
  perTenantOpen: z.int().min(0).optional(),
  /**
   * How a refused upgrade is answered. Browsers cannot read the status of a refused handshake, so by
   * default the handshake is completed and closed at once with 1013 and a JSON reason carrying
   * `retryAfterMs`; `http` answers a plain 429 for non-browser clients.
   */
  refuseWith: z.enum(['close', 'http']).default('close'),
});

export const limitsSchema = z.strictObject({
  client: bucketSchema.optional(),
  tenant: tenantLimitsSchema.prefault({}),
  websocket: websocketLimitsSchema.prefault({}),
  /** Per-tenant overrides, by tenant id. */
  tenants: z.record(z.string(), tenantLimitsSchema).default({}),
  /** Waiting for a free concurrency slot: a bounded FIFO with a timeout, then 503 with Retry-After. */
  wait: z
    .strictObject({
      maxWaiting: z.int().min(0).default(1_000),
      timeoutMs: timerMs(0).default(5_000),
    })
    .prefault({}),
  /** Send `RateLimit`/`RateLimit-Policy` on admitted responses too, not only on 429s. */
  headersOnSuccess: z.boolean().default(false),
});

export type LimitsConfig = z.output<typeof limitsSchema>;
export type BucketConfig = z.output<typeof bucketSchema>;
export type TenantLimitsConfig = z.output<typeof tenantLimitsSchema>;

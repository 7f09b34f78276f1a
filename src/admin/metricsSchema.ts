/**
 * The `metrics` section: what the Prometheus metrics on the admin listener (`GET /metrics`) contain.
 */
import { z } from 'zod';

export const metricsSchema = z.strictObject({
  /**
   * Tenants with a `tenant` label of their own (the busiest, see topTenants.ts); every other tenant
   * is counted as `other`. Tenant ids come from requests, so this bounds the series a client can create.
   */
  tenants: z.int().min(0).max(1000).default(20),
});

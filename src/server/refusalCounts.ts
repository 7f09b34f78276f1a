/**
 * Refusals since start per tenant and error code, for the admin status (which tenant is being
 * refused, and why). Tenant ids come from requests, so the map is bounded: past `maxTenants`, new
 * tenants are counted together under OTHER_TENANTS.
 */
import type { ErrorCode } from '../errors.js';

export const OTHER_TENANTS = '(other)';
/** Requests refused before their tenant was known (malformed, too large). */
export const NO_TENANT = '(unidentified)';

export class RefusalCounts {
  private readonly byTenant = new Map<string, Partial<Record<ErrorCode, number>>>();

  constructor(private readonly maxTenants = 1_000) {}

  add(tenant: string, code: ErrorCode): void {
    if (tenant === '') tenant = NO_TENANT;
    let counts = this.byTenant.get(tenant);
    if (counts === undefined) {
      const key = this.byTenant.size < this.maxTenants ? tenant : OTHER_TENANTS;
      counts = this.byTenant.get(key);
      if (counts === undefined) this.byTenant.set(key, (counts = {}));
    }
    counts[code] = (counts[code] ?? 0) + 1;
  }

  of(tenant: string): Partial<Record<ErrorCode, number>> {
    return { ...this.byTenant.get(tenant) };
  }

  tenants(): IterableIterator<string> {
    return this.byTenant.keys();
  }
}

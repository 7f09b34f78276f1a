/**
 * Turns the `limits` config into the buckets that apply to one request. Each tenant's effective limits
 * (defaults merged with its override) are resolved once per config and cached, so a decision costs a
 * map lookup and a few string concatenations. Keys carry the tenant as a Redis hash tag, `{tenant}`, so
 * every bucket of one decision lives in one cluster slot and the store can decide them atomically.
 */
import type { RequestClass } from '../pipeline/context.js';
import type { BucketConfig, LimitsConfig } from './schema.js';
import type { BucketSpec } from './store.js';

/** A bucket as configured, with its name for headers and logs. */
export interface NamedBucket {
  /** Policy name in `RateLimit-Policy`, e.g. `client`, `tenant`, `tenant-bulk`. */
  readonly name: string;
  /** The config entry it comes from, e.g. `limits.tenants.acme.rate`. */
  readonly source: string;
  readonly rate: number;
  readonly burst: number;
  readonly shadow: boolean;
  readonly onStoreFailure: 'local' | 'open' | 'closed';
}

export interface TenantPlan {
  readonly tenant: NamedBucket | null;
  readonly classes: Partial<Record<RequestClass, NamedBucket>>;
  readonly concurrency: number;
  readonly websocketsOpen: number;
}

/** The buckets of one decision, split into those enforced and those only observed (shadow). */
export interface BucketSet {
  readonly enforced: BucketSpec[];
  readonly enforcedInfo: NamedBucket[];
  readonly shadow: BucketSpec[];
  readonly shadowInfo: NamedBucket[];
}

export interface RouteLimits {
  readonly name: string;
  readonly rate?: number | undefined;
  readonly burst?: number | undefined;
  /** Where the limit comes from, when not the route's own config (an operator's override). */
  readonly source?: string | undefined;
}

/**
 * Runtime limit overrides of tenants (src/controls), read on every decision so that an operator's
 * override bites at once; `generation` changes with every change of them.
 */
export interface TenantLimitOverrides {
  readonly generation: number;
  readonly tenantOverrideCount: number;
  tenantOverride(tenant: string): { readonly rate?: number | undefined; readonly burst?: number | undefined; readonly concurrency?: number | undefined } | undefined;
}

function bucket(name: string, source: string, c: BucketConfig): NamedBucket {
  return {
    name,
    source,
    rate: c.rate,
    burst: c.burst ?? Math.max(1, Math.ceil(c.rate)),
    shadow: c.shadow,
    onStoreFailure: c.onStoreFailure,
  };
}

export class LimitPlan {
  private readonly tenantPlans = new Map<string, TenantPlan>();
  private readonly defaultPlan: TenantPlan;
  /** Plans of tenants with an override, built on first use and dropped when the overrides change. */
  private readonly overridden = new Map<string, TenantPlan>();
  private overriddenGeneration = -1;
  readonly client: NamedBucket | null;
  readonly wsClient: NamedBucket | null;
  readonly wsGlobal: NamedBucket | null;

  constructor(
    private readonly config: LimitsConfig,
    private readonly overrides: TenantLimitOverrides | null = null,
  ) {
    this.client = config.client ? bucket('client', 'limits.client', config.client) : null;
    this.wsClient = config.websocket.perClient ? bucket('ws-client', 'limits.websocket.perClient', config.websocket.perClient) : null;
    this.wsGlobal = config.websocket.global ? bucket('ws-global', 'limits.websocket.global', config.websocket.global) : null;
    this.defaultPlan = this.resolve(undefined);
    for (const id of Object.keys(config.tenants)) this.tenantPlans.set(id, this.resolve(id));
  }

  /** Effective limits of a tenant: its config merged over the `tenant` defaults, and an operator's runtime override over both. */
  tenantPlan(tenant: string): TenantPlan {
    const o = this.overrides;
    if (o !== null && o.tenantOverrideCount > 0) {
      const plan = this.withOverride(tenant, o);
      if (plan !== null) return plan;
    }
    return this.tenantPlans.get(tenant) ?? this.defaultPlan;
  }

  private withOverride(tenant: string, o: TenantLimitOverrides): TenantPlan | null {
    if (this.overriddenGeneration !== o.generation) {
      this.overridden.clear();
      this.overriddenGeneration = o.generation;
    }
    const cached = this.overridden.get(tenant);
    if (cached !== undefined) return cached;
    const ov = o.tenantOverride(tenant);
    if (ov === undefined) return null;
    const base = this.tenantPlans.get(tenant) ?? this.defaultPlan;
    const rate = ov.rate ?? base.tenant?.rate;
    const tenantBucket: NamedBucket | null =
      rate === undefined || (ov.rate === undefined && ov.burst === undefined)
        ? base.tenant
        : {
            name: 'tenant',
            source: `overrides.tenants.${tenant}`,
            rate,
            // A new rate without a burst gets one second's worth, as in the config.
            burst: ov.burst ?? (ov.rate !== undefined ? Math.max(1, Math.ceil(rate)) : base.tenant!.burst),
            shadow: false,
            onStoreFailure: base.tenant?.onStoreFailure ?? 'local',
          };
    const plan: TenantPlan = { ...base, tenant: tenantBucket, concurrency: ov.concurrency ?? base.concurrency };
    this.overridden.set(tenant, plan);
    return plan;
  }

  private resolve(id: string | undefined): TenantPlan {
    const base = this.config.tenant;
    const own = id === undefined ? undefined : this.config.tenants[id];
    const at = (key: string): string => (own && key in own ? `limits.tenants.${id}.${key}` : `limits.tenant.${key}`);
    const rate = own?.rate ?? base.rate;
    const tenantBucket =
      rate === undefined
        ? null
        : bucket('tenant', at('rate'), {
            rate,
            burst: own?.burst ?? base.burst,
            shadow: own?.shadow ?? base.shadow ?? false,
            onStoreFailure: own?.onStoreFailure ?? base.onStoreFailure ?? 'local',
          });
    const classes: Partial<Record<RequestClass, NamedBucket>> = {};
    for (const cls of ['critical', 'normal', 'bulk'] as const) {
      const c = own?.classes?.[cls] ?? base.classes?.[cls];
      if (c) classes[cls] = bucket(`tenant-${cls}`, own?.classes?.[cls] ? `limits.tenants.${id}.classes.${cls}` : `limits.tenant.classes.${cls}`, c);
    }
    return {
      tenant: tenantBucket,
      classes,
      concurrency: own?.concurrency ?? base.concurrency ?? Infinity,
      websocketsOpen: own?.websocketsOpen ?? base.websocketsOpen ?? this.config.websocket.perTenantOpen ?? Infinity,
    };
  }

  /** The buckets for an HTTP request. A route override replaces the client bucket for that route. */
  httpBuckets(tenant: string, clientKey: string, cls: RequestClass, route: RouteLimits | null): BucketSet {
    const set: BucketSet = { enforced: [], enforcedInfo: [], shadow: [], shadowInfo: [] };
    const plan = this.tenantPlan(tenant);
    const tag = `{${tenant}}`;
    if (route !== null && route.rate !== undefined) {
      const b: NamedBucket = {
        name: `route-${route.name}`,
        source: route.source ?? `routes[${route.name}].limits`,
        rate: route.rate,
        burst: route.burst ?? Math.max(1, Math.ceil(route.rate)),
        shadow: false,
        onStoreFailure: this.client?.onStoreFailure ?? 'local',
      };
      add(set, b, `${tag}:r:${route.name}:${clientKey}`);
    } else if (this.client !== null) {
      add(set, this.client, `${tag}:c:${clientKey}`);
    }
    if (plan.tenant !== null) add(set, plan.tenant, `${tag}:t`);
    const classBucket = plan.classes[cls];
    if (classBucket !== undefined) add(set, classBucket, `${tag}:k:${cls}`);
    return set;
  }

  /** The per-client upgrade bucket; the global one is decided separately (it spans every tenant's slot). */
  websocketBuckets(tenant: string, clientKey: string): BucketSet {
    const set: BucketSet = { enforced: [], enforcedInfo: [], shadow: [], shadowInfo: [] };
    if (this.wsClient !== null) add(set, this.wsClient, `{${tenant}}:w:${clientKey}`);
    return set;
  }

  websocketGlobalBuckets(): BucketSet {
    const set: BucketSet = { enforced: [], enforcedInfo: [], shadow: [], shadowInfo: [] };
    if (this.wsGlobal !== null) add(set, this.wsGlobal, '{global}:w');
    return set;
  }
}

function add(set: BucketSet, b: NamedBucket, key: string): void {
  const spec: BucketSpec = { key, rate: b.rate, burst: b.burst, onStoreFailure: b.onStoreFailure };
  if (b.shadow) {
    set.shadow.push(spec);
    set.shadowInfo.push(b);
  } else {
    set.enforced.push(spec);
    set.enforcedInfo.push(b);
  }
}

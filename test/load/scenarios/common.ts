/** Config pieces every scenario shares, for anteroom and for nginx. */
import type { ScenarioEnv } from '../harness.js';

/**
 * anteroom as an operator would start it for these tests: loopback listener, one upstream named `app`,
 * tenants from X-Tenant-Id (else the tenant cookie), clients from the session cookie (else the API
 * key), the request log on. `extra` is merged on top, section by section.
 */
export function anteroomBase(env: ScenarioEnv, extra: Record<string, unknown>, upstream: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    secret: env.secret,
    listen: { host: '127.0.0.1', port: env.proxyPort },
    admin: { host: '127.0.0.1', port: env.adminPort },
    upstreams: { app: { url: env.originUrl, ...upstream } },
    identity: {
      tenant: [{ header: 'x-tenant-id' }, { cookie: 'tenant' }],
      client: [{ cookie: 'session_id' }, { header: 'x-api-key' }],
    },
    log: { level: 'info', requests: true },
    ...extra,
  };
}

/** The nginx upstream block: the origin, with a pool of keep-alive connections. */
export function nginxUpstream(env: ScenarioEnv, keepalive = 64): string {
  return `  upstream app {
    server 127.0.0.1:${env.originPort};
    keepalive ${keepalive};
  }`;
}

/** Scales a count for a smaller run (the smoke test), never below `min`. */
export function scaled(env: ScenarioEnv, n: number, min = 1): number {
  return Math.max(min, Math.round(n * env.scale));
}

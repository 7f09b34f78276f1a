/** planReload: what a reload changes, and which changes need a restart and keep their running values. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { planReload } from '../../src/config/reloadPlan.js';
import type { Config } from '../../src/config/schema.js';

function config(raw: Record<string, unknown>): Readonly<Config> {
  const r = validateConfig({ upstreams: { app: { url: 'http://127.0.0.1:3000' } }, ...raw });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('planReload', () => {
  it('reports nothing for the same file', () => {
    const plan = planReload(config({ secret: 's' }), config({ secret: 's' }));
    expect(plan).toMatchObject({ changed: [], needsRestart: [] });
  });

  it('names changed top-level keys and upstreams by name, added and removed', () => {
    const before = config({
      upstreams: { app: { url: 'http://127.0.0.1:3000' }, old: { url: 'http://127.0.0.1:3001' }, same: { url: 'http://127.0.0.1:3002' } },
      limits: { client: { rate: '10/s' } },
    });
    const after = config({
      upstreams: { app: { url: 'http://127.0.0.1:3000', timeoutMs: 1000 }, same: { url: 'http://127.0.0.1:3002' }, api: { url: 'http://127.0.0.1:3003' } },
      limits: { client: { rate: '20/s' } },
      routes: [{ path: '/api/**', upstream: 'api' }],
    });
    expect(planReload(before, after).changed).toEqual(['upstreams.app', 'upstreams.old (removed)', 'upstreams.api (added)', 'limits', 'routes']);
  });

  it('reports a new default upstream when the order of upstreams changes it', () => {
    const before = config({ upstreams: { a: { url: 'http://127.0.0.1:3000' }, b: { url: 'http://127.0.0.1:3001' } } });
    const after = config({ upstreams: { b: { url: 'http://127.0.0.1:3001' }, a: { url: 'http://127.0.0.1:3000' } } });
    expect(planReload(before, after).changed).toEqual(['defaultUpstream']);
  });

  it('keeps the listeners, the store and the secret at their running values and lists them', () => {
    const before = config({ listen: { port: 8080 }, admin: { port: 9180 }, secret: 'old-secret' });
    const after = config({
      listen: { host: '127.0.0.1', port: 8081, backlog: 8192, headersTimeoutMs: 5000 },
      admin: { host: '10.0.0.1', port: 9181, token: 't' },
      store: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
      secret: 'new-secret',
    });
    const plan = planReload(before, after);
    expect(plan.needsRestart).toEqual(['listen.host', 'listen.port', 'listen.backlog', 'admin.host', 'admin.port', 'store.kind', 'store.url', 'store.prefix', 'store.commandTimeoutMs', 'secret']);
    expect(plan.config.listen).toEqual({ ...after.listen, host: '0.0.0.0', port: 8080, backlog: 4096 });
    expect(plan.config.admin).toEqual({ host: '127.0.0.1', port: 9180, token: 't' });
    expect(plan.config.store).toBe(before.store);
    expect(plan.config.secret).toBe('old-secret');
    // What is applied: the other listen keys and the admin token.
    expect(plan.changed).toEqual(['listen', 'admin']);
    expect(Object.isFrozen(plan.config) && Object.isFrozen(plan.config.listen) && Object.isFrozen(plan.config.admin)).toBe(true);
  });
});

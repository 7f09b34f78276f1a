import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkControlUpstreams, controlSchema, upstreamControlSchema } from '../../src/control/schema.js';

const fixture = new URL('./fixtures/control.yaml', import.meta.url);

function issues(input: unknown): string[] {
  const r = upstreamControlSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('control config schema', () => {
  it('accepts the documented example and fills defaults', () => {
    const c = controlSchema.parse(parse(readFileSync(fixture, 'utf8')));
    const app = c.upstreams['app']!;
    expect(app.engage.dbConnections?.postgres).toEqual({ url: 'postgres://monitor@db:5432/app', above: '80%', measure: 'connections', everyMs: 1_000, timeoutMs: 1_000 });
    // A URL alone expands to the defaults.
    expect(app.engage.dbConnections?.pgbouncer).toEqual({ url: 'postgres://stats@pgbouncer:6432/pgbouncer', above: 0, measure: 'waiting', everyMs: 1_000, timeoutMs: 1_000 });
    expect(c.upstreams['reports']!.engage.dbConnections?.mysql).toMatchObject({ url: 'mysql://monitor@127.0.0.1:3306/', above: '80%', measure: 'connections' });
    expect(app.limit.adaptive).toMatchObject({ min: 10, max: 200, tolerance: 1.5, smoothing: 0.2, windowMs: 1_000, minSamples: 10, longWindow: 600 });
  });

  it('has working defaults for an empty upstream entry', () => {
    expect(upstreamControlSchema.parse({})).toEqual({
      engage: { forS: 5 },
      shed: { forS: 10 },
      release: { belowFactor: 0.8, forS: 30, unknown: 'hold' },
      limit: {},
      slowStart: { floor: 0.1, rampS: 60, onStart: true },
      window: { latencyS: 10, errorRateS: 30, errorRateMinSamples: 20 },
    });
    expect(controlSchema.parse({})).toEqual({ tickMs: 1_000, eventLoopResolutionMs: 20, upstreams: {} });
  });

  it('names the key and the fix for each mistake', () => {
    expect(issues({ engage: { latencyP95ms: 800 } })).toEqual([expect.stringMatching(/latencyP95ms/)]);
    expect(issues({ engage: { latencyP95Ms: 800 }, shed: { latencyP95Ms: 500 } })).toEqual(['shed.latencyP95Ms: shed.latencyP95Ms (500) must be above engage.latencyP95Ms (800)']);
    expect(issues({ shed: { errorRate: 0.5 } })).toEqual(['shed.errorRate: shed.errorRate needs engage.errorRate: the room queues before it sheds']);
    expect(issues({ engage: { dbConnections: { postgres: 'postgres://x/y' } }, shed: { dbConnections: { postgres: '70%' } } })).toEqual([
      'shed.dbConnections.postgres: shed.dbConnections.postgres (70%) must be above engage.dbConnections.postgres.above (80%)',
    ]);
    expect(issues({ shed: { dbConnections: { mysql: 10 } } })).toEqual(['shed.dbConnections.mysql: shed.dbConnections.mysql needs engage.dbConnections.mysql']);
    expect(issues({ engage: { forS: 10 }, release: { forS: 5 } })[0]).toMatch(/release.forS: .*make it longer/);
    expect(issues({ engage: { dbConnections: { http: { url: 'http://a/b', pointer: 'pool/x', above: 1 } } } })[0]).toMatch(/engage.dbConnections.http.pointer: .*start with "\/"/);
    expect(issues({ engage: { dbConnections: { postgres: { url: 'postgres://x/y', above: 'lots' } } } }).join()).toMatch(/percentage of max_connections/);
    expect(issues({ engage: { dbConnections: { mysql: 'postgres://x/y' } } }).join()).toMatch(/mysql:\/\//);
    expect(issues({ limit: { adaptive: { min: 50, max: 10 } } })).toEqual(['limit.adaptive: expected min <= max']);
    expect(issues({ limit: { static: 500, adaptive: { max: 100 } } })[0]).toMatch(/limit.static .* above limit.adaptive.max/);
    expect(issues({ probe: { path: 'health' } })[0]).toMatch(/probe.path/);
    expect(issues({ slowStart: { floor: 0 } })[0]).toMatch(/slowStart.floor/);
  });

  it('reports control entries for upstreams that do not exist', () => {
    const c = controlSchema.parse({ upstreams: { app: {}, ghost: {} } });
    expect(checkControlUpstreams(c, ['app'])).toEqual([{ path: 'control.upstreams.ghost', message: 'no upstream named "ghost" (known: app)' }]);
  });
});

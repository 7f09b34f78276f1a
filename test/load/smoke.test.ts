/**
 * The load harness still works end to end (the full runs are `npm run load`, not part of the tests):
 * every scenario's anteroom config passes the config schema and its nginx config passes `nginx -t`,
 * and a few seconds of scenario 001 run against anteroom from the built CLI, with a real origin
 * process, yield the scenario's figures. Needs `npm run build` (npm test runs it first).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAll } from '../bench/procs.js';
import { validateConfig, formatConfigError } from '../../src/config/load.js';
import { runScenario, type ScenarioEnv } from './harness.js';
import { checkNginxConfig, findNginx } from './proxies.js';
import { SCENARIOS } from './scenarios/index.js';

afterAll(() => stopAll());

const env: ScenarioEnv = {
  originUrl: 'http://127.0.0.1:40001',
  originPort: 40001,
  proxyPort: 40002,
  adminPort: 40003,
  secret: 'x'.repeat(43),
  pgUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  pgBaseline: 5,
  scale: 1,
};

describe('load scenarios', () => {
  it.each(Object.keys(SCENARIOS))('%s: the anteroom config is valid', (id) => {
    const result = validateConfig(SCENARIOS[id]!.anteroom(env));
    expect(result.ok ? [] : result.errors.map(formatConfigError)).toEqual([]);
  });

  const nginx = findNginx();
  it.skipIf(nginx === null).each(Object.keys(SCENARIOS))('%s: nginx accepts the nginx config', (id) => {
    expect(checkNginxConfig(nginx!, SCENARIOS[id]!.nginx(env))).toBeNull();
  });

  it('runs a few seconds of scenario 001 against anteroom and reports its figures', async () => {
    const r = await runScenario(SCENARIOS['001']!, 'anteroom', { scale: 0.1 });
    const byKey = new Map(r.figures.map((f) => [f.key, f]));
    for (const key of ['othersP99Before', 'othersP99During', 'floodJobs', 'originInflight', 'proxyCpu']) expect(byKey.has(key), key).toBe(true);
    // Real traffic went through: the origin saw the inbox and the automation of every tenant.
    const tenants = new Set(r.data.origin.arrivals.tenant);
    for (const t of ['t1', 't2', 't3', 'robo']) expect(tenants.has(t), t).toBe(true);
    expect(r.data.rec.visits.filter((v) => v.label === 'inbox').length).toBeGreaterThan(0);
    // anteroom's upstream concurrency (16) holds whatever the load.
    expect(byKey.get('originInflight')!.value).toBeLessThanOrEqual(16);
    expect(byKey.get('originInflight')!.value).toBeGreaterThan(0);
  }, 120_000);
});

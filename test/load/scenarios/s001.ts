/**
 * 001: one tenant's automation floods a bulk route at 50x its usual rate while three other tenants
 * use the app (incident 001: runaway automation of one account competed for every platform resource).
 * The origin has 16 workers; an inbox request takes 20 ms, an automation job 100 ms and slows every
 * request in service by 3% while it runs (jobs and pages share the hardware).
 *
 * Figure that matters: the other tenants' p99 before vs during the flood.
 */
import { apiCall, closedLoop, poissonArrivals, sleep, type Visit } from '../clients.js';
import { fig, formatNumber, ms, originInflightMax, p50, p99, visitsIn } from '../figures.js';
import type { RunData, Scenario, ScenarioEnv } from '../harness.js';
import { NGINX_REFUSALS } from '../proxies.js';
import { anteroomBase, nginxUpstream } from './common.js';

const WORKERS = 16;
const OTHERS = ['t1', 't2', 't3'];
/** Inbox requests per second of each other tenant. */
const OTHER_RATE = 15;
/** The automation's workers: one normally (about 4 jobs/s), 50 during the flood. */
const FLOOD_FACTOR = 50;
const THINK_MS = 150;
/** Per tenant: requests per second (all routes), bulk per second, in flight at once. */
const TENANT_RATE = 100;
const TENANT_BULK_RATE = 50;
const TENANT_CONCURRENCY = 8;

const phases = (env: ScenarioEnv): { beforeMs: number; floodMs: number; afterMs: number } => ({
  beforeMs: Math.round(12_000 * env.scale),
  floodMs: Math.round(30_000 * env.scale),
  afterMs: Math.round(3_000 * env.scale),
});

export const s001: Scenario = {
  id: '001',
  title: "one tenant's automation floods a bulk route at 50x",
  summary: `Three tenants each load their inbox ${OTHER_RATE} times a second (20 ms of work); a fourth tenant's automation runs one job worker calling a bulk route (100 ms of work, ${THINK_MS} ms between jobs: about 4 jobs/s), then ${FLOOD_FACTOR} workers for 30 s: about 200 jobs/s, 20 workers' worth on a 16-worker origin. Every client honours Retry-After. Both proxies allow each tenant ${TENANT_RATE} req/s, ${TENANT_BULK_RATE} bulk req/s and ${TENANT_CONCURRENCY} requests in flight.`,

  origin: () => ({
    workers: WORKERS,
    serviceMs: 20,
    contention: 0.03,
    routes: [
      { prefix: '/api/automation', serviceMs: 100, heavy: true },
      { prefix: '/inbox', serviceMs: 20 },
    ],
  }),

  anteroom: (env) =>
    anteroomBase(
      env,
      {
        routes: [
          { name: 'automation', path: '/api/automation/**', class: 'bulk' },
          { name: 'inbox', path: '/inbox/**', class: 'critical' },
        ],
        limits: {
          tenant: {
            rate: `${TENANT_RATE}/s`,
            burst: TENANT_RATE * 2,
            concurrency: TENANT_CONCURRENCY,
            classes: { bulk: { rate: `${TENANT_BULK_RATE}/s`, burst: TENANT_BULK_RATE } },
          },
        },
        room: { mode: 'auto', hold: { apiMs: 8_000 } },
      },
      { concurrency: WORKERS },
    ),

  // An operator's nginx for the same policy: a request-rate zone per tenant (burst of two seconds,
  // nodelay) on every location, a tighter one for the bulk route, limit_conn per tenant, and the
  // upstream's keep-alive pool. nginx has no notion of the upstream's capacity beyond max_conns,
  // which refuses (502) rather than queues, so it is left out.
  nginx: (env) => `
  limit_req_zone $tenant zone=tenant:10m rate=${TENANT_RATE}r/s;
  limit_req_zone $tenant zone=tenant_bulk:10m rate=${TENANT_BULK_RATE}r/s;
  limit_conn_zone $tenant zone=tenant_conn:10m;
${nginxUpstream(env)}
  server {
    listen 127.0.0.1:${env.proxyPort};
${NGINX_REFUSALS}
    limit_conn tenant_conn ${TENANT_CONCURRENCY};
    location /api/automation/ {
      limit_req zone=tenant burst=${TENANT_RATE * 2} nodelay;
      limit_req zone=tenant_bulk burst=${TENANT_BULK_RATE} nodelay;
      proxy_pass http://app;
    }
    location / {
      limit_req zone=tenant burst=${TENANT_RATE * 2} nodelay;
      proxy_pass http://app;
    }
  }`,

  async drive(d) {
    const p = phases(d.env);
    const pending: Promise<Visit>[] = [];
    let seq = 0;
    const inbox = (tenant: string): void => {
      pending.push(apiCall(d.http, d.rec, { id: `${tenant}-${seq++}`, tenant, path: `/inbox/${tenant}`, label: 'inbox', maxAttempts: 20, budgetMs: 30_000, timeoutMs: 30_000 }, d.rng));
    };
    const job = (): Promise<Visit> =>
      apiCall(d.http, d.rec, { id: `robo-${seq++}`, tenant: 'robo', path: '/api/automation/run', method: 'POST', label: 'bulk', maxAttempts: 20, budgetMs: 30_000, timeoutMs: 30_000 }, d.rng);
    const total = p.beforeMs + p.floodMs + p.afterMs;
    const others = OTHERS.map((t) => poissonArrivals(OTHER_RATE, total, d.rng, () => inbox(t)));
    // The automation is a job runner: one worker normally, 50 during the flood, each starting its next
    // job a think time after the last one ended (so its demand is 50x, and it waits when held).
    const runner = (workers: number, forMs: number): Promise<void> => closedLoop(workers, Date.now() + forMs, THINK_MS, d.rng, job);
    const bulk = (async () => {
      await runner(1, p.beforeMs);
      d.mark('floodStart');
      await runner(FLOOD_FACTOR, p.floodMs);
      d.mark('floodEnd');
      await runner(1, p.afterMs);
    })();
    await Promise.all([...others, bulk]);
    d.mark('arrivalsEnd');
    // Every visit is bounded (30 s budget); wait for the stragglers.
    await Promise.all(pending);
    await sleep(100);
  },

  figures(run: RunData) {
    const start = run.t0;
    const floodStart = run.marks['floodStart']!;
    const floodEnd = run.marks['floodEnd']!;
    const visits = run.rec.visits;
    const isOther = (v: Visit): boolean => v.label === 'inbox';
    const before = visitsIn(visits, start, floodStart, isOther);
    const during = visitsIn(visits, floodStart, floodEnd, isOther);
    const worstTenant = (vs: Visit[]): number => {
      const each = OTHERS.map((t) => p99(vs.filter((v) => v.tenant === t))).filter((x) => !Number.isNaN(x));
      return each.length === 0 ? NaN : Math.max(...each);
    };
    const failedOthers = visits.filter((v) => isOther(v) && !v.ok).length;
    const jobs = visits.filter((v) => v.label === 'bulk');
    const floodJobs = visitsIn(jobs, floodStart, floodEnd);
    const otherRefusals = visits.filter(isOther).reduce((a, v) => a + v.refusals, 0);
    return [
      fig('othersP99Before', "other tenants' p99 before the flood", p99(before), ms(p99(before))),
      fig('othersP99During', "other tenants' p99 during the flood", p99(during), ms(p99(during))),
      fig('worstTenantP99During', "worst other tenant's p99 during", worstTenant(during), ms(worstTenant(during))),
      fig('othersP50During', "other tenants' p50 during the flood", p50(during), ms(p50(during))),
      fig('othersFailed', "other tenants' requests failed / refused answers", failedOthers, `${formatNumber(failedOthers)} / ${formatNumber(otherRefusals)}`),
      fig('floodJobs', 'flood jobs sent / done / given up', floodJobs.length, `${formatNumber(floodJobs.length)} / ${formatNumber(floodJobs.filter((v) => v.ok).length)} / ${formatNumber(floodJobs.filter((v) => !v.ok).length)}`),
      fig('floodRefusals', 'refused answers to the flooding tenant', jobs.reduce((a, v) => a + v.refusals, 0)),
      fig('originInflight', 'most requests in flight at the origin (16 workers)', originInflightMax(run.origin, floodStart, floodEnd)),
    ];
  },
};

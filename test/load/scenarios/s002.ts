/**
 * 002: one expensive route class slows the upstream (incident 002: full-text search of every new
 * message outgrew the index, slowed everything, and relief came from excluding the expensive
 * queries). Three tenants use the inbox (critical, 30 ms), conversations (normal, 60 ms) and search
 * (bulk, 300 ms); searches in service slow every request by 2% each (they share the database). After
 * 12 s the index falls behind: a search takes 1.5 s and people search more, which alone is more than
 * the origin's 12 workers.
 *
 * Figures that matter: what is shed (by class) and what is kept (success and p99 of the rest).
 */
import { apiCall, poissonArrivals, sleep, type Visit } from '../clients.js';
import { fig, formatNumber, ms, originInflightMax, p99, pct, visitsIn } from '../figures.js';
import type { RunData, Scenario, ScenarioEnv } from '../harness.js';
import type { OriginRoute } from '../origin.js';
import { NGINX_REFUSALS } from '../proxies.js';
import { anteroomBase, nginxUpstream } from './common.js';

const WORKERS = 12;
const TENANTS = ['t1', 't2', 't3'];
const CLASSES = ['inbox', 'conversations', 'search'] as const;
/** Per tenant, requests per second by route, before and during the slowdown. */
const RATES = { inbox: 10, conversations: 8, search: 2 };
const SEARCH_RATE_DURING = 3;
const routes = (searchMs: number): OriginRoute[] => [
  { prefix: '/inbox', serviceMs: 30 },
  { prefix: '/conversations', serviceMs: 60 },
  { prefix: '/search', serviceMs: searchMs, heavy: true },
];
/** Per tenant in nginx and anteroom: all requests, searches, in flight. */
const TENANT_RATE = 100;
const SEARCH_LIMIT = 5;
const TENANT_CONCURRENCY = 8;

const phases = (env: ScenarioEnv): { beforeMs: number; slowMs: number } => ({
  beforeMs: Math.round(12_000 * env.scale),
  slowMs: Math.round(36_000 * env.scale),
});

export const s002: Scenario = {
  id: '002',
  title: 'an expensive route class slows the upstream',
  summary: `Three tenants each load the inbox ${RATES.inbox}/s (critical, 30 ms), conversations ${RATES.conversations}/s (normal, 60 ms) and search ${RATES.search}/s (bulk, 300 ms; each search in service slows everything by 2%) on a ${WORKERS}-worker origin. After 12 s a search takes 1.5 s and each tenant searches ${SEARCH_RATE_DURING}/s: searches alone want more than every worker. Every client honours Retry-After and gives up after 30 s. Both proxies: ${TENANT_RATE} req/s, ${SEARCH_LIMIT} searches/s and ${TENANT_CONCURRENCY} in flight per tenant; anteroom also queues when the p95 passes 500 ms and sheds bulk above 1.2 s.`,

  origin: () => ({ workers: WORKERS, serviceMs: 30, contention: 0.02, routes: routes(300) }),

  anteroom: (env) =>
    anteroomBase(
      env,
      {
        routes: [
          { name: 'inbox', path: '/inbox/**', class: 'critical' },
          { name: 'conversations', path: '/conversations/**', class: 'normal' },
          { name: 'search', path: '/search/**', class: 'bulk' },
        ],
        limits: {
          tenant: { rate: `${TENANT_RATE}/s`, burst: TENANT_RATE * 2, concurrency: TENANT_CONCURRENCY, classes: { bulk: { rate: `${SEARCH_LIMIT}/s`, burst: SEARCH_LIMIT * 2 } } },
        },
        room: { mode: 'auto', hold: { apiMs: 8_000 } },
        control: {
          tickMs: 500,
          upstreams: {
            app: {
              engage: { latencyP95Ms: 500, forS: 2 },
              shed: { latencyP95Ms: 1_200, forS: 2 },
              release: { forS: 10 },
              limit: { static: WORKERS },
              slowStart: { onStart: false },
              window: { latencyS: 5 },
            },
          },
        },
      },
      { concurrency: WORKERS },
    ),

  // An operator's nginx for the same policy: requests per tenant (burst of two seconds, nodelay),
  // searches per tenant in their own location (burst of two seconds, nodelay), limit_conn per tenant.
  // nginx cannot see the upstream slow down, so nothing changes when it does.
  nginx: (env) => `
  limit_req_zone $tenant zone=tenant:10m rate=${TENANT_RATE}r/s;
  limit_req_zone $tenant zone=tenant_search:10m rate=${SEARCH_LIMIT}r/s;
  limit_conn_zone $tenant zone=tenant_conn:10m;
${nginxUpstream(env)}
  server {
    listen 127.0.0.1:${env.proxyPort};
${NGINX_REFUSALS}
    limit_conn tenant_conn ${TENANT_CONCURRENCY};
    location /search/ {
      limit_req zone=tenant burst=${TENANT_RATE * 2} nodelay;
      limit_req zone=tenant_search burst=${SEARCH_LIMIT * 2} nodelay;
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
    const call = (tenant: string, label: (typeof CLASSES)[number]): void => {
      const id = `${tenant}-${label}-${seq++}`;
      pending.push(apiCall(d.http, d.rec, { id, tenant, path: `/${label}/${tenant}?q=${seq}`, label, maxAttempts: 10, budgetMs: 30_000, timeoutMs: 30_000 }, d.rng));
    };
    const run = (forMs: number, searchRate: number): Promise<unknown> =>
      Promise.all(
        TENANTS.flatMap((t) => [
          poissonArrivals(RATES.inbox, forMs, d.rng, () => call(t, 'inbox')),
          poissonArrivals(RATES.conversations, forMs, d.rng, () => call(t, 'conversations')),
          poissonArrivals(searchRate, forMs, d.rng, () => call(t, 'search')),
        ]),
      );
    await run(p.beforeMs, RATES.search);
    await d.origin({ type: 'set', routes: routes(1_500) });
    d.mark('slowStart');
    await run(p.slowMs, SEARCH_RATE_DURING);
    d.mark('slowEnd');
    await Promise.all(pending);
    await sleep(100);
  },

  figures(run: RunData) {
    const slow = run.marks['slowStart']!;
    const end = run.marks['slowEnd']!;
    const visits = run.rec.visits;
    const before = (label: string): Visit[] => visitsIn(visits, run.t0, slow, (v) => v.label === label);
    const during = (label: string): Visit[] => visitsIn(visits, slow, end, (v) => v.label === label);
    const ok = (vs: Visit[]): number => (vs.length === 0 ? NaN : vs.filter((v) => v.ok).length / vs.length);
    const kept = [...during('inbox'), ...during('conversations')];
    const searches = during('search');
    // A search "shed" is one that never got an answer: refused until its caller gave up.
    const searchRefusals = searches.reduce((a, v) => a + v.refusals, 0);
    return [
      ...CLASSES.map((c) =>
        fig(`p99_${c}`, `${c} p99 before / during the slowdown`, p99(during(c)), `${ms(p99(before(c)))} / ${ms(p99(during(c)))}`),
      ),
      fig('keptP99', 'inbox (critical) p99 during the slowdown', p99(during('inbox')), ms(p99(during('inbox')))),
      fig('kept', 'inbox + conversations answered during the slowdown', ok(kept), `${pct(ok(kept))} of ${formatNumber(kept.length)}`),
      fig('shed', 'searches not answered during the slowdown (shed)', 1 - ok(searches), `${pct(1 - ok(searches))} of ${formatNumber(searches.length)} (${formatNumber(searchRefusals)} refusals)`),
      fig('searchP99', 'answered searches p99 during', p99(searches), ms(p99(searches))),
      fig('originInflight', `most in flight at the origin (${WORKERS} workers)`, originInflightMax(run.origin, slow, end)),
    ];
  },
};

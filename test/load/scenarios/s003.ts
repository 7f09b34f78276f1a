/**
 * 003: a registration launch brings 20x the origin's capacity in a second and a half, while every
 * request the origin holds keeps a PostgreSQL connection open (incident 003: "database connections
 * began to accumulate beyond our spare capacity"). The origin serves 10 requests at a time, 200 ms
 * each: 50 registrations a second. Four in five registrants use a browser, one in five the mobile
 * app's API.
 *
 * People behave as people do: on a waiting page that shows their place they wait (up to two minutes);
 * on an error page they reload after a few seconds, ten times at most. The app retries with
 * Retry-After for up to two minutes.
 *
 * Figures that matter: in flight at the origin against the limit, goodput against capacity while the
 * backlog drains, registrations lost (must be 0), and FIFO fidelity: Kendall's tau between the order
 * in which people arrived and the order in which the origin saw them.
 */
import { apiCall, browserVisit, poissonArrivals, sleep, type Visit } from '../clients.js';
import { fifoTau, fig, firstArrivals, formatNumber, ms, originInflightMax, p50, p99, pct, sampleMax } from '../figures.js';
import { percentile } from '../stats.js';
import type { RunData, Scenario, ScenarioEnv } from '../harness.js';
import { NGINX_REFUSALS } from '../proxies.js';
import { anteroomBase, nginxUpstream } from './common.js';

const WORKERS = 10;
const SERVICE_MS = 200;
const CAPACITY = (WORKERS * 1000) / SERVICE_MS;
const TENANT = 'eventco';
/** Registrations per second before and after the spike, and during it. */
const BASE_RATE = 0.2 * CAPACITY;
const SPIKE_RATE = 20 * CAPACITY;
const BROWSER_SHARE = 0.8;
/** The origin's connection pool: more than it can serve at once, as such pools usually are. */
const PG_POOL = 40;

const phases = (env: ScenarioEnv): { beforeMs: number; spikeMs: number; afterMs: number } => ({
  beforeMs: Math.round(5_000 * env.scale),
  spikeMs: Math.round(1_500 * env.scale),
  afterMs: Math.round(40_000 * env.scale),
});

export const s003: Scenario = {
  id: '003',
  title: 'a 20x registration spike with database connections rising',
  summary: `The origin serves ${WORKERS} registrations at a time, ${SERVICE_MS} ms each (${CAPACITY}/s), and holds a PostgreSQL connection for every request in flight (pool of ${PG_POOL}). ${BASE_RATE} registrations/s arrive, then ${SPIKE_RATE}/s for 1.5 s, then ${BASE_RATE}/s again; 80% are browsers (a waiting page: wait up to 2 min; an error page: reload after 2-6 s, 10 times at most), 20% the app's API (Retry-After, 2 min). Both proxies hold the origin to ${WORKERS} in flight: anteroom queues the rest in its waiting room and also engages on PostgreSQL connections and latency; nginx has limit_req per client and per tenant and limit_conn per tenant.`,
  usesPostgres: true,
  chartLimit: WORKERS,

  origin: (env) => ({ workers: WORKERS, serviceMs: SERVICE_MS, pg: { url: env.pgUrl, max: PG_POOL, idleMs: 1_000 } }),

  anteroom: (env) =>
    anteroomBase(
      env,
      {
        routes: [{ name: 'register', path: '/register/**', class: 'normal' }],
        limits: { client: { rate: '5/s', burst: 10 } },
        room: { mode: 'auto', hold: { apiMs: 8_000 }, messages: { default: 'Registration is open. Thanks for waiting!' } },
        control: {
          tickMs: 500,
          upstreams: {
            app: {
              engage: {
                latencyP95Ms: 1_000,
                // Client sessions on the server before the run, plus what the origin may hold at its limit and a margin.
                dbConnections: { postgres: { url: env.pgUrl, above: env.pgBaseline + WORKERS + 5, everyMs: 500, timeoutMs: 1_000 } },
                forS: 1,
              },
              release: { forS: 10 },
              limit: { static: WORKERS },
              slowStart: { onStart: false },
            },
          },
        },
      },
      { concurrency: WORKERS, timeoutMs: 60_000 },
    ),

  // An operator's nginx for a known launch: per client (session cookie, else API key) 5 r/s with a
  // burst of 10, nodelay, so nobody hammers; per tenant the origin's capacity with a burst of two
  // seconds' worth, nodelay; limit_conn per tenant at the origin's concurrency. What passes the
  // limits goes straight to the origin; the rest gets 429/503 with Retry-After at once.
  nginx: (env) => `
  limit_req_zone $client_key zone=client:20m rate=5r/s;
  limit_req_zone $tenant zone=tenant:10m rate=${CAPACITY}r/s;
  limit_conn_zone $tenant zone=tenant_conn:10m;
${nginxUpstream(env)}
  server {
    listen 127.0.0.1:${env.proxyPort};
${NGINX_REFUSALS}
    proxy_read_timeout 60s;
    location / {
      limit_req zone=client burst=10 nodelay;
      limit_req zone=tenant burst=${CAPACITY * 2} nodelay;
      limit_conn tenant_conn ${WORKERS};
      proxy_pass http://app;
    }
  }`,

  async drive(d) {
    const p = phases(d.env);
    const pending: Promise<Visit>[] = [];
    let seq = 0;
    const register = (): void => {
      const id = `r${seq++}`;
      const path = `/register/launch?ref=${id}`;
      if (d.rng() < BROWSER_SHARE) {
        pending.push(browserVisit(d.http, d.rec, { id, tenant: TENANT, path, label: 'browser', patienceMs: 120_000, maxAttempts: 10, reloadMs: [2_000, 6_000], timeoutMs: 60_000 }, d.rng));
      } else {
        pending.push(apiCall(d.http, d.rec, { id, tenant: TENANT, path, method: 'POST', label: 'api', maxAttempts: 60, budgetMs: 120_000, timeoutMs: 60_000 }, d.rng));
      }
    };
    await poissonArrivals(BASE_RATE, p.beforeMs, d.rng, register);
    d.mark('spikeStart');
    await poissonArrivals(SPIKE_RATE, p.spikeMs, d.rng, register);
    d.mark('spikeEnd');
    await poissonArrivals(BASE_RATE, p.afterMs, d.rng, register);
    d.mark('arrivalsEnd');
    await Promise.all(pending);
    await sleep(200);
  },

  figures(run: RunData) {
    const spikeStart = run.marks['spikeStart']!;
    const visits = run.rec.visits;
    const first = firstArrivals(run.origin);
    const lost = visits.filter((v) => !v.ok);
    const spikeVisits = visits.filter((v) => v.start >= spikeStart && v.start < run.marks['spikeEnd']!);
    // The backlog drains until the last spike registrant reaches the origin; goodput is what the
    // origin answered (and the client was still there to receive) per second meanwhile.
    const reached = spikeVisits.map((v) => first.get(v.id)).filter((t): t is number => t !== undefined);
    const drainEnd = reached.length > 0 ? Math.max(...reached) : spikeStart;
    const a = run.origin.answers;
    let delivered = 0;
    let abandoned = 0;
    for (let i = 0; i < a.t.length; i++) {
      if (a.t[i]! < spikeStart || a.t[i]! >= drainEnd) continue;
      if (a.abandoned[i] === 1) abandoned++;
      else if (a.status[i] === 200) delivered++;
    }
    const drainS = Math.max(0.001, (drainEnd - spikeStart) / 1_000);
    const goodput = delivered / drainS / CAPACITY;
    const tau = fifoTau(visits, first);
    // What an admitted request costs at the origin (arrival to answer), before the spike and while
    // the backlog drained: a proxy that keeps the origin at its limit keeps this where it was.
    const latencies = (from: number, to: number): number[] => a.latencyMs.filter((_, i) => a.t[i]! >= from && a.t[i]! < to && a.status[i] === 200);
    const calmP99 = percentile(latencies(0, spikeStart), 99);
    const spikeP99 = percentile(latencies(spikeStart, drainEnd), 99);
    const refusals = visits.reduce((x, v) => x + v.refusals, 0);
    const polls = visits.reduce((x, v) => x + v.polls, 0);
    return [
      fig('registrations', 'registrations (in the 1.5 s spike)', visits.length, `${formatNumber(visits.length)} (${formatNumber(spikeVisits.length)})`),
      fig('inflightVsLimit', 'most in flight at the origin / limit', originInflightMax(run.origin), `${originInflightMax(run.origin)} / ${WORKERS}`),
      fig('pgSessions', "most PostgreSQL sessions of the origin", sampleMax(run.origin, 'pgOrigin')),
      fig('goodput', 'goodput while the backlog drained / capacity', goodput, `${pct(goodput)} (${formatNumber(delivered / drainS)}/s of ${CAPACITY}/s over ${drainS.toFixed(1)} s)`),
      fig('originP99', 'p99 at the origin of admitted requests: spike / before', spikeP99 / calmP99, `${ms(spikeP99)} / ${ms(calmP99)} = ${(spikeP99 / calmP99).toFixed(2)}x`),
      fig('abandonedWork', 'answers the origin computed for clients already gone', abandoned),
      fig('lost', 'registrations lost (gave up)', lost.length, `${formatNumber(lost.length)} (browsers ${formatNumber(lost.filter((v) => v.kind === 'browser').length)}, API ${formatNumber(lost.filter((v) => v.kind === 'api').length)})`),
      fig('tau', 'FIFO fidelity (Kendall tau, arrival vs admission)', tau, Number.isNaN(tau) ? 'n/a' : tau.toFixed(3)),
      fig('wait', 'time to register p50 / p99', p99(visits), `${ms(p50(visits))} / ${ms(p99(visits))}`),
      fig('refusals', 'answers that were not the page (waiting pages, 429, 503) / status polls', refusals, `${formatNumber(refusals)} / ${formatNumber(polls)}`),
    ];
  },
};

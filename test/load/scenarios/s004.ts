/**
 * 004: the upstream restarts while a backlog builds up, and comes back cold (incident 004: the
 * requests built up during the throttling hit the database all at once when the fix was deployed).
 * The origin serves 10 requests at a time, 100 ms each (100/s); a chat API calls it 60 times a second.
 * It goes down for 8 s; when it comes back, every request takes 3x as long at first and back to
 * normal over 15 s (cold caches). Clients honour Retry-After and otherwise back off exponentially.
 *
 * Figure that matters: the peak arrival rate at the origin in the 10 s after it came back, against
 * the limit.
 */
import { apiCall, poissonArrivals, sleep, type Visit } from '../clients.js';
import { arrivalTimes, fig, formatNumber, ms, originInflightMax, p99, peakPerSecond } from '../figures.js';
import type { RunData, Scenario, ScenarioEnv } from '../harness.js';
import { NGINX_REFUSALS } from '../proxies.js';
import { anteroomBase, nginxUpstream } from './common.js';

const WORKERS = 10;
const SERVICE_MS = 100;
const CAPACITY = (WORKERS * 1000) / SERVICE_MS;
const RATE = 60;
const DOWN_MS = 8_000;
const RAMP = { floor: 0.2, rampS: 10 };

const phases = (env: ScenarioEnv): { beforeMs: number; afterMs: number } => ({
  beforeMs: Math.round(10_000 * env.scale),
  afterMs: Math.round(20_000 * env.scale),
});

export const s004: Scenario = {
  id: '004',
  title: 'the upstream restarts after a backlog built up',
  summary: `A chat API calls a ${WORKERS}-worker origin (${SERVICE_MS} ms, ${CAPACITY}/s) ${RATE} times a second; the origin goes down for ${DOWN_MS / 1000} s and comes back cold (3x slower, normal after 15 s). Clients honour Retry-After (else back off from 250 ms to 8 s) and give up after 60 s. nginx: ${CAPACITY} r/s per tenant (burst ${CAPACITY}, nodelay), ${WORKERS} in flight. anteroom: ${WORKERS} in flight, a health probe every 250 ms, and a slow-start ramp from ${RAMP.floor * 100}% over ${RAMP.rampS} s when the upstream comes back.`,
  chartLimit: WORKERS,

  origin: () => ({ workers: WORKERS, serviceMs: SERVICE_MS }),

  anteroom: (env) =>
    anteroomBase(
      env,
      {
        routes: [{ name: 'chat', path: '/api/chat/**', class: 'normal' }],
        limits: { tenant: { rate: `${CAPACITY}/s`, burst: CAPACITY } },
        room: { mode: 'auto', hold: { apiMs: 8_000 } },
        control: {
          tickMs: 250,
          upstreams: {
            app: {
              engage: { latencyP95Ms: 1_000, errorRate: 0.3, forS: 1 },
              release: { forS: 10 },
              limit: { static: WORKERS },
              slowStart: { floor: RAMP.floor, rampS: RAMP.rampS, onStart: false },
              probe: { path: '/health', everyMs: 250, timeoutMs: 500, failuresToDown: 2 },
              window: { latencyS: 5, errorRateS: 5, errorRateMinSamples: 10 },
            },
          },
        },
      },
      { concurrency: WORKERS, connectTimeoutMs: 1_000 },
    ),

  // An operator's nginx: the origin's capacity per tenant with a burst of one second's worth
  // (nodelay), limit_conn per tenant at the origin's concurrency; a down origin refuses connections, so nginx
  // answers 502 at once. nginx has no slow start for an upstream coming back (the commercial
  // edition's `slow_start` needs a health-checked upstream group), so the backlog arrives at once.
  nginx: (env) => `
  limit_req_zone $tenant zone=tenant:10m rate=${CAPACITY}r/s;
  limit_conn_zone $tenant zone=tenant_conn:10m;
${nginxUpstream(env)}
  server {
    listen 127.0.0.1:${env.proxyPort};
${NGINX_REFUSALS}
    location / {
      limit_req zone=tenant burst=${CAPACITY} nodelay;
      limit_conn tenant_conn ${WORKERS};
      proxy_pass http://app;
    }
  }`,

  async drive(d) {
    const p = phases(d.env);
    const pending: Promise<Visit>[] = [];
    let seq = 0;
    const call = (): void => {
      const id = `c${seq++}`;
      pending.push(apiCall(d.http, d.rec, { id, tenant: 'proto', path: `/api/chat/reply?m=${id}`, method: 'POST', label: 'chat', maxAttempts: 60, budgetMs: 60_000, timeoutMs: 30_000 }, d.rng));
    };
    const arrivals = poissonArrivals(RATE, p.beforeMs + DOWN_MS + p.afterMs, d.rng, call);
    await sleep(p.beforeMs);
    d.mark('down');
    await d.origin({ type: 'restart', downMs: DOWN_MS, coldFactor: 3, warmMs: 15_000 });
    d.mark('up');
    await arrivals;
    d.mark('arrivalsEnd');
    await Promise.all(pending);
    await sleep(100);
  },

  figures(run: RunData) {
    const up = run.marks['up']!;
    const down = run.marks['down']!;
    const arrivals = arrivalTimes(run.origin, (i) => run.origin.arrivals.client[i] !== '');
    const firstSecond = arrivals.filter((t) => t >= up && t < up + 1_000).length;
    const visits = run.rec.visits;
    const failed = visits.filter((v) => !v.ok);
    const backlog = visits.filter((v) => v.start >= down && v.start < up);
    return [
      fig('backlog', 'calls made while the origin was down', backlog.length),
      fig('peakAfterRecovery', 'peak arrivals at the origin in 1 s, 10 s after recovery', peakPerSecond(arrivals, up, up + 10_000)),
      fig('firstSecond', 'arrivals at the origin in the first second back', firstSecond),
      fig('inflightAfter', 'most in flight at the origin after recovery', originInflightMax(run.origin, up, up + 10_000)),
      fig('limit', 'the limit', run.proxy === 'anteroom' ? WORKERS : CAPACITY, run.proxy === 'anteroom' ? `${WORKERS} in flight, ramp from ${Math.round(WORKERS * RAMP.floor)} over ${RAMP.rampS} s` : `${CAPACITY} r/s + burst ${CAPACITY}, ${WORKERS} in flight`),
      fig('failed', 'calls failed (gave up)', failed.length, `${formatNumber(failed.length)} of ${formatNumber(visits.length)}`),
      fig('backlogP99', 'time to answer p99, calls made while down', p99(backlog), ms(p99(backlog))),
      fig('refusals', 'refused answers (429, 502, 503)', visits.reduce((a, v) => a + v.refusals, 0)),
    ];
  },
};

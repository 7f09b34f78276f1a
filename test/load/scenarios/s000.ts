/**
 * 000: a websocket reconnect storm. 5,000 websocket clients are connected through the proxy; the
 * upstream restarts (every socket closed with 1012, the port refusing connections for 2 s) and every
 * client reconnects in a loop with a short exponential backoff that ignores whatever the server says
 * (incident 000: "exponential back-off mechanisms did not prevent individual clients from sending
 * requests below a safe threshold"). The origin spends 20 ms of a worker on every upgrade (a session
 * lookup), 10 workers: 500 upgrades/s is all it can take.
 *
 * Figure that matters: upgrades reaching the origin per second against the configured cap.
 */
import { sleep, WsClient } from '../clients.js';
import { fig, formatNumber, ms, sampleMax } from '../figures.js';
import type { RunData, Scenario, ScenarioEnv } from '../harness.js';
import { busiestWindow } from '../stats.js';
import { NGINX_REFUSALS } from '../proxies.js';
import { anteroomBase, nginxUpstream, scaled } from './common.js';

/** Upgrades per second across everyone, and per client per minute, that the operator allows. */
const CAP_PER_S = 250;
const PER_CLIENT_PER_MIN = 6;
const PER_CLIENT_BURST = 3;

const clients = (env: ScenarioEnv): number => scaled(env, 5_000, 20);
const cap = (env: ScenarioEnv): number => Math.max(5, Math.round(CAP_PER_S * Math.min(1, env.scale * 4)));

export const s000: Scenario = {
  id: '000',
  title: 'websocket reconnect storm after an upstream restart',
  summary:
    '5,000 websocket clients reconnect in a loop (backoff 100 ms doubling to 2 s, jittered, ignoring the server) after the upstream drops them all and is down for 2 s. The origin spends 20 ms of one of its 10 workers per upgrade. Both proxies cap upgrades at 250/s (burst 250) globally and 6/min (burst 3) per client.',

  origin: () => ({ workers: 10, serviceMs: 5, upgradeMs: 20 }),

  anteroom: (env) =>
    anteroomBase(env, {
      limits: {
        websocket: {
          perClient: { rate: `${PER_CLIENT_PER_MIN}/min`, burst: PER_CLIENT_BURST },
          global: { rate: `${cap(env)}/s`, burst: cap(env) },
          perTenantOpen: clients(env) + 1_000,
        },
      },
    }),

  // An operator's nginx for the same policy: one limit_req zone across all upgrades (keyed by the
  // server name, so every client shares it) and one per client (the session cookie), both with a burst
  // and nodelay so allowed upgrades are not delayed; limit_conn on open sockets per tenant; upgrades
  // passed through with the usual map; long read timeout so idle sockets stay open.
  nginx: (env) => `
  limit_req_zone $server_name zone=ws_all:1m rate=${cap(env)}r/s;
  limit_req_zone $client_key zone=ws_client:20m rate=${PER_CLIENT_PER_MIN}r/m;
  limit_conn_zone $tenant zone=tenant_conn:10m;
${nginxUpstream(env)}
  server {
    listen 127.0.0.1:${env.proxyPort};
${NGINX_REFUSALS}
    location / {
      limit_req zone=ws_all burst=${cap(env)} nodelay;
      limit_req zone=ws_client burst=${PER_CLIENT_BURST} nodelay;
      limit_conn tenant_conn ${clients(env) + 1_000};
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_pass http://app;
    }
  }`,

  async drive(d) {
    const n = clients(d.env);
    const until = Date.now() + 180_000;
    const ws = Array.from(
      { length: n },
      (_, i) =>
        new WsClient(
          { url: `${d.wsBase}/live`, id: `ws${i}`, tenant: 'acme', baseMs: 100, capMs: 2_000, maxAttempts: 500, until, handshakeTimeoutMs: 5_000 },
          d.rec,
          d.rng,
        ),
    );
    // Connect everyone first, spread at 80% of the cap so the start itself is no storm.
    const spreadMs = (n / (cap(d.env) * 0.8)) * 1_000;
    ws.forEach((c) => c.start(d.rng() * spreadMs));
    const connectDeadline = Date.now() + spreadMs + 30_000 * Math.min(1, d.env.scale * 4);
    while (d.rec.wsConnected < n && Date.now() < connectDeadline) await sleep(100);
    d.mark('connected');
    await sleep(1_000);
    d.mark('restart');
    await d.origin({ type: 'restart', downMs: 2_000 });
    d.mark('up');
    // Watch the storm until everyone is back (and 3 s more), for at most 40 s.
    const stormEnd = Date.now() + 40_000 * Math.min(1, d.env.scale * 4);
    let allBackAt: number | null = null;
    while (Date.now() < stormEnd) {
      if (d.rec.wsConnected >= n) allBackAt ??= Date.now();
      if (allBackAt !== null && Date.now() - allBackAt > 3_000) break;
      await sleep(100);
    }
    d.mark('end');
    for (const c of ws) c.stop();
  },

  figures(run: RunData) {
    const n = clients(run.env);
    const restart = run.marks['restart']!;
    const up = run.marks['up']!;
    const end = run.marks['end']!;
    const a = run.origin.arrivals;
    const upgrades: number[] = [];
    for (let i = 0; i < a.t.length; i++) if (a.ws[i] === 1 && a.t[i]! >= up) upgrades.push(a.t[i]!);
    const peak = busiestWindow(upgrades, 1_000, up, end).count;
    const stormS = Math.max(0.001, (end - up) / 1_000);
    const attempts = run.rec.wsAttempts.filter((x) => x.t >= restart && x.t < end);
    const connectedAfter = attempts.filter((x) => x.outcome === 'connected').map((x) => x.t);
    const refused = new Map<string, number>();
    for (const x of attempts) if (x.outcome !== 'connected') refused.set(x.outcome, (refused.get(x.outcome) ?? 0) + 1);
    const reconnectTime = (share: number): number | null => {
      const need = Math.ceil(n * share);
      const sorted = connectedAfter.sort((x, y) => x - y);
      return sorted.length >= need ? sorted[need - 1]! - up : null;
    };
    const t95 = reconnectTime(0.95);
    const t100 = reconnectTime(1);
    const attemptTimes = attempts.map((x) => x.t);
    const connectedAtStart = run.rec.wsConnectedSeries.v[run.rec.wsConnectedSeries.t.findIndex((t) => t >= restart)] ?? 0;
    return [
      fig('clients', 'websocket clients (connected before the restart)', n, `${formatNumber(n)} (${formatNumber(connectedAtStart)})`),
      fig('cap', 'configured upgrade cap', cap(run.env), `${cap(run.env)}/s, burst ${cap(run.env)}`),
      // A token bucket lets through at most its burst plus one second's rate in any 1 s window; what
      // the origin counts can exceed it a little, as upgrades let through over a little more than a
      // second reach it closer together when the proxy's event loop is busy.
      fig('capWindow', 'most the cap lets through in any 1 s (burst + rate)', 2 * cap(run.env)),
      fig('peakOriginUpgrades', 'peak upgrades reaching the origin in 1 s', peak),
      fig('meanOriginUpgrades', 'mean upgrades reaching the origin per s until all were back', upgrades.filter((t) => t < end).length / stormS),
      fig('peakAttempts', 'peak upgrade attempts at the proxy in 1 s', busiestWindow(attemptTimes, 1_000, up, end).count),
      fig('attempts', 'upgrade attempts after the restart', attempts.length),
      fig('refusals', 'refused attempts by kind', [...refused.values()].reduce((x, y) => x + y, 0), [...refused].map(([k, v]) => `${k}: ${formatNumber(v)}`).join(', ') || '0'),
      fig('originBacklog', 'most upgrades waiting for an origin worker', sampleMax(run.origin, 'waiting', up, end)),
      fig('t95', 'time until 95% reconnected', t95, t95 === null ? 'not reached' : ms(t95)),
      fig('t100', 'time until all reconnected', t100, t100 === null ? `not reached (${formatNumber(connectedAfter.length)} of ${formatNumber(n)})` : ms(t100)),
    ];
  },
};


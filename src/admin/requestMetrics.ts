/**
 * The metrics of what the request path recorded (requestStats.ts): counts by decision, class, status
 * and tenant, upstream latency, waits, and websocket upgrades.
 */
import { CLASSES, DECISIONS, STATUSES, UPGRADE_REFUSALS, WAIT_KINDS, WAIT_OUTCOMES, type RequestStats } from './requestStats.js';
import { ScrapeMetric } from './scrapeMetric.js';

export function requestMetrics(stats: RequestStats): ScrapeMetric[] {
  return [
    new ScrapeMetric(
      'anteroom_requests_total',
      'Requests and websocket upgrades handled, counted when the exchange is over (a websocket when it closes). decision: forward (sent upstream), bypass (bypass route), own (anteroom endpoint), queue (waiting page or 503 with a ticket), refuse (anteroom answered with an error), pending (the client left before a decision). status: exact code for common ones, else its class (2xx..5xx), none when nothing was sent.',
      'counter',
      (out) => {
        const counts = stats.requests;
        for (let i = 0; i < counts.length; i++) {
          if (counts[i] === 0) continue;
          const s = i % STATUSES.length;
          const dc = (i - s) / STATUSES.length;
          out.add(counts[i]!, { decision: DECISIONS[Math.floor(dc / CLASSES.length)]!, class: CLASSES[dc % CLASSES.length]!, status: STATUSES[s]! });
        }
      },
    ),
    new ScrapeMetric(
      'anteroom_tenant_requests_total',
      'Requests per tenant and decision, for the busiest tenants (metrics.tenants of them); every other tenant is counted as tenant="other". A tenant is counted under its own name from the moment it becomes one of the busiest.',
      'counter',
      (out) => {
        for (const [tenant, counts] of stats.tenants.labels()) {
          for (let d = 0; d < DECISIONS.length; d++) if (counts[d] !== 0) out.add(counts[d]!, { tenant, decision: DECISIONS[d]! });
        }
      },
    ),
    new ScrapeMetric(
      'anteroom_upstream_latency_seconds',
      'Time from sending a request to the upstream to its response headers (for a websocket, to its 101), per upstream.',
      'histogram',
      (out) => {
        for (const [upstream, h] of stats.upstreamLatency) out.histogram(h, { upstream });
      },
    ),
    new ScrapeMetric(
      'anteroom_room_wait_seconds',
      'Time from taking a place in the waiting room to being let in (outcome admitted), or to the end of the hold of an API request or websocket upgrade that was not let in in time (outcome timeout; it keeps its place with its ticket). Counted from the first arrival of a ticket that is brought back.',
      'histogram',
      (out) => {
        WAIT_KINDS.forEach((kind, k) => WAIT_OUTCOMES.forEach((outcome, o) => out.histogram(stats.roomWait[k * 2 + o]!, { kind, outcome })));
      },
    ),
    new ScrapeMetric(
      'anteroom_concurrency_wait_seconds',
      'Time a request waited for a concurrency slot (upstream, route or tenant cap): admitted, or timeout (answered 503 ANT_CAPACITY).',
      'histogram',
      (out) => {
        WAIT_OUTCOMES.forEach((outcome, o) => out.histogram(stats.gateWait[o]!, { outcome }));
      },
    ),
    new ScrapeMetric('anteroom_websocket_upgrades_total', 'Websocket upgrade requests received.', 'counter', (out) => out.add(stats.upgrades)),
    new ScrapeMetric(
      'anteroom_websocket_upgrades_admitted_total',
      'Websocket upgrades let through to the upstream (anteroom_websocket_opened_total counts those the upstream accepted).',
      'counter',
      (out) => out.add(stats.upgradesAdmitted),
    ),
    new ScrapeMetric(
      'anteroom_websocket_upgrades_refused_total',
      'Websocket upgrades refused by anteroom, by reason: rate_limit (upgrade token bucket), open_cap (the tenant has its most websockets open), queue_timeout (held in the waiting room and not let in in time), queue_full, blocked, shed, shutting_down, other (malformed and the like).',
      'counter',
      (out) => UPGRADE_REFUSALS.forEach((reason, i) => out.add(stats.upgradesRefused[i]!, { reason })),
    ),
  ];
}

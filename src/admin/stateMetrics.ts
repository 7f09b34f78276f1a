/**
 * The metrics read from the proxy's state when scraped: the waiting room, concurrency, upstreams in
 * flight, open websockets, the limit store's health and the counters kept by the parts themselves.
 */
import { CLASSES } from './requestStats.js';
import { ScrapeMetric } from './scrapeMetric.js';
import { OTHER_TENANT } from './topTenants.js';
import type { Runtime } from '../runtime.js';

/** Where the room's queue can be (Room.queueMode). */
const QUEUE_MODES = ['local', 'shared', 'local-fallback'];

export function stateMetrics(rt: Runtime): ScrapeMetric[] {
  const room = rt.room;
  return [
    new ScrapeMetric(
      'anteroom_room_waiting',
      'Places waiting in the waiting room now; with store.kind redis, across every instance as of the last sync with Redis.',
      'gauge',
      (out) => out.add(room.waiting),
    ),
    new ScrapeMetric(
      'anteroom_room_waiting_class',
      "Places waiting per class in the queue this instance keeps (all of the room with the memory store; with Redis only the places kept locally during an outage).",
      'gauge',
      (out) => {
        const w = room.waitingByClass();
        for (const c of CLASSES) out.add(w[c], { class: c });
      },
    ),
    new ScrapeMetric(
      'anteroom_room_waiting_tenant',
      'Places waiting per tenant in the queue this instance keeps, for the busiest tenants (as anteroom_tenant_requests_total); the rest as tenant="other".',
      'gauge',
      (out) => {
        const all = room.waitingByClass();
        let rest = all.critical + all.normal + all.bulk;
        for (const tenant of rt.stats.tenants.named()) {
          const w = room.waitingOf(tenant);
          const n = w.critical + w.normal + w.bulk;
          rest -= n;
          out.add(n, { tenant });
        }
        out.add(rest, { tenant: OTHER_TENANT });
      },
    ),
    new ScrapeMetric(
      'anteroom_room_engaged',
      '1 while the waiting room makes newcomers wait because someone waits or room.mode is queue-all, else 0 (a controller in queueing or shedding does too: anteroom_upstream_state).',
      'gauge',
      (out) => out.add(room.engaged() ? 1 : 0),
    ),
    new ScrapeMetric('anteroom_room_limit', 'Requests in flight at the upstream the room admits against; absent when there is no limit.', 'gauge', (out) => out.add(room.limit)),
    new ScrapeMetric('anteroom_room_active_sessions', 'Admitted browser sessions active now (seen within room.sessionTtlS), as this instance counts them.', 'gauge', (out) => out.add(room.activeSessions)),
    new ScrapeMetric('anteroom_room_admitted_total', 'Places let in from the waiting room by this instance.', 'counter', (out) => out.add(room.admitted)),
    new ScrapeMetric('anteroom_room_abandoned_total', 'Places dropped from this instance\'s queue because their client stopped polling or retrying within the grace.', 'counter', (out) => out.add(room.abandoned)),
    new ScrapeMetric(
      'anteroom_room_rejected_tickets_total',
      'Tickets that failed verification (forged, tampered, expired, another client\'s or another tenant\'s); their bearers got a fresh place at the back.',
      'counter',
      (out) => out.add(room.rejectedTickets),
    ),
    new ScrapeMetric(
      'anteroom_room_queue_mode',
      'Where the waiting room\'s queue is: local (memory store), shared (in Redis), local-fallback (Redis unreachable; this instance queues on its own). 1 for the current mode.',
      'gauge',
      (out) => out.states(QUEUE_MODES, room.queueMode, 'mode'),
    ),
    new ScrapeMetric(
      'anteroom_limit_store_degraded',
      '1 while the Redis limit store is unreachable and rate limits are decided on local buckets (each instance its share), else 0.',
      'gauge',
      (out) => out.add((rt.limits.store as { degraded?: boolean }).degraded === true ? 1 : 0),
    ),
    new ScrapeMetric('anteroom_shadow_refusals_total', 'Requests a shadow (dry-run) limit would have refused; they were let through.', 'counter', (out) => out.add(rt.limits.shadowRefusals)),
    new ScrapeMetric(
      'anteroom_upstream_in_flight',
      'HTTP requests this instance has sent to the upstream and not yet had a response for.',
      'gauge',
      (out) => {
        for (const [upstream, u] of rt.upstreams) out.add(u.inFlight, { upstream });
      },
    ),
    new ScrapeMetric(
      'anteroom_upstream_limit',
      "The in-flight limit in force at the upstream: room.concurrency or the upstream's concurrency, lowered by its controller (adaptive limit, slow-start ramp); absent when there is none.",
      'gauge',
      (out) => {
        for (const upstream of rt.upstreams.keys()) out.add(rt.limits.gate.upstreamLimit(upstream), { upstream });
      },
    ),
    new ScrapeMetric(
      'anteroom_upstream_slots_in_use',
      'Concurrency slots held at the upstream: requests admitted under its limit in force and not finished.',
      'gauge',
      (out) => {
        for (const upstream of rt.upstreams.keys()) out.add(rt.limits.gate.inFlight(upstream), { upstream });
      },
    ),
    new ScrapeMetric('anteroom_concurrency_waiting', 'Requests waiting for a concurrency slot now (limits.wait).', 'gauge', (out) => out.add(rt.limits.gate.waiting)),
    new ScrapeMetric('anteroom_websockets_open', 'Websockets open through this instance.', 'gauge', (out) => out.add(rt.websockets.size)),
    new ScrapeMetric('anteroom_websocket_opened_total', 'Websockets opened: the upstream accepted the upgrade.', 'counter', (out) => out.add(rt.websockets.opened)),
    new ScrapeMetric('anteroom_websocket_closed_total', 'Websockets closed, by either side.', 'counter', (out) => out.add(rt.websockets.closed)),
  ];
}

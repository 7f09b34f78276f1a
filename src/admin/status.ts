/**
 * `GET /status`: the state of this instance in one JSON document, shaped for a dashboard that polls
 * it (stable field names, arrays sorted by name, numbers as numbers, null for "none" or "unknown").
 *
 * - `upstreams`: per upstream, the controller's state, signals and limit in force when one runs for
 *   it, and the requests in flight from this instance;
 * - `tenants`: per tenant seen (waiting, admitted, refused, or with a switch or config of its own):
 *   the mode in force, waiters per class, admitted sessions, in flight, open websockets, refusals
 *   since start by code;
 * - `room`, `controls`, `store`: the waiting room as a whole, the operators' switches, the shared store.
 */
import type { ControllerSnapshot } from '../control/controller.js';
import type { Signal } from '../control/signal.js';
import { redactUrl } from '../control/redactUrl.js';
import type { Runtime } from '../runtime.js';

export interface UpstreamStatus {
  name: string;
  url: string;
  /** The controller's state (`open`, `queueing`, `shedding`); null when no controller runs for it. */
  state: string | null;
  /** The in-flight limit in force (the controller's, else the configured one); null for none. */
  limit: number | null;
  limitSource: string;
  inFlight: number;
  /** The controller's signals, each with `ageMs`: how long ago it was read (null: never). */
  signals: (Signal & { ageMs: number | null })[];
  /** The controller's whole snapshot (ramp, adaptive limiter, last transition), when one runs. */
  control: ControllerSnapshot | null;
}

export interface TenantStatus {
  tenant: string;
  mode: string;
  waiting: { critical: number; normal: number; bulk: number; total: number };
  admittedSessions: number;
  inFlight: number;
  websockets: number;
  refusals: Record<string, number>;
}

/** The controllers by upstream name, when the runtime has them (read defensively: they may not run). */
function controllerOf(rt: Runtime, upstream: string): ControllerSnapshot | null {
  const controllers = (rt as unknown as { controllers?: Map<string, { snapshot(): ControllerSnapshot }> }).controllers;
  try {
    return controllers?.get(upstream)?.snapshot() ?? null;
  } catch {
    return null;
  }
}

export async function buildStatus(rt: Runtime, startedAt: number): Promise<Record<string, unknown>> {
  const now = Date.now();
  const room = rt.room;
  const gate = rt.limits.gate;
  const config = rt.config;
  const upstreams: UpstreamStatus[] = [...rt.upstreams.values()]
    .map((u) => {
      const control = controllerOf(rt, u.name);
      const own = u.settings.concurrency ?? Infinity;
      const configured = u.name === room.upstream ? Math.min(own, room.limit) : own;
      return {
        name: u.name,
        url: redactUrl(u.settings.url),
        state: control?.state ?? null,
        limit: control !== null ? control.limit : configured === Infinity ? null : configured,
        limitSource: control !== null ? control.limitSource : configured === Infinity ? 'none' : 'config',
        inFlight: gate.inFlight(u.name),
        signals: (control?.signals ?? []).map((s) => ({ ...s, ageMs: s.updatedAt === null ? null : Math.max(0, now - s.updatedAt) })),
        control,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  const waiting = await room.tenantCounts();
  const sessions = room.sessionCounts();
  const names = new Set<string>([...waiting.keys(), ...sessions.keys(), ...rt.refusals.tenants(), ...Object.keys(config.limits.tenants)]);
  for (const [tenant] of rt.controls.state.tenantModeEntries()) names.add(tenant);
  for (const o of rt.controls.state.overrides()) if (o.scope === 'tenant') names.add(o.name);
  const tenants: TenantStatus[] = [...names].sort().map((tenant) => {
    const w = waiting.get(tenant) ?? { critical: 0, normal: 0, bulk: 0 };
    return {
      tenant,
      mode: rt.controls.roomMode(tenant, config.room.mode),
      waiting: { ...w, total: w.critical + w.normal + w.bulk },
      admittedSessions: sessions.get(tenant) ?? 0,
      inFlight: gate.tenantInFlight(tenant),
      websockets: rt.websockets.openFor(tenant),
      refusals: rt.refusals.of(tenant),
    };
  });

  const store = rt.limits.store as { kind: string; degraded?: boolean };
  const modes = rt.controls.state.modes();
  return {
    instance: rt.instanceId,
    time: new Date(now).toISOString(),
    uptimeS: Math.round((now - startedAt) / 1000),
    draining: rt.draining,
    store: { kind: store.kind, degraded: store.degraded === true },
    room: {
      queue: room.queueMode,
      upstream: room.upstream,
      limit: room.limit === Infinity ? null : room.limit,
      waiting: room.waiting,
      admitted: room.admitted,
      mode: { config: config.room.mode, global: modes.global?.mode ?? null },
    },
    controls: {
      backend: rt.controls.backendKind,
      synced: rt.controls.synced,
      generation: rt.controls.generation,
      blocks: rt.controls.state.blocks().length,
      tenantModes: modes.tenants.length,
      overrides: rt.controls.state.overrides().length,
    },
    websockets: rt.websockets.size,
    upstreams,
    tenants,
  };
}

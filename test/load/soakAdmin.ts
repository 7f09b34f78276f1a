/**
 * The soak's operator (soak.ts): the room's modes changed through the admin API, one step of CYCLE
 * at a time, each checked in `/status` (the mode in force per tenant, the global mode).
 */
import { Agent, request } from 'undici';
import type { RoomMode as Mode } from '../../src/controls/model.js';
import { TENANTS, type Tenant } from './soakTraffic.js';

/** The runtime modes in force at one step: the global one (null: none, the config's auto) and the tenants' own. */
export interface ModeState {
  global: Mode | null;
  tenants: Partial<Record<Tenant, Mode>>;
}

/**
 * One cycle of mode steps. Every mode appears globally and per tenant, a tenant's own mode wins over
 * the global one in both directions (acme `auto` and globex `open` through a global maintenance), and
 * the cycle ends with every mode cleared: back to the config's `auto`.
 */
export const CYCLE: ModeState[] = [
  { global: 'queue-all', tenants: {} },
  { global: 'maintenance', tenants: { acme: 'auto', globex: 'open' } },
  { global: 'pause', tenants: { acme: 'maintenance', globex: 'open' } },
  { global: 'queue-all', tenants: { acme: 'maintenance' } },
  { global: 'open', tenants: { acme: 'pause', globex: 'queue-all' } },
  { global: null, tenants: {} },
];

export const ALL_AUTO: ModeState = { global: null, tenants: {} };

export interface Step {
  phase: 'prime' | 'soak';
  step: number;
  /** ms since the soak (or priming) began. */
  t: number;
  state: ModeState;
  calls: { method: string; path: string; status: number }[];
  /** The mode in force per tenant and the global mode, as /status reported them after the calls. */
  observed: { global: string | null; tenants: Record<string, string> } | null;
  applied: boolean;
}

/** The admin API of the proxy under soak. */
export class Admin {
  private agent = new Agent({ connections: 4, keepAliveTimeout: 4_000 });

  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const res = await request(this.base + path, {
      dispatcher: this.agent,
      method: method as 'GET',
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** Closes its connections (so that a quiet count sees none of them) and starts a fresh pool for later calls. */
  async close(): Promise<void> {
    const old = this.agent;
    this.agent = new Agent({ connections: 4, keepAliveTimeout: 4_000 });
    await old.close();
  }

  async metrics(): Promise<Record<string, number>> {
    const r = await this.call('GET', '/metrics');
    const out: Record<string, number> = {};
    for (const line of r.text.split('\n')) {
      const m = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
      if (m) out[m[1]!] = Number(m[2]);
    }
    return out;
  }
}

const expected = (s: ModeState, tenant: Tenant): Mode => s.tenants[tenant] ?? s.global ?? 'auto';

/** Changes the runtime modes from `from` to `to` with the fewest admin calls, then reads /status back. */
export async function applyModes(admin: Admin, phase: Step['phase'], step: number, t: number, from: ModeState, to: ModeState): Promise<Step> {
  const calls: Step['calls'] = [];
  const set = async (path: string, before: Mode | null | undefined, after: Mode | null | undefined): Promise<void> => {
    if ((before ?? null) === (after ?? null)) return;
    const r =
      after === null || after === undefined
        ? await admin.call('DELETE', path)
        : await admin.call('PUT', path, { mode: after, reason: `soak step ${step}`, ...(after === 'maintenance' ? { message: `Maintenance (soak step ${step})` } : {}) });
    calls.push({ method: after == null ? 'DELETE' : 'PUT', path, status: r.status });
  };
  await set('/modes', from.global, to.global);
  for (const tenant of TENANTS) await set(`/modes/tenants/${tenant}`, from.tenants[tenant], to.tenants[tenant]);
  let observed: Step['observed'] = null;
  try {
    const r = await admin.call('GET', '/status');
    const st = JSON.parse(r.text) as { room: { mode: { global: string | null } }; tenants: { tenant: string; mode: string }[] };
    observed = { global: st.room.mode.global, tenants: Object.fromEntries(st.tenants.filter((x) => (TENANTS as readonly string[]).includes(x.tenant)).map((x) => [x.tenant, x.mode])) };
  } catch {
    // No status: the step counts as not applied.
  }
  const applied =
    calls.every((c) => c.status === 200) &&
    observed !== null &&
    observed.global === to.global &&
    TENANTS.every((tenant) => observed!.tenants[tenant] === expected(to, tenant));
  return { phase, step, t, state: to, calls, observed, applied };
}

export const describeState = (s: ModeState): string => {
  const parts = [`global ${s.global ?? 'auto (cleared)'}`, ...Object.entries(s.tenants).map(([t, m]) => `${t} ${m}`)];
  return parts.join(', ');
};


/**
 * The operators' levers as one object: the state in force here (controlsState.ts), kept in step with
 * the other instances by a backend (memory or Redis), and a small typed API to change it. The admin
 * API writes through it; the guard, rate-limit and admit phases and the room read it (the pipeline
 * never imports the admin API). Every change takes effect on this instance at once, before the
 * backend has written it, so an operator's command never waits on Redis to bite.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { TenantLimitOverrides } from '../limits/limitPlan.js';
import type { RoomSwitches } from '../room/switches.js';
import type { ControlsBackend } from './backend.js';
import { ControlsState } from './controlsState.js';
import { entryKey, type Block, type BlockKind, type ControlEntry, type LimitOverride, type ModeSetting, type RoomMode } from './model.js';

export interface BlockInit {
  kind: BlockKind;
  /** Already in the stored form (a session's key, not its cookie). */
  value: string;
  reason: string;
  message?: string | undefined;
  /** Seconds until the block lifts by itself; none: until removed. */
  ttlS?: number | undefined;
  websocketsOnly?: boolean | undefined;
  closeWebsockets?: boolean | undefined;
}

export interface OverrideInit {
  rate?: number | undefined;
  burst?: number | undefined;
  concurrency?: number | undefined;
  reason?: string | undefined;
}

/** The outcome of a change: `shared` is false when the shared store could not be written (yet). */
export interface Changed<T> {
  entry: T;
  shared: boolean;
}

/** Longest timer Node accepts; a later expiry is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Controls implements RoomSwitches, TenantLimitOverrides {
  readonly state: ControlsState;
  private readonly backend: ControlsBackend;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners: (() => void)[] = [];
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryAt = Infinity;
  private closed = false;
  private heldBackTenants: string[] = [];
  private heldBackGeneration = -1;

  constructor(backend: ControlsBackend, log: Logger, now: () => number = Date.now) {
    this.backend = backend;
    this.log = log;
    this.now = now;
    this.state = new ControlsState(now);
    backend.start(
      (entries) => {
        this.state.replace(entries);
        this.changed();
      },
      () => [...this.state.all()],
    );
  }

  /** Nothing blocked and no maintenance: the guard's one check. */
  get quiet(): boolean {
    return this.state.quiet;
  }

  get generation(): number {
    return this.state.generation;
  }

  get backendKind(): 'memory' | 'redis' {
    return this.backend.kind;
  }

  /** Whether the shared store is in step (always true in memory). */
  get synced(): boolean {
    return this.backend.synced;
  }

  /** Resolves once the shared state has been loaded, or after `timeoutMs`; tells which. */
  ready(timeoutMs = 1_000): Promise<boolean> {
    return this.backend.ready(timeoutMs);
  }

  /** Called after every change of the state, wherever it came from. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  // --- changes ---------------------------------------------------------------------------------------

  async addBlock(init: BlockInit): Promise<Changed<Block>> {
    const now = this.now();
    const block: Block = {
      type: 'block',
      id: randomBytes(6).toString('base64url'),
      kind: init.kind,
      value: init.value,
      reason: init.reason,
      ...(init.message !== undefined ? { message: init.message } : {}),
      websocketsOnly: init.websocketsOnly ?? false,
      closeWebsockets: init.closeWebsockets ?? false,
      createdAt: now,
      expiresAt: init.ttlS === undefined ? null : now + init.ttlS * 1000,
    };
    this.log.warn({ block }, 'controls: block added');
    return { entry: block, shared: await this.put(block) };
  }

  /** Lifts a block; null when there is none with that id. */
  async removeBlock(id: string): Promise<Changed<Block> | null> {
    const removed = this.state.get(`b:${id}`);
    if (removed === undefined || removed.type !== 'block') return null;
    this.log.warn({ block: removed }, 'controls: block removed');
    return { entry: removed, shared: await this.remove(`b:${id}`) };
  }

  /** Sets the room mode of one tenant, or the global one (`tenant` null). */
  async setMode(tenant: string | null, mode: RoomMode, message?: string, reason?: string): Promise<Changed<ModeSetting>> {
    const setting: ModeSetting = {
      type: 'mode',
      tenant,
      mode,
      ...(message !== undefined ? { message } : {}),
      ...(reason !== undefined ? { reason } : {}),
      setAt: this.now(),
    };
    this.log.warn({ mode: setting }, 'controls: room mode set');
    return { entry: setting, shared: await this.put(setting) };
  }

  /** Clears a runtime mode (the config's `room.mode`, or the global runtime mode, applies again). */
  async clearMode(tenant: string | null): Promise<Changed<ModeSetting> | null> {
    const key = tenant === null ? 'm:*' : `m:t:${tenant}`;
    const removed = this.state.get(key);
    if (removed === undefined || removed.type !== 'mode') return null;
    this.log.warn({ mode: removed }, 'controls: room mode cleared');
    return { entry: removed, shared: await this.remove(key) };
  }

  async setOverride(scope: 'tenant' | 'route', name: string, init: OverrideInit): Promise<Changed<LimitOverride>> {
    const override: LimitOverride = { type: 'override', scope, name, ...stripUndefined(init), setAt: this.now() };
    this.log.warn({ override }, 'controls: limit override set');
    return { entry: override, shared: await this.put(override) };
  }

  async clearOverride(scope: 'tenant' | 'route', name: string): Promise<Changed<LimitOverride> | null> {
    const key = `o:${scope === 'tenant' ? 't' : 'r'}:${name}`;
    const removed = this.state.get(key);
    if (removed === undefined || removed.type !== 'override') return null;
    this.log.warn({ override: removed }, 'controls: limit override cleared');
    return { entry: removed, shared: await this.remove(key) };
  }

  private put(entry: ControlEntry): Promise<boolean> {
    this.state.put(entry);
    this.changed();
    return this.backend.write(entryKey(entry), entry);
  }

  private remove(key: string): Promise<boolean> {
    this.state.remove(key);
    this.changed();
    return this.backend.write(key, null);
  }

  private changed(): void {
    this.armExpiry();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ err }, 'controls: a change listener failed');
      }
    }
  }

  /** One timer for the next block to expire; at it, the block goes here and from the shared store. */
  private armExpiry(): void {
    if (this.closed) return;
    const next = this.state.nextExpiry() ?? Infinity;
    if (next === this.expiryAt && this.expiryTimer !== null) return;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.expiryAt = next;
    if (next === Infinity) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.expiryAt = Infinity;
      const gone = this.state.expire();
      for (const b of gone) {
        this.log.info({ block: b }, 'controls: block expired');
        void this.backend.write(entryKey(b), null);
      }
      if (gone.length > 0) this.changed();
      else this.armExpiry();
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - this.now())));
    this.expiryTimer.unref();
  }

  // --- what the room and the phases read -------------------------------------------------------------

  /** The room mode in force for a tenant: its own runtime mode, the global one, else `fallback` (the config's). */
  roomMode(tenant: string, fallback: RoomMode): RoomMode {
    if (!this.state.modesSet) return fallback;
    return this.state.modeOf(tenant)?.mode ?? fallback;
  }

  paused(tenant: string): boolean {
    if (!this.state.modesSet) return false;
    const m = this.state.modeOf(tenant)?.mode;
    return m === 'pause' || m === 'maintenance';
  }

  maintenance(tenant: string): string | null {
    if (!this.state.modesSet) return null;
    const m = this.state.modeOf(tenant);
    return m?.mode === 'maintenance' ? (m.message ?? '') : null;
  }

  pauseTable(): { all: boolean; tenants: Record<string, boolean> } {
    const global = this.state.globalSetting?.mode;
    const tenants: Record<string, boolean> = {};
    for (const [tenant, m] of this.state.tenantModeEntries()) tenants[tenant] = m.mode === 'pause' || m.mode === 'maintenance';
    return { all: global === 'pause' || global === 'maintenance', tenants };
  }

  get tenantOverrideCount(): number {
    return this.state.tenantOverrideCount;
  }

  heldBack(): readonly string[] {
    if (this.heldBackGeneration !== this.state.generation) {
      this.heldBackGeneration = this.state.generation;
      this.heldBackTenants = [];
      for (const [tenant, m] of this.state.tenantModeEntries()) if (m.mode !== 'auto' && m.mode !== 'open') this.heldBackTenants.push(tenant);
    }
    return this.heldBackTenants;
  }

  tenantOverride(tenant: string): LimitOverride | undefined {
    return this.state.tenantOverride(tenant);
  }

  routeOverride(route: string): LimitOverride | undefined {
    return this.state.routeOverride(route);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    await this.backend.close();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The waiting room of many proxy instances sharing one Redis (`store.kind: redis`): one queue, one
 * order, one set of positions and one admission budget for the whole fleet (DESIGN: "queue order is
 * global"). The queue lives in Redis (redisRoomQueue.ts); this class is the Room the proxy runs, with
 * the memory Room's behaviour whenever Redis cannot be used.
 *
 * - Order. A place's seq is taken from Redis's clock by the script that queues it, so arrival order is
 *   global; admission runs FairQueue's policy in Redis, whichever instance runs it.
 * - Positions are computed in Redis by the queueing and status calls (the same formula as
 *   FairQueue.position), so the same ticket reads the same position on every instance. `position(id)`
 *   answers from the last call about that id.
 * - Capacity is one global budget: `room.limit` minus what every live instance has in flight minus the
 *   admissions not collected yet. Each instance reports its in-flight count on every call (every tick
 *   while anyone waits); an instance that stops reporting is dropped with its count after a few
 *   seconds, and an admission nobody collects expires after the grace, so nothing leaks. While nobody
 *   waits, an instance lets newcomers straight through only up to an allowance granted in Redis
 *   against the same budget (see SYNC_LUA), so the fast path never takes capacity twice.
 * - Wake-up. An admission of a request held on this instance comes back in the reply when this
 *   instance made it, and otherwise through this instance's inbox, which every tick (100 ms while
 *   anything waits) drains: a held request admitted anywhere is let in here within one tick.
 * - Tickets carry the seq, so they work on any instance; a graceful stop answers every held request
 *   with its ticket (503) and keeps its place, so restarting an instance loses nobody's place.
 * - Outage. A failed or slow call (the store's timeout) switches the room to the local FairQueue:
 *   held requests move into it at their places, newcomers queue there, the limit is this instance's
 *   share. Logged once, visible in readyz (`roomQueue`). Each tick probes Redis; on the first answer
 *   the local waiters are put back into Redis at their seq and the shared queue resumes.
 */
import type { Logger } from 'pino';
import type { ClusterNode } from 'ioredis';
import type { Claim, ConcurrencyGate } from '../../limits/concurrencyGate.js';
import { classIndex, type RoomClass } from '../classes.js';
import type { Waiter, WaiterKind } from '../fairQueue.js';
import { RESERVE_MS, Room, waiterId, type Held, type JoinResult, type RoomStatusAnswer } from '../room.js';
import type { RoomConfig } from '../schema.js';
import type { Ticket } from '../ticket.js';
import { RedisRoomQueue, type Report, type RoomSnapshot } from './redisRoomQueue.js';

export interface SharedRoomOptions {
  connection: { url: string } | { clusterNodes: ClusterNode[] };
  instanceId: string;
  prefix?: string;
  commandTimeoutMs?: number;
}

/** While anyone waits or is held: how often an instance reports and drains its inbox. */
const ACTIVE_TICK_MS = 100;
/** Otherwise: the heartbeat, which also grants the fast-path allowance. */
const IDLE_TICK_MS = 250;
/** How long an instance that stops reporting still counts (its load with it). */
const INSTANCE_TTL_MS = 3_000;
/** Bound on ids remembered for removal while Redis is unreachable. */
const MAX_FORGOTTEN = 100_000;

const UNKNOWN: RoomStatusAnswer = Object.freeze({ state: 'unknown', id: '', ticket: null, tenant: '' });

export class SharedRoom extends Room {
  readonly shared: RedisRoomQueue;
  private waitingAll = 0;
  private pendingAll = 0;
  private instances = 1;
  /** The fast-path allowance granted by the last sync; -1 when the room has no limit. */
  private allowance = 0;
  private snapshotAt = -Infinity;
  private lastAdmissions = NaN;
  /** Position per id from the last call about it, for `position()` (answers are synchronous). */
  private readonly positions = new Map<string, { position: number | null; at: number }>();
  /** Held here, admitted in Redis, waiting for a local slot (a tenant or route cap). */
  private readonly awaitingSlot = new Set<string>();
  /** Admitted ids routed here before their hold was registered (or after it ended). */
  private readonly unclaimed = new Map<string, number>();
  private collected: string[] = [];
  private forgotten: string[] = [];
  private lastEnsure = -Infinity;
  private local = false;
  private syncing = false;
  private again = false;
  private closing = false;
  private closed = false;
  private policyDirty = true;
  private policyLimit = NaN;
  private tickTimer: NodeJS.Timeout | null = null;
  private lastPrune = 0;

  constructor(config: RoomConfig, secret: string, gate: ConcurrencyGate, log: Logger, options: SharedRoomOptions, now: () => number = Date.now) {
    super(config, secret, gate, log, now);
    this.shared = new RedisRoomQueue({
      connection: options.connection,
      logger: log,
      instanceId: options.instanceId,
      prefix: options.prefix,
      commandTimeoutMs: options.commandTimeoutMs,
    });
    this.shared.on('degraded', () => this.toLocal());
    this.scheduleTick(0);
  }

  /** 'shared' while the queue is in Redis; 'local-fallback' during an outage (and before connecting). */
  override get queueMode(): string {
    return this.shared.degraded ? 'local-fallback' : 'shared';
  }

  /** Resolves once the shared queue answers, or after `timeoutMs`; tells which. */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.shared.degraded && this.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return !this.shared.degraded;
  }

  override reconfigure(config: RoomConfig, template?: string): void {
    super.reconfigure(config, template);
    this.policyDirty = true;
  }

  /** Which tenants are paused travels with the policy: admission runs in Redis. */
  /** Any instance may admit a place: a held status poll looks again every 250 ms (one Redis call). */
  protected override get pollRecheckMs(): number {
    return this.shared.degraded ? super.pollRecheckMs : 250;
  }

  override switchesChanged(): void {
    this.policyDirty = true;
    super.switchesChanged();
    this.requestSync();
  }

  /** Waiters per tenant and class in the shared queue (plus this instance's during an outage). */
  override async tenantCounts(): Promise<Map<string, ReturnType<Room['waitingOf']>>> {
    const local = await super.tenantCounts();
    const shared = this.shared.degraded ? null : await this.shared.tenantCounts();
    if (shared === null) return local;
    for (const [tenant, c] of local) {
      const s = shared.get(tenant);
      shared.set(tenant, s === undefined ? c : { critical: s.critical + c.critical, normal: s.normal + c.normal, bulk: s.bulk + c.bulk });
    }
    return shared;
  }

  override get waiting(): number {
    return this.shared.degraded ? this.queue.size : this.waitingAll + this.queue.size;
  }

  /**
   * Unlike the memory room's, the count here includes the waiters of tenants an operator holds back (the
   * shared queue's counts are fleet-wide, not per tenant): the others then go through the shared queue,
   * which admits them at once while there is room, past the held-back tenants.
   */
  override engaged(mode: string = this.config.mode): boolean {
    if (this.shared.degraded) return super.engaged(mode);
    return mode === 'queue-all' || mode === 'pause' || mode === 'maintenance' || (mode === 'auto' && (this.waitingAll > 0 || this.pendingAll > 0 || this.queue.size > 0 || this.pending.size > 0));
  }

  override hasRoom(): boolean {
    const inFlight = this.gate.inFlight(this.upstream);
    if (this.shared.degraded) return inFlight < this.localLimit();
    return this.allowance < 0 || inFlight < this.allowance;
  }

  /** During an outage: this instance's share of the limit, never below one (like the store's fallback). */
  protected override localLimit(): number {
    if (!this.shared.degraded || this.limit === Infinity) return this.limit;
    return Math.max(1, Math.floor(this.limit / this.instances));
  }

  // --- joining and polling -----------------------------------------------------------------------------

  override enter(tenant: string, cls: RoomClass, clientKey: string, kind: WaiterKind, token: string | undefined, reqId: string): JoinResult | Promise<JoinResult> {
    if (this.shared.degraded) return super.enter(tenant, cls, clientKey, kind, token, reqId);
    const now = this.now();
    let ticket: Ticket | null = null;
    if (token !== undefined) {
      ticket = this.verifyTicket(token, clientKey, now, reqId);
      if (ticket !== null && ticket.tenant !== tenant) {
        this.rejectedTickets++;
        this.log.info({ reqId, tenant, ticketTenant: ticket.tenant }, 'ticket of another tenant; fresh place at the back');
        ticket = null;
      }
      if (ticket !== null) {
        const id = waiterId(ticket.tenant, ticket.cls, ticket.seq);
        // Left over from an outage: answered locally until the next tick moves it to Redis.
        if (this.pending.has(id) || this.queue.has(id)) return super.enter(tenant, cls, clientKey, kind, token, reqId);
      }
    }
    const t = ticket;
    return this.shared.enter({ tenant, cls: t?.cls ?? cls, held: kind !== 'browser', ...(t ? { ticket: { seq: t.seq, issuedAt: t.issuedAt } } : {}) }, this.report()).then((r) => {
      if (r === null) {
        this.toLocal();
        return super.enter(tenant, cls, clientKey, kind, token, reqId);
      }
      this.absorb(r.room);
      this.wake(r.mine);
      if (r.state === 'full') return { kind: 'full' } as const;
      if (r.state === 'admitted') {
        this.admitted++;
        return { kind: 'admitted', id: r.id } as const;
      }
      if (t !== null && !r.restored) this.log.info({ reqId, tenant, awayMs: now - t.issuedAt }, 'ticket older than the grace; fresh place at the back');
      this.remember(r.id, r.position);
      const issued = this.tickets.issue({ tenant, cls: t?.cls ?? cls, seq: r.seq, clientKey, now: this.now() });
      return { kind: 'queued', id: r.id, ticket: issued, restored: r.restored } as const;
    });
  }

  override poll(token: string | undefined, clientKey: string, reqId: string, newcomer: { tenant: string; cls: RoomClass } | null = null): RoomStatusAnswer | Promise<RoomStatusAnswer> {
    if (token === undefined) {
      if (newcomer === null) return UNKNOWN;
      return then(this.enter(newcomer.tenant, newcomer.cls, clientKey, 'browser', undefined, reqId), (r) => statusOf(r, newcomer.tenant));
    }
    if (this.shared.degraded) return super.poll(token, clientKey, reqId);
    const now = this.now();
    const ticket = this.verifyTicket(token, clientKey, now, reqId);
    if (ticket === null) return UNKNOWN;
    return then(this.enter(ticket.tenant, ticket.cls, clientKey, 'browser', token, reqId), (r) => statusOf(r, ticket.tenant));
  }

  override position(id: string): number | null {
    if (this.queue.has(id)) return super.position(id);
    return this.positions.get(id)?.position ?? null;
  }

  // --- holding -------------------------------------------------------------------------------------------

  override hold(id: string, claim: Claim, timeoutMs: number, done: (admitted: boolean) => void): void {
    // Shutting down: answered at once with the ticket; an admission meanwhile waits in Redis for its retry.
    if (this.closing) return done(false);
    const previous = this.held.get(id);
    if (previous !== undefined) {
      this.held.delete(id);
      if (previous.timer !== null) clearTimeout(previous.timer);
      previous.done(false);
    }
    const entry: Held = { claim, done, timer: null };
    this.held.set(id, entry);
    if (this.queue.has(id)) this.queue.pin(id);
    entry.timer = setTimeout(() => this.holdTimedOut(id, entry), timeoutMs);
    // Admitted (by another instance) before this hold was registered.
    if (this.unclaimed.delete(id)) this.tryWake(id, entry);
    this.pump();
  }

  private holdTimedOut(id: string, entry: Held): void {
    if (this.held.get(id) !== entry) return;
    this.held.delete(id);
    this.awaitingSlot.delete(id);
    if (this.queue.has(id) || this.shared.degraded) {
      this.queue.unpin(id, this.now());
      entry.done(false);
      return;
    }
    void this.shared.unpin([id], this.report()).then((r) => {
      const p = r?.positions[0];
      if (r !== null) this.absorb(r.room);
      // Admitted just now, and the admission has not reached this instance yet.
      if (p === -1 && this.gate.tryAcquire(entry.claim)) {
        this.collected.push(id);
        this.admitted++;
        this.positions.delete(id);
        entry.done(true);
        return;
      }
      if (r !== null) this.remember(id, p === -1 || p === undefined ? null : p);
      entry.done(false);
    });
  }

  override leave(id: string): void {
    super.leave(id);
    this.awaitingSlot.delete(id);
    this.positions.delete(id);
    this.unclaimed.delete(id);
    // Sockets closed by our own shutdown keep their places (drain has answered them with tickets).
    if (this.closing) return;
    if (this.shared.degraded) return this.forget(id);
    void this.shared.leave([id], this.report()).then((ok) => {
      if (!ok) this.forget(id);
    });
  }

  /** A waiter admitted by the local pump during an outage may still have its place in Redis. */
  protected override admit(w: Waiter, now: number): boolean {
    const ok = super.admit(w, now);
    if (ok) this.forget(w.id);
    return ok;
  }

  /**
   * Answers every held request now with its ticket (503, or 1013 for an upgrade) and unpins its place,
   * so that the clients come back to another instance (or this one, restarted) at the same place.
   */
  override async drain(): Promise<void> {
    this.closing = true;
    const entries = [...this.held];
    this.held.clear();
    this.awaitingSlot.clear();
    for (const [, h] of entries) if (h.timer !== null) clearTimeout(h.timer);
    const shared = entries.filter(([id]) => !this.queue.has(id)).map(([id]) => id);
    if (shared.length > 0 && !this.shared.degraded) {
      const r = await this.shared.unpin(shared, this.report());
      if (r !== null) shared.forEach((id, i) => this.remember(id, r.positions[i] === -1 ? null : (r.positions[i] ?? null)));
    }
    for (const [id, h] of entries) {
      this.queue.unpin(id, this.now());
      h.done(false);
    }
  }

  // --- the pump ------------------------------------------------------------------------------------------

  override pump(): void {
    if (this.closed) return;
    if (this.shared.degraded) return super.pump();
    for (const id of this.awaitingSlot) {
      const h = this.held.get(id);
      if (h === undefined) this.awaitingSlot.delete(id);
      else if (!this.tryWake(id, h)) break;
    }
    if (this.waitingAll > 0 || this.pendingAll > 0 || this.held.size > 0 || this.queue.size > 0) this.requestSync();
  }

  private requestSync(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.sync().finally(() => {
      this.syncing = false;
      if (this.again) {
        this.again = false;
        this.requestSync();
      }
    });
  }

  /** One report to Redis: touches, collected admissions, leavers, admissions, the inbox. */
  private async sync(): Promise<void> {
    const now = this.now();
    const ensureAll = this.shared.degraded || this.queue.size > 0 || now - this.lastEnsure >= Math.min(5_000, (this.config.graceS * 1000) / 3);
    const ensure: { id: string; held: boolean }[] = [];
    const migrating: string[] = [];
    if (ensureAll) {
      for (const id of this.held.keys()) ensure.push({ id, held: true });
      for (const w of this.queue.values()) {
        if (!this.held.has(w.id)) ensure.push({ id: w.id, held: false });
        migrating.push(w.id);
      }
    }
    const collected = this.collected;
    const forgotten = this.forgotten;
    this.collected = [];
    this.forgotten = [];
    const r = await this.shared.sync({ ensure, collected, forget: forgotten }, this.report());
    if (r === null) {
      this.collected = collected.concat(this.collected);
      this.forgotten = forgotten.concat(this.forgotten).slice(-MAX_FORGOTTEN);
      if (this.shared.degraded) this.toLocal();
      return;
    }
    if (ensureAll) this.lastEnsure = now;
    // Back in Redis at their places: the local queue was only for the outage.
    for (const id of migrating) this.queue.remove(id);
    this.local = false;
    this.allowance = r.allowance;
    this.absorb(r.room);
    this.wake(r.mine);
    this.wake(r.inbox);
  }

  /** Lets in held requests admitted in Redis, or keeps them ready until a slot frees here. */
  private wake(ids: readonly string[]): void {
    for (const id of ids) {
      const h = this.held.get(id);
      if (h === undefined) this.unclaimed.set(id, this.now());
      else this.tryWake(id, h);
    }
  }

  private tryWake(id: string, h: Held): boolean {
    if (this.local) return false;
    if (!this.gate.tryAcquire(h.claim)) {
      this.awaitingSlot.add(id);
      return false;
    }
    this.held.delete(id);
    this.awaitingSlot.delete(id);
    if (h.timer !== null) clearTimeout(h.timer);
    this.collected.push(id);
    this.positions.delete(id);
    this.admitted++;
    h.done(true);
    return true;
  }

  /** The outage began: held requests go into the local queue at their places, so nobody is stuck. */
  private toLocal(): void {
    if (this.local || this.closed) return;
    this.local = true;
    this.allowance = 0;
    for (const [id] of this.held) {
      if (this.queue.has(id)) continue;
      const w = parseWaiterId(id);
      if (w !== null && this.queue.enqueue({ id, tenant: w.tenant, cls: w.cls, seq: w.seq, enqueuedAt: this.now(), kind: 'api' }) !== 'full') this.queue.pin(id);
    }
    this.awaitingSlot.clear();
    this.unclaimed.clear();
    super.pump();
  }

  private scheduleTick(ms: number): void {
    this.tickTimer = setTimeout(() => this.tick(), ms);
    this.tickTimer.unref();
  }

  private tick(): void {
    this.tickTimer = null;
    if (this.closed) return;
    const now = this.now();
    if (now - this.lastPrune > 5_000) this.prune(now);
    if (this.shared.degraded) super.pump();
    this.requestSync();
    const busy = this.held.size > 0 || this.waitingAll > 0 || this.pendingAll > 0 || this.queue.size > 0;
    this.scheduleTick(busy ? ACTIVE_TICK_MS : IDLE_TICK_MS);
  }

  private prune(now: number): void {
    this.lastPrune = now;
    const horizon = now - 2 * this.config.graceS * 1000;
    for (const [id, p] of this.positions) {
      if (p.at >= horizon) break;
      this.positions.delete(id);
    }
    for (const [id, at] of this.unclaimed) {
      if (at >= now - 10_000) break;
      this.unclaimed.delete(id);
    }
  }

  // --- helpers -------------------------------------------------------------------------------------------

  private report(): Report {
    if (this.policyDirty || this.limit !== this.policyLimit) {
      const c = this.config;
      this.shared.setPolicy({
        graceMs: c.graceS * 1000,
        reserveMs: RESERVE_MS,
        maxPerTenant: c.maxPerTenant,
        maxTotal: c.maxTotal,
        limit: this.limit,
        weights: c.weights,
        defaultWeight: 1,
        minShares: c.minShares,
        outflowPerSecond: c.sessionsPerMinute === undefined ? 0 : c.sessionsPerMinute / 60,
        instanceTtlMs: INSTANCE_TTL_MS,
        paused: this.switches?.pauseTable() ?? { all: false, tenants: {} },
      });
      this.policyDirty = false;
      this.policyLimit = this.limit;
    }
    // Requests let in but waiting for a slot here are load too: the budget admits a few ahead (ADMIT_AHEAD).
    return { inFlight: this.gate.inFlight(this.upstream) + this.gate.waitingFor(this.upstream) + this.awaitingSlot.size, allowance: this.allowance, canAdmit: this.active.canAdmit('') };
  }

  private absorb(s: RoomSnapshot): void {
    if (s.timeMs >= this.snapshotAt) {
      this.snapshotAt = s.timeMs;
      this.waitingAll = s.waiting;
      this.pendingAll = s.pending;
      this.instances = s.instances;
      // Every instance's admissions make the rate this room's wait estimates are based on. A count that
      // went down is a Redis that lost its data: start counting again from there.
      if (s.admissions > this.lastAdmissions) this.estimator.recordAdmission(s.admissions - this.lastAdmissions);
      this.lastAdmissions = s.admissions;
    }
  }

  private remember(id: string, position: number | null): void {
    this.positions.delete(id);
    this.positions.set(id, { position, at: this.now() });
  }

  private forget(id: string): void {
    if (this.forgotten.length < MAX_FORGOTTEN) this.forgotten.push(id);
  }

  private verifyTicket(token: string, clientKey: string, now: number, reqId: string): Ticket | null {
    const v = this.tickets.verify(token, { clientKey, now });
    if (v.ok) return v.ticket;
    this.rejectedTickets++;
    this.log.info({ reqId, reason: v.reason }, 'ticket refused; fresh place at the back');
    return null;
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    if (!this.closing) await this.drain();
    this.closed = true;
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    await super.close();
    await this.shared.close();
  }
}

/** The parts of a waiter id (room.ts waiterId: tenant|class|seq; the tenant may contain '|'). */
export function parseWaiterId(id: string): { tenant: string; cls: RoomClass; seq: number } | null {
  const b = id.lastIndexOf('|');
  const a = id.lastIndexOf('|', b - 1);
  if (a < 0) return null;
  const cls = id.slice(a + 1, b);
  const seq = Number(id.slice(b + 1));
  if (classIndex(cls) < 0 || !Number.isSafeInteger(seq)) return null;
  return { tenant: id.slice(0, a), cls: cls as RoomClass, seq };
}

function statusOf(r: JoinResult, tenant: string): RoomStatusAnswer {
  if (r.kind === 'full') return { state: 'full', id: '', ticket: null, tenant };
  if (r.kind === 'admitted') return { state: 'admitted', id: r.id, ticket: null, tenant };
  return { state: 'waiting', id: r.id, ticket: r.ticket, tenant };
}

function then<T, U>(v: T | Promise<T>, f: (v: T) => U): U | Promise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

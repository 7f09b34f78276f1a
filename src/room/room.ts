/**
 * The waiting room as the proxy runs it: the fair queue, tickets, admission sessions, wait estimates
 * and the pump that lets people in when capacity frees. The admit phase asks it what to do with a
 * request; the status endpoint asks it where a ticket stands.
 *
 * Outflow: waiters are let in while the requests in flight at the upstream, plus the admissions not
 * yet collected by their browsers, stay below the room's limit, and (when configured) no faster than
 * `sessionsPerMinute`. A held API request or websocket is admitted by taking its concurrency slot
 * directly; a browser is admitted by marking its ticket, which its next status poll (or navigation)
 * turns into a session cookie.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Claim, ConcurrencyGate } from '../limits/concurrencyGate.js';
import type { RoomClass } from './classes.js';
import { clientKeyHash } from './clientKeyHash.js';
import { FairQueue, type Waiter, type WaiterKind } from './fairQueue.js';
import { compileWaitingPageTemplate, DEFAULT_TEMPLATE } from './page/index.js';
import type { RoomConfig } from './schema.js';
import { SequenceClock } from './sequence.js';
import { SessionSigner, type AdmissionSession } from './session.js';
import { ActiveSessions } from './activeSessions.js';
import type { RoomSwitches } from './switches.js';
import { TicketSigner, type Ticket } from './ticket.js';
import { WaitEstimator, type WaitRange } from './waitEstimate.js';

/** Where a request stands after asking to join. */
export type JoinResult =
  | { kind: 'queued'; id: string; ticket: string; restored: boolean }
  /** Admitted while away (a browser between polls, an API client between retries): let it in now. */
  | { kind: 'admitted'; id: string }
  | { kind: 'full' };

export interface Held {
  readonly claim: Claim;
  readonly done: (admitted: boolean) => void;
  timer: NodeJS.Timeout | null;
}

interface Pending {
  readonly tenant: string;
  readonly expiresAt: number;
}

/**
 * How long an uncollected admission holds capacity for its holder, when the holder is here to take
 * it (a status poll held or just made): a browser whose poll is held collects at once, one between
 * polls is back within this. Past it the admission stays good (for the grace) but no longer keeps
 * others out:
 * held for the whole grace, one person who never came back kept a slot idle for 30 s, and a room full
 * of browsers polling every few seconds let the upstream idle at a fraction of its capacity.
 */
export const RESERVE_MS = 1_000;
/**
 * The admission rate assumed while the room has not measured one (polling intervals, the places whose
 * polls are held): a fast one (ten upstream slots turning over every 200 ms), so that places are asked
 * about early rather than late.
 */
const UNKNOWN_RATE_PER_S = 50;

/**
 * How far ahead of the limit the room admits, as a share of it: admitted people take a round trip to
 * come in (the answer to their poll, then their request), and a slot freed meanwhile would idle. So a
 * few admitted requests may wait at the upstream's door (the concurrency gate) for the next free slot:
 * the upstream still never sees more than its limit, and each of them waits a fraction of a response.
 */
export const ADMIT_AHEAD = 0.25;

/** The admissions the room may make beyond a finite limit (see ADMIT_AHEAD). */
export function admitAhead(limit: number): number {
  // Rounded down: a limit of a few is kept exactly (one at a time means one at a time).
  return Number.isFinite(limit) ? Math.floor(limit * ADMIT_AHEAD) : 0;
}

/** A status poll near the front is held this long (at most) and answered the moment its place is admitted. */
export const POLL_HOLD_MS = 8_000;

export class Room {
  config: RoomConfig;
  template: string;
  protected readonly queue: FairQueue;
  protected readonly tickets: TicketSigner;
  private readonly sessions: SessionSigner;
  protected readonly active: ActiveSessions;
  readonly estimator: WaitEstimator;
  private readonly seq: SequenceClock;
  protected readonly held = new Map<string, Held>();
  /** Admitted waiters whose browser (or retrying client) has not come back yet, until the grace ends. */
  protected readonly pending = new Map<string, Pending>();
  /** The pending admissions still holding capacity (see RESERVE_MS), in admission order, with until when. */
  private readonly reserved = new Map<string, number>();
  /** Status polls held for a place, woken when it is admitted (or the switches change). */
  private readonly pollWatchers = new Map<string, Set<() => void>>();
  /**
   * Places already let in, until no ticket for them can be within the grace any more (their tickets were
   * all issued before the admission). A ticket is good for one admission: without this, a client that
   * presented it again (an API client whose cookie jar kept it, a replay) was put back at its old place,
   * at the front, for as long as the grace ran.
   */
  private readonly consumed = new Map<string, number>();
  /**
   * `sessionsPerMinute` as a token bucket of admissions: tokens per ms (null: no such limit), the bucket
   * size, what is in it and when it was last filled. It used to be a MemoryStore bucket asked for 0
   * tokens before each admission, which a GCRA bucket always grants: the limit never held.
   */
  private outflowRate: number | null = null;
  private outflowBurst = 1;
  private outflowTokens = 0;
  private outflowAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The in-flight limit the room admits against; Infinity when none is configured. */
  limit = Infinity;
  /** Name of the upstream whose in-flight count the room watches. */
  upstream = '';
  admitted = 0;
  rejectedTickets = 0;
  /** The operator's switches: a paused tenant (pause, maintenance) is admitted nobody, its places kept. */
  switches: RoomSwitches | null = null;

  constructor(
    config: RoomConfig,
    secret: string,
    protected readonly gate: ConcurrencyGate,
    protected readonly log: Logger,
    protected readonly now: () => number = Date.now,
  ) {
    this.config = config;
    this.template = loadWaitingPageTemplate(config);
    this.queue = new FairQueue({ now, ...queueSettings(config) });
    this.tickets = new TicketSigner({ secrets: [secret], ttlMs: config.ticketTtlS * 1000 });
    this.sessions = new SessionSigner({ secrets: [secret], ttlMs: config.sessionTtlS * 1000 });
    this.active = new ActiveSessions({ now, ttlMs: config.sessionTtlS * 1000, maxTotal: config.maxActiveSessions ?? Infinity });
    this.estimator = new WaitEstimator({ now });
    this.seq = new SequenceClock(now);
    this.reconfigure(config, this.template);
  }

  /**
   * Applies a new `room` section without losing anyone's place. `template` is the page template read
   * beforehand (loadWaitingPageTemplate), so that a reload can read it before it swaps anything.
   */
  reconfigure(config: RoomConfig, template: string = loadWaitingPageTemplate(config)): void {
    this.config = config;
    this.template = template;
    this.queue.reconfigure(queueSettings(config));
    this.estimator.setRetry(retryBounds(config));
    const perMinute = config.sessionsPerMinute;
    if (perMinute === undefined) this.outflowRate = null;
    else {
      const burst = Math.max(1, Math.ceil(perMinute / 60));
      // A new limit starts full (one second's worth); a changed one keeps what is left, within its size.
      this.outflowTokens = this.outflowRate === null ? burst : Math.min(this.outflowTokens, burst);
      this.outflowAt = this.now();
      this.outflowRate = perMinute / 60_000;
      this.outflowBurst = burst;
    }
  }

  get waiting(): number {
    return this.queue.size;
  }

  waitingOf(tenant: string): ReturnType<FairQueue['countsOf']> {
    return this.queue.countsOf(tenant);
  }

  /** Waiting in this instance's queue per class, for the metrics: O(tenants waiting). */
  waitingByClass(): ReturnType<FairQueue['countsOf']> {
    const sum = { critical: 0, normal: 0, bulk: 0 };
    for (const t of this.queue.tenants()) {
      sum.critical += t.critical;
      sum.normal += t.normal;
      sum.bulk += t.bulk;
    }
    return sum;
  }

  /** Admitted sessions active now, as this instance counts them. */
  get activeSessions(): number {
    return this.active.count();
  }

  /** Places in this instance's queue dropped as abandoned since start. */
  get abandoned(): number {
    return this.queue.abandoned;
  }

  /**
   * Whether a newcomer without a session must wait: somebody is already waiting, or the mode says so.
   * `mode`: the one in force for the newcomer's tenant (an operator's runtime mode), else the config's.
   */
  engaged(mode: string = this.config.mode): boolean {
    if (mode === 'queue-all' || mode === 'pause' || mode === 'maintenance') return true;
    return mode === 'auto' && (this.reservedCount() > 0 || this.waitingForCapacity() > 0);
  }

  /** Waiters, less those of tenants an operator holds back (they wait by choice, not for capacity). */
  private waitingForCapacity(): number {
    let n = this.queue.size;
    if (n === 0 || this.switches === null) return n;
    for (const tenant of this.switches.heldBack()) {
      const c = this.queue.countsOf(tenant);
      n -= c.critical + c.normal + c.bulk;
    }
    return n;
  }

  /** The operator changed a switch: a lifted pause lets the waiting in now; held polls learn of it. */
  switchesChanged(): void {
    this.pump();
    for (const id of [...this.pollWatchers.keys()]) this.wakePoll(id);
  }

  /** Waiters per tenant and class, for the admin status. */
  tenantCounts(): Map<string, ReturnType<FairQueue['countsOf']>> | Promise<Map<string, ReturnType<FairQueue['countsOf']>>> {
    const out = new Map<string, ReturnType<FairQueue['countsOf']>>();
    for (const { tenant, ...counts } of this.queue.tenants()) out.set(tenant, counts);
    return out;
  }

  /** Admitted sessions active on this instance, per tenant. */
  sessionCounts(): Map<string, number> {
    return this.active.perTenant();
  }

  /** Whether a newcomer may go straight on as far as the room's capacity goes (the fast path). */
  hasRoom(): boolean {
    return this.gate.inFlight(this.upstream) < this.limit;
  }

  /** The limit the local pump admits against (a shared room's share of it during an outage). */
  protected localLimit(): number {
    return this.limit;
  }

  /** Where the queue lives: 'local' here; a shared room says 'shared' or 'local-fallback'. */
  get queueMode(): string {
    return 'local';
  }

  // --- sessions ------------------------------------------------------------------------------------

  /** The verified session in a cookie value, and a renewed cookie value when it is due. */
  checkSession(value: string | undefined, tenant: string, clientKey: string): { session: AdmissionSession; renewed: string | null } | null {
    if (value === undefined) return null;
    const now = this.now();
    const v = this.sessions.verify(value, { clientKey, now });
    if (!v.ok || v.session.tenant !== tenant) return null;
    this.active.admit(tenant, clientKeyHash(clientKey));
    return { session: v.session, renewed: this.sessions.renew(v.session, now) };
  }

  /** A new session cookie value for a client let in. */
  issueSession(tenant: string, clientKey: string): string {
    this.active.admit(tenant, clientKeyHash(clientKey));
    return this.sessions.issue({ tenant, clientKey, now: this.now() });
  }

  canStartSession(tenant: string): boolean {
    return this.active.canAdmit(tenant);
  }

  // --- joining and leaving ---------------------------------------------------------------------------

  /**
   * Takes a place, or finds the one a ticket names. A ticket that fails verification (forged,
   * tampered, expired, another client's) or was last renewed longer ago than the grace gets a fresh
   * place at the back, and the reason is logged; it is never an error for the client.
   */
  join(tenant: string, cls: RoomClass, clientKey: string, kind: WaiterKind, token: string | undefined, reqId: string): JoinResult {
    const now = this.now();
    if (token !== undefined) {
      const v = this.tickets.verify(token, { clientKey, now });
      if (!v.ok) {
        this.rejectedTickets++;
        this.log.info({ reqId, tenant, reason: v.reason }, 'ticket refused; fresh place at the back');
      } else if (v.ticket.tenant !== tenant) {
        this.rejectedTickets++;
        this.log.info({ reqId, tenant, ticketTenant: v.ticket.tenant }, 'ticket of another tenant; fresh place at the back');
      } else if (this.consumed.has(waiterId(v.ticket.tenant, v.ticket.cls, v.ticket.seq))) {
        this.log.info({ reqId, tenant }, 'ticket already used; fresh place at the back');
      } else {
        const restored = this.restore(v.ticket, clientKey, kind, now);
        if (restored !== null) return restored;
        this.log.info({ reqId, tenant, awayMs: now - v.ticket.issuedAt }, 'ticket older than the grace; fresh place at the back');
      }
    }
    const seq = this.seq.next();
    const id = waiterId(tenant, cls, seq);
    if (this.queue.enqueue({ id, tenant, cls, seq, enqueuedAt: now, kind }) === 'full') return { kind: 'full' };
    this.pump();
    if (this.pending.has(id)) return { kind: 'admitted', id: this.collect(id) };
    return { kind: 'queued', id, ticket: this.tickets.issue({ tenant, cls, seq, clientKey, now }), restored: false };
  }

  /**
   * What the admit phase calls to take a place: `join`, answered at once here; a shared room
   * (shared/sharedRoom.ts) answers asynchronously.
   */
  enter(tenant: string, cls: RoomClass, clientKey: string, kind: WaiterKind, token: string | undefined, reqId: string): JoinResult | Promise<JoinResult> {
    return this.join(tenant, cls, clientKey, kind, token, reqId);
  }

  private restore(t: Ticket, clientKey: string, kind: WaiterKind, now: number): JoinResult | null {
    const id = waiterId(t.tenant, t.cls, t.seq);
    if (this.pending.has(id)) return { kind: 'admitted', id: this.collect(id) };
    if (this.queue.has(id)) {
      this.queue.touch(id, now);
      return { kind: 'queued', id, ticket: this.renew(t, clientKey, now), restored: true };
    }
    // Not here: dropped as abandoned, or this instance restarted. Within the grace the place is kept.
    if (now - t.issuedAt > this.config.graceS * 1000) return null;
    const r = this.queue.enqueue({ id, tenant: t.tenant, cls: t.cls, seq: t.seq, enqueuedAt: t.issuedAt, kind });
    if (r === 'full') return { kind: 'full' };
    this.pump();
    if (this.pending.has(id)) return { kind: 'admitted', id: this.collect(id) };
    return { kind: 'queued', id, ticket: this.renew(t, clientKey, now), restored: true };
  }

  /** A renewed ticket: same place, issue time now, so that the grace counts from the last contact. */
  private renew(t: Ticket, clientKey: string, now: number): string {
    return this.tickets.issue({ tenant: t.tenant, cls: t.cls, seq: t.seq, clientKey, now });
  }

  /**
   * Holds a queued API request or upgrade in memory until it is admitted (`done(true)`: the claim's
   * slots are now held) or `timeoutMs` passes (`done(false)`: it keeps its place for the grace).
   */
  hold(id: string, claim: Claim, timeoutMs: number, done: (admitted: boolean) => void): void {
    // Two requests on one place (a client that shares its ticket among parallel requests, or retries
    // before its earlier connection is seen to close): the place is held for the newest one, and the
    // one it replaces is answered now (503 with the ticket). Overwriting it silently left that request
    // without any answer, and its later close took the newer request's place out of the queue.
    const previous = this.held.get(id);
    if (previous !== undefined) {
      this.held.delete(id);
      if (previous.timer !== null) clearTimeout(previous.timer);
      previous.done(false);
    }
    const entry: Held = { claim, done, timer: null };
    this.held.set(id, entry);
    this.queue.pin(id);
    entry.timer = setTimeout(() => {
      if (this.held.get(id) !== entry) return;
      this.held.delete(id);
      this.queue.unpin(id, this.now());
      done(false);
    }, timeoutMs);
    this.pump();
  }

  /** The held client went away: its place goes at once (DESIGN: nobody waits for a closed socket). */
  leave(id: string): void {
    const entry = this.held.get(id);
    if (entry !== undefined) {
      this.held.delete(id);
      if (entry.timer !== null) clearTimeout(entry.timer);
    }
    this.queue.remove(id);
    this.pending.delete(id);
    this.reserved.delete(id);
  }

  position(id: string): number | null {
    return this.queue.position(id) ?? null;
  }

  estimate(position: number | null): WaitRange | null {
    return position === null ? null : this.estimator.estimate(position);
  }

  retryAfterSeconds(position: number | null): number {
    return this.estimator.retryAfterSeconds(position ?? 1);
  }

  /**
   * The status of a ticket for the status endpoint; `admitted` consumes the admission. Without a ticket,
   * `newcomer` (the "full" page, which has none yet) asks for a place: `full` while there is none.
   */
  status(
    token: string | undefined,
    clientKey: string,
    reqId: string,
    newcomer: { tenant: string; cls: RoomClass } | null = null,
  ): { state: 'waiting' | 'admitted' | 'unknown' | 'full'; id: string; ticket: string | null; tenant: string } {
    if (token === undefined) {
      if (newcomer === null) return { state: 'unknown', id: '', ticket: null, tenant: '' };
      const r = this.join(newcomer.tenant, newcomer.cls, clientKey, 'browser', undefined, reqId);
      if (r.kind === 'full') return { state: 'full', id: '', ticket: null, tenant: newcomer.tenant };
      if (r.kind === 'admitted') return { state: 'admitted', id: r.id, ticket: null, tenant: newcomer.tenant };
      return { state: 'waiting', id: r.id, ticket: r.ticket, tenant: newcomer.tenant };
    }
    const now = this.now();
    const v = this.tickets.verify(token, { clientKey, now });
    if (!v.ok) {
      this.rejectedTickets++;
      this.log.info({ reqId, reason: v.reason }, 'status poll with a refused ticket');
      return { state: 'unknown', id: '', ticket: null, tenant: '' };
    }
    const used = this.consumed.has(waiterId(v.ticket.tenant, v.ticket.cls, v.ticket.seq));
    const r = (used ? null : this.restore(v.ticket, clientKey, 'browser', now)) ?? this.join(v.ticket.tenant, v.ticket.cls, clientKey, 'browser', undefined, reqId);
    if (r.kind === 'full') return { state: 'full', id: '', ticket: null, tenant: v.ticket.tenant };
    if (r.kind === 'admitted') return { state: 'admitted', id: r.id, ticket: null, tenant: v.ticket.tenant };
    return { state: 'waiting', id: r.id, ticket: r.ticket, tenant: v.ticket.tenant };
  }

  /** What the status endpoint calls: `status`, answered at once here; a shared room answers asynchronously. */
  poll(...args: Parameters<Room['status']>): RoomStatusAnswer | Promise<RoomStatusAnswer> {
    return this.status(...args);
  }

  /**
   * Shutdown has begun. Here nothing happens (held requests finish or are cut at the end of the
   * grace); a shared room answers them with their tickets so their places survive the restart.
   */
  drain(): void | Promise<void> {}

  /** Server-chosen polling interval: often near the front, rarely far back, always well inside the grace. */
  pollAfterMs(position: number | null): number {
    const graceCap = this.config.graceS * 1000 * 0.4;
    // Near the front the poll is held until admitted: come straight back after each answer.
    if (position !== null && this.holdsPoll(position)) return 100;
    const p = position ?? 50;
    const rate = this.estimator.rate();
    // A quarter of the expected wait, so a place is asked about a few times on its way to the front.
    // Until the rate is measured (the first seconds of a queue), as if UNKNOWN_RATE_PER_S were let in:
    // asked too early, a place costs a poll; asked too late, it is admitted while its holder is away,
    // and the holders of such places all come back at once, past their turn.
    const eta = (p / (rate !== null && rate > 0 ? rate : UNKNOWN_RATE_PER_S)) * 1000;
    return Math.min(graceCap, Math.max(1_000, Math.min(15_000, eta / 4)));
  }

  /**
   * Whether a status poll for this position is held until the place is admitted: the places the room
   * expects to admit within a few seconds (at least the limit's worth, and ten).
   */
  holdsPoll(position: number): boolean {
    const rate = this.estimator.rate() ?? UNKNOWN_RATE_PER_S;
    const window = Math.min(5_000, Math.max(10, Number.isFinite(this.limit) ? this.limit : 0, Math.ceil(rate * 5)));
    return position <= window;
  }

  /** How long a status poll is held at most: well inside the grace, so a held place is never lost. */
  pollHoldMs(): number {
    return Math.min(POLL_HOLD_MS, this.config.graceS * 1000 * 0.25);
  }

  /**
   * Resolves when the place may have changed (admitted here, switches changed) or after `ms`. A shared
   * room's places are admitted by any instance, so it sets `pollRecheckMs` to look again regularly.
   */
  waitForPlace(id: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.pollWatchers.get(id);
      if (set === undefined) this.pollWatchers.set(id, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.pollWatchers.get(id) === set) this.pollWatchers.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, Math.min(ms, this.pollRecheckMs)));
      set.add(wake);
    });
  }

  /** How often a held poll looks at its place again without being woken. */
  protected get pollRecheckMs(): number {
    return 2_000;
  }

  protected wakePoll(id: string): void {
    const set = this.pollWatchers.get(id);
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  /** Uncollected admissions still holding capacity. */
  protected reservedCount(): number {
    const now = this.now();
    for (const [id, until] of this.reserved) {
      if (until > now) break;
      this.reserved.delete(id);
    }
    return this.reserved.size;
  }

  // --- the pump -----------------------------------------------------------------------------------------

  /** Lets waiters in while capacity and the outflow rate allow. Runs on every release and on a tick. */
  pump(): void {
    if (this.queue.size === 0) return;
    this.expirePending();
    const now = this.now();
    for (let guard = 0; guard < 10_000 && this.queue.size > 0; guard++) {
      // Requests let in but waiting for a slot count as in flight; a few of those are wanted (ADMIT_AHEAD).
      const limit = this.localLimit();
      if (this.gate.inFlight(this.upstream) + this.gate.waitingFor(this.upstream) + this.reservedCount() >= limit + admitAhead(limit)) break;
      if (!this.outflowAllows(now)) break;
      const switches = this.switches;
      const w = this.queue.next((tenant) => this.active.canAdmit(tenant) && (switches === null || !switches.paused(tenant)));
      if (w === undefined) break;
      if (!this.admit(w, now)) {
        // Its own caps (tenant, route) are full: back to its place, and stop for now.
        this.queue.enqueue({ id: w.id, tenant: w.tenant, cls: w.cls, seq: w.seq, enqueuedAt: w.enqueuedAt, kind: w.kind });
        if (w.pinned) this.queue.pin(w.id);
        break;
      }
      if (this.outflowRate !== null) this.outflowTokens -= 1;
      this.estimator.recordAdmission();
      this.admitted++;
    }
    this.ensureTick();
  }

  protected admit(w: Waiter, now: number): boolean {
    const held = this.held.get(w.id);
    if (held !== undefined) {
      if (!this.gate.tryAcquire(held.claim)) return false;
      this.held.delete(w.id);
      if (held.timer !== null) clearTimeout(held.timer);
      this.consume(w.id, now);
      held.done(true);
      return true;
    }
    this.pending.set(w.id, { tenant: w.tenant, expiresAt: now + this.config.graceS * 1000 });
    // Capacity is kept only for a holder that is here to take it: a poll held now, or one heard from
    // lately (the page polls every 100 ms near the front). A program away until its Retry-After takes
    // its turn when it comes back and waits for a slot then, rather than keep one idle meanwhile.
    if (this.pollWatchers.has(w.id) || now - w.lastSeen <= RESERVE_MS) this.reserved.set(w.id, now + RESERVE_MS);
    this.wakePoll(w.id);
    return true;
  }

  /** Whether `sessionsPerMinute` allows one more admission now (it refills the bucket). */
  private outflowAllows(now: number): boolean {
    if (this.outflowRate === null) return true;
    this.outflowTokens = Math.min(this.outflowBurst, this.outflowTokens + Math.max(0, now - this.outflowAt) * this.outflowRate);
    this.outflowAt = now;
    return this.outflowTokens >= 1;
  }

  /** Turns a pending admission into "let in now"; the capacity it reserved is handed to the request. */
  private collect(id: string): string {
    this.pending.delete(id);
    this.reserved.delete(id);
    this.consume(id, this.now());
    return id;
  }

  private consume(id: string, now: number): void {
    this.consumed.set(id, now + this.config.graceS * 1000);
  }

  private expirePending(): void {
    const now = this.now();
    // In admission order, so (with one grace) in expiry order: stop at the first still in force.
    for (const [id, p] of this.pending) {
      if (p.expiresAt > now) break;
      this.pending.delete(id);
    }
    for (const [id, until] of this.consumed) {
      if (until > now) break;
      this.consumed.delete(id);
    }
  }

  /** While people wait, a tick keeps the outflow going (rate-limited outflow, expired admissions). */
  private ensureTick(): void {
    if (this.timer !== null || (this.queue.size === 0 && this.pending.size === 0 && this.consumed.size === 0)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.queue.sweepAbandoned();
      this.pump();
      this.expirePending();
      this.ensureTick();
    }, 100);
    this.timer.unref();
  }

  close(): void | Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    for (const [id, h] of this.held) {
      if (h.timer !== null) clearTimeout(h.timer);
      this.held.delete(id);
      h.done(false);
    }
  }
}

/** A ticket's status as the status endpoint reports it. */
export type RoomStatusAnswer = ReturnType<Room['status']>;

export function waiterId(tenant: string, cls: RoomClass, seq: number): string {
  return `${tenant}|${cls}|${seq}`;
}

function queueSettings(config: RoomConfig) {
  return {
    graceMs: config.graceS * 1000,
    maxPerTenant: config.maxPerTenant,
    maxTotal: config.maxTotal,
    weights: config.weights,
    minShares: config.minShares,
  };
}

/**
 * Retry-After must bring an obedient client back well inside the grace, or the client loses its place
 * for doing what it was told (the estimator's own default of up to 30 s is as long as the default
 * grace, and 6 times the shortest one). A quarter of the grace is left for the client's own delays.
 */
function retryBounds(config: RoomConfig): { maxS: number; unknownS: number } {
  const maxS = Math.max(1, Math.min(30, Math.floor(config.graceS * 0.75)));
  return { maxS, unknownS: Math.min(5, maxS) };
}

/** The waiting page template the config names (or the default); throws when it cannot be read or compiled. */
export function loadWaitingPageTemplate(config: RoomConfig): string {
  if (config.page.template === undefined) return DEFAULT_TEMPLATE;
  const source = readFileSync(config.page.template, 'utf8');
  compileWaitingPageTemplate(source);
  return source;
}

/**
 * The waiting room's queue in Redis, shared by every proxy instance: one order, one set of positions,
 * one admission budget. sharedRoom.ts drives it; the scripts are in roomScripts.ts.
 *
 * Keys (all under `<prefix>{anteroom-room}:`, one hash slot, so a Redis Cluster runs each script on
 * one node):
 *   l<class>:<tenant>  ZSET  waiter id -> seq: the FIFO lane of one (tenant, class)
 *   seen               ZSET  waiter id -> last heard from (ms): abandonment, and the count of waiters
 *   ring               LIST  tenants with waiters; the head is the one whose turn it is
 *   t:<tenant>         HASH  deficit, in-turn flag and class credits of a tenant in the ring
 *   hold               HASH  waiter id -> instance holding its socket (where to send its admission)
 *   adm                ZSET  admitted id -> expiry (ms): admissions not collected yet; they hold capacity
 *   in:<instance>      LIST  ids held on that instance admitted by another one (its inbox)
 *   live               ZSET  instance -> last report (ms)
 *   load               HASH  instance -> in flight there (at least its fast-path allowance)
 *   seq, out, count    the last seq handed out, the outflow bucket's TAT, admissions ever made
 *
 * Every command has the store's short timeout and is never queued or retried; a failure marks the
 * queue degraded (logged once) and the room decides locally until a call succeeds again. Each script
 * carries a deadline in Redis's clock, so a stalled Redis that wakes up does not apply calls that
 * timed out here.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Cluster, Redis, ClusterNode } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient } from '../../limits/redisClient.js';
import { classIndex, type RoomClass } from '../classes.js';
import { admitAhead } from '../room.js';
import { COUNTS_LUA, ENTER_LUA, LEAVE_LUA, POSITIONS_LUA, SYNC_LUA, UNPIN_LUA } from './roomScripts.js';

/** The admission policy the scripts apply; the same settings as FairQueue plus the capacity. */
export interface RoomPolicy {
  graceMs: number;
  /** How long an uncollected admission counts against the limit (room.ts RESERVE_MS); it stays good for the grace. */
  reserveMs: number;
  /** Admissions allowed beyond the limit, to wait for a slot at their instance (room.ts ADMIT_AHEAD); default from the limit. */
  admitAhead?: number;
  maxPerTenant: number;
  maxTotal: number;
  /** Global in-flight limit the room admits against; Infinity for none. */
  limit: number;
  weights: Readonly<Record<string, number>>;
  defaultWeight: number;
  minShares: { normal: number; bulk: number };
  /** Admissions per second across the fleet (`sessionsPerMinute` / 60); 0 for no rate limit. */
  outflowPerSecond: number;
  /** How long an instance that stopped reporting still counts as live (ms). */
  instanceTtlMs: number;
  /** Tenants admitted nobody (an operator's pause or maintenance): `all` unless the tenant has its own setting. */
  paused?: { all: boolean; tenants: Record<string, boolean> };
}

/** What this instance tells the room on every call. */
export interface Report {
  /** In flight at the room's upstream from this instance now. */
  inFlight: number;
  /** The fast-path allowance this instance holds (last granted by sync); -1 when the room has no limit. */
  allowance: number;
  /** Whether this call may admit waiters (false when this instance's session cap is reached). */
  canAdmit: boolean;
  /** Most admissions this call may make; MAX_ADMIT_PER_CALL by default. */
  maxAdmit?: number;
}

/** The room as a whole, from the last reply. */
export interface RoomSnapshot {
  waiting: number;
  /** Admitted and not yet collected (they hold capacity). */
  pending: number;
  /** Admissions ever made by any instance (for the wait estimate). */
  admissions: number;
  instances: number;
  /** Redis TIME, ms since the epoch. */
  timeMs: number;
  allowance: number;
  /** Places dropped as abandoned by this call. */
  dropped: number;
}

export interface EnterRequest {
  tenant: string;
  cls: RoomClass;
  /** The ticket's place when the client brought one. */
  ticket?: { seq: number; issuedAt: number };
  /** The request will be held on an open socket here. */
  held: boolean;
}

export interface EnterReply {
  state: 'queued' | 'admitted' | 'full';
  id: string;
  seq: number;
  /** The ticket's place was found or put back (false: a fresh place). */
  restored: boolean;
  position: number | null;
  room: RoomSnapshot;
  /** Other waiters held here that this call admitted. */
  mine: string[];
}

export interface SyncRequest {
  /** Waiters this instance knows of; `held` when their socket is open here. */
  ensure: { id: string; held: boolean }[];
  collected: string[];
  forget: string[];
}

export interface SyncReply {
  allowance: number;
  room: RoomSnapshot;
  /** Waiters held here that were admitted (by this call, or earlier and still waiting for a slot here). */
  mine: string[];
  /** Waiters held here that another instance admitted. */
  inbox: string[];
}

export interface RedisRoomQueueOptions {
  connection: { url: string } | { clusterNodes: ClusterNode[] };
  logger: Logger;
  instanceId: string;
  /** Prefix of every key; 'anteroom:' by default. */
  prefix?: string;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Tests only: the clock the scripts use instead of Redis TIME (ms). */
  clock?: () => number;
}

interface Events {
  degraded: [reason: Error];
  recovered: [];
}

type Reply = unknown[];
interface Commands {
  roomEnter(key: string, ...args: string[]): Promise<Reply>;
  roomSync(key: string, ...args: string[]): Promise<Reply>;
  roomUnpin(key: string, ...args: string[]): Promise<Reply>;
  roomLeave(key: string, ...args: string[]): Promise<Reply>;
  roomPositions(key: string, ...args: string[]): Promise<Reply>;
  roomCounts(key: string): Promise<(string | number)[]>;
}
type Client = (Redis | Cluster) & Commands;

/** Most admissions one script call makes: keeps each call short. */
const MAX_ADMIT_PER_CALL = 256;

export class RedisRoomQueue extends EventEmitter<Events> {
  readonly instanceId: string;
  /** The key base: every key starts with it. */
  readonly base: string;
  private readonly client: Client;
  private readonly log: Logger;
  private readonly clock: (() => number) | null;
  private readonly commandTimeout: number;
  private policyJson = '{}';
  private _degraded = true;
  private announced = false;
  private closed = false;
  private startTimer: NodeJS.Timeout | null;
  /** Redis TIME (ms) minus performance.now(), learned from replies; NaN until then. */
  private redisOffset = NaN;

  constructor(options: RedisRoomQueueOptions) {
    super();
    this.log = options.logger;
    this.instanceId = options.instanceId;
    const prefix = options.prefix ?? 'anteroom:';
    if (/[{}]/.test(prefix)) throw new RangeError(`redis key prefix must not contain { or }, got ${prefix}`);
    this.base = `${prefix}{anteroom-room}:`;
    this.clock = options.clock ?? null;
    const commandTimeout = (this.commandTimeout = options.commandTimeoutMs ?? 50);
    const connectTimeout = options.connectTimeoutMs ?? 1000;
    const client = createRedisClient(options.connection, commandTimeout, connectTimeout);
    client.defineCommand('roomEnter', { lua: ENTER_LUA, numberOfKeys: 1 });
    client.defineCommand('roomSync', { lua: SYNC_LUA, numberOfKeys: 1 });
    client.defineCommand('roomUnpin', { lua: UNPIN_LUA, numberOfKeys: 1 });
    client.defineCommand('roomLeave', { lua: LEAVE_LUA, numberOfKeys: 1 });
    client.defineCommand('roomPositions', { lua: POSITIONS_LUA, numberOfKeys: 1 });
    client.defineCommand('roomCounts', { lua: COUNTS_LUA, numberOfKeys: 1 });
    this.client = client as Client;
    client.on('error', (err: Error) => this.log.debug({ err }, 'shared room: redis connection error'));
    client.on('close', () => {
      if (!this._degraded) this.markDown(new Error('connection to redis closed'));
    });
    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      if (this._degraded) this.markDown(new Error(`no connection to redis after ${connectTimeout} ms`));
    }, connectTimeout).unref();
  }

  /** True while the room cannot use Redis (and until the first call succeeds). */
  get degraded(): boolean {
    return this._degraded;
  }

  setPolicy(p: RoomPolicy): void {
    const weights = Object.values(p.weights);
    this.policyJson = JSON.stringify({
      g: p.graceMs,
      rsv: Math.min(p.reserveMs, p.graceMs),
      ahead: p.admitAhead ?? admitAhead(p.limit),
      mpt: p.maxPerTenant,
      mt: p.maxTotal,
      lim: p.limit === Infinity ? -1 : p.limit,
      w: p.weights,
      dw: p.defaultWeight,
      mw: Math.min(p.defaultWeight, ...weights),
      // classShares.ts: integer parts per 10,000.
      sn: Math.round(p.minShares.normal * 10_000),
      sb: Math.round(p.minShares.bulk * 10_000),
      orate: p.outflowPerSecond,
      oburst: Math.max(1, Math.ceil(p.outflowPerSecond)),
      ttl: p.instanceTtlMs,
      pa: p.paused?.all === true,
      pt: p.paused?.tenants ?? {},
    });
  }

  async enter(req: EnterRequest, report: Report): Promise<EnterReply | null> {
    const args = this.head(report);
    const t = req.ticket;
    args.push(req.tenant, String(classIndex(req.cls)), t ? String(t.seq) : '', t ? String(t.issuedAt) : '', req.held ? '1' : '0');
    const r = await this.call((c) => c.roomEnter(this.base, ...args));
    if (r === null) return null;
    const h = r[0] as [string, string, string | number, number, number];
    return {
      state: h[0] as EnterReply['state'],
      id: h[1],
      seq: Number(h[2]),
      restored: h[3] === 1,
      position: h[4] > 0 ? h[4] : null,
      room: this.snapshot(r[1] as unknown[]),
      mine: (r[2] as string[] | undefined) ?? [],
    };
  }

  async sync(req: SyncRequest, report: Report): Promise<SyncReply | null> {
    const args = this.head(report);
    args.push(String(req.ensure.length), String(req.collected.length), String(req.forget.length), '');
    for (const e of req.ensure) args.push((e.held ? 'h' : 'b') + e.id);
    for (const id of req.collected) args.push(id);
    for (const id of req.forget) args.push(id);
    const r = await this.call((c) => c.roomSync(this.base, ...args));
    if (r === null) return null;
    return {
      allowance: Number((r[0] as unknown[])[0]),
      room: this.snapshot(r[1] as unknown[]),
      mine: (r[2] as string[] | undefined) ?? [],
      inbox: (r[3] as string[] | undefined) ?? [],
    };
  }

  /** Positions after unpinning: per id, its position, -1 when it was admitted meanwhile, null when gone. */
  async unpin(ids: readonly string[], report: Report): Promise<{ positions: (number | null)[]; room: RoomSnapshot } | null> {
    return this.perId((c, args) => c.roomUnpin(this.base, ...args), ids, report);
  }

  /** Positions without touching (for tests and status). */
  async positions(ids: readonly string[], report: Report): Promise<{ positions: (number | null)[]; room: RoomSnapshot } | null> {
    return this.perId((c, args) => c.roomPositions(this.base, ...args), ids, report);
  }

  /** Waiters per tenant and class (admin status); null when Redis does not answer. */
  async tenantCounts(): Promise<Map<string, { critical: number; normal: number; bulk: number }> | null> {
    if (this.closed || this.client.status !== 'ready') return null;
    try {
      const flat = await this.client.roomCounts(this.base);
      const out = new Map<string, { critical: number; normal: number; bulk: number }>();
      for (let i = 0; i + 3 < flat.length; i += 4) {
        out.set(String(flat[i]), { critical: Number(flat[i + 1]), normal: Number(flat[i + 2]), bulk: Number(flat[i + 3]) });
      }
      return out;
    } catch {
      return null;
    }
  }

  async leave(ids: readonly string[], report: Report): Promise<boolean> {
    if (ids.length === 0) return true;
    const args = this.head(report);
    args.push(...ids);
    return (await this.call((c) => c.roomLeave(this.base, ...args))) !== null;
  }

  private async perId(
    run: (c: Client, args: string[]) => Promise<Reply>,
    ids: readonly string[],
    report: Report,
  ): Promise<{ positions: (number | null)[]; room: RoomSnapshot } | null> {
    const args = this.head(report);
    args.push(...ids);
    const r = await this.call((c) => run(c, args));
    if (r === null) return null;
    const raw = (r[0] as number[] | undefined) ?? [];
    return { positions: raw.map((p) => (p === 0 ? null : p)), room: this.snapshot(r[1] as unknown[]) };
  }

  /** The ARGV every script starts with (see roomScripts.ts). */
  private head(report: Report): string[] {
    const deadline = performance.now() + this.redisOffset + this.commandTimeout;
    return [
      this.policyJson,
      Number.isNaN(deadline) ? '' : String(deadline),
      this.clock ? String(this.clock()) : '',
      this.instanceId,
      String(report.inFlight),
      String(report.allowance),
      report.canAdmit ? '1' : '0',
      String(Math.min(report.maxAdmit ?? MAX_ADMIT_PER_CALL, MAX_ADMIT_PER_CALL)),
    ];
  }

  /** Runs one script; null when Redis failed, was too slow, or ran it past its deadline. */
  private async call(run: (c: Client) => Promise<Reply>): Promise<Reply | null> {
    if (this.closed) return null;
    if (this.client.status !== 'ready') {
      this.markDown(new Error(`redis connection is ${this.client.status}`));
      return null;
    }
    const sent = performance.now();
    try {
      const r = await run(this.client);
      if (r[0] === -1) return null;
      const room = r[1] as unknown[] | undefined;
      if (room !== undefined) this.redisOffset = Number(room[4]) - (sent + performance.now()) / 2;
      this.markUp();
      return r;
    } catch (err) {
      this.markDown(err as Error);
      return null;
    }
  }

  private snapshot(c: unknown[]): RoomSnapshot {
    return {
      waiting: Number(c[0]),
      pending: Number(c[1]),
      admissions: Number(c[2]),
      instances: Math.max(1, Number(c[3])),
      timeMs: Number(c[4]),
      allowance: Number(c[5]),
      dropped: Number(c[6]),
    };
  }

  private markDown(reason: Error): void {
    if (this.closed) return;
    this._degraded = true;
    // Before the first connection has had its chance, a failure is not an outage yet.
    if (!this.announced && this.startTimer === null) {
      this.announced = true;
      this.log.warn({ err: reason }, 'shared waiting room unavailable: queueing locally until redis answers');
      this.emit('degraded', reason);
    }
  }

  private markUp(): void {
    if (this.closed || !this._degraded) return;
    this._degraded = false;
    if (this.startTimer) {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }
    if (this.announced) {
      this.announced = false;
      this.log.info('shared waiting room back: one queue across instances again');
    }
    this.emit('recovered');
  }

  /** Leaves the live set at once (the others take over this instance's capacity) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this._degraded) {
      await Promise.all([this.client.zrem(`${this.base}live`, this.instanceId), this.client.hdel(`${this.base}load`, this.instanceId)]).catch(() => undefined);
    }
    this.closed = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

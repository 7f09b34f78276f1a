/**
 * Token buckets in Redis (or a Redis Cluster), shared by every proxy instance: one limit holds across
 * all of them. Each decision is one round trip, a Lua script (redisScripts.ts) that reads Redis TIME,
 * so instances with skewed clocks agree, and decides all the request's buckets atomically.
 *
 * A Redis outage never stalls a request (DESIGN.md): commands time out after ~50 ms, nothing waits in
 * an offline queue or is retried, and once a command has failed the store stops asking Redis and
 * decides on local buckets (a MemoryStore) sized to this instance's share of each limit, that is rate
 * and burst divided by the number of live instances, which every instance learns from a heartbeat.
 * It pings Redis meanwhile and goes back to the shared buckets as soon as Redis answers. Buckets that
 * must not be decided locally say so with `onStoreFailure` ('open' or 'closed').
 *
 * A sent command cannot be recalled: a stalled Redis that wakes up runs the scripts that timed out
 * here. So each carries a deadline in Redis's clock (mapped from ours by the heartbeat), past which
 * the script changes nothing, and requests decided locally are not also counted in the shared buckets.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis, ClusterNode } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient } from './redisClient.js';
import { decideWithoutStore, refundWithoutStore } from './fallbackDecision.js';
import { MemoryStore } from './memoryStore.js';
import { BUCKETS_LUA, HEARTBEAT_LUA, REFUND_LUA } from './redisScripts.js';
import { NEVER, checkBuckets, type BucketSpec, type BucketState, type LimitDecision, type Store } from './store.js';

export interface RedisStoreOptions {
  /** A redis:// or rediss:// URL, or the seed nodes of a Redis Cluster. */
  connection: { url: string } | { clusterNodes: ClusterNode[] };
  logger: Logger;
  /** Names this instance in the heartbeat set; random when absent. */
  instanceId?: string;
  /** Prefix of every key; 'anteroom:' by default. */
  prefix?: string;
  /** Longest wait for one Redis command before deciding locally (ms). */
  commandTimeoutMs?: number;
  /** How often this instance says it is alive, and learns how many are (ms). */
  heartbeatMs?: number;
  /** How often Redis is pinged during an outage (ms). */
  probeMs?: number;
  /** Time to connect at startup before the store declares itself degraded (ms). */
  connectTimeoutMs?: number;
  /**
   * Tests only: the clock the script uses instead of Redis TIME (ms). Production leaves it unset so
   * that every instance reads the one clock of Redis.
   */
  clock?: () => number;
  /** Clock of the local fallback buckets; performance.now by default. */
  localClock?: () => number;
}

interface StoreEvents {
  /** The store switched to local buckets; `reason` is the failure that made it. */
  degraded: [reason: Error];
  /** The store is back on the shared buckets. */
  recovered: [];
}

interface BucketsCommand {
  anteroomBuckets(numKeys: number, ...args: string[]): Promise<Array<string | number>>;
  anteroomRefund(numKeys: number, ...args: string[]): Promise<number>;
  anteroomHeartbeat(key: string, id: string, ttlMs: string): Promise<[number, string]>;
}
type Client = (Redis | Cluster) & BucketsCommand;

export class RedisStore extends EventEmitter<StoreEvents> implements Store {
  readonly kind = 'redis';
  readonly instanceId: string;
  private readonly client: Client;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly clock: (() => number) | null;
  /** Extra key lifetime when a test clock makes Redis's own expiry meaningless. */
  private readonly pad: string;
  private readonly heartbeatKey: string;
  private readonly heartbeatMs: number;
  private readonly probeMs: number;
  private readonly local: MemoryStore;
  private _degraded = true;
  /** Whether the outage was logged and emitted (not before the first connection attempt failed). */
  private announced = false;
  private probing = false;
  private closed = false;
  private _instances = 1;
  private readonly commandTimeout: number;
  /** Redis TIME (ms since TIME_ORIGIN_S) minus performance.now(), learned by the heartbeat; NaN until then. */
  private redisOffset = NaN;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private startTimer: NodeJS.Timeout | null;

  constructor(options: RedisStoreOptions) {
    super();
    this.log = options.logger;
    this.instanceId = options.instanceId ?? randomBytes(6).toString('base64url');
    this.prefix = options.prefix ?? 'anteroom:';
    // A brace in the prefix would become the keys' hash tag and scatter a decision's keys over slots.
    if (/[{}]/.test(this.prefix)) throw new RangeError(`redis key prefix must not contain { or }, got ${this.prefix}`);
    this.clock = options.clock ?? null;
    this.pad = this.clock ? '600000' : '0';
    this.heartbeatKey = `${this.prefix}{instances}`;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.probeMs = options.probeMs ?? 250;
    this.local = new MemoryStore(options.localClock ? { now: options.localClock } : {});
    const commandTimeout = (this.commandTimeout = options.commandTimeoutMs ?? 50);
    const connectTimeout = options.connectTimeoutMs ?? 1000;
    const client = createRedisClient(options.connection, commandTimeout, connectTimeout);
    client.defineCommand('anteroomBuckets', { lua: BUCKETS_LUA });
    client.defineCommand('anteroomRefund', { lua: REFUND_LUA });
    client.defineCommand('anteroomHeartbeat', { lua: HEARTBEAT_LUA, numberOfKeys: 1 });
    this.client = client as Client;
    // ioredis reports every failed reconnection; the store logs the outage once, on its own terms.
    client.on('error', (err: Error) => this.log.debug({ err }, 'redis store: connection error'));
    client.on('ready', () => void this.probe());
    client.on('close', () => {
      if (!this._degraded) this.markDown(new Error('connection to redis closed'));
    });
    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      if (this._degraded) this.markDown(new Error(`no connection to redis after ${connectTimeout} ms`));
    }, connectTimeout).unref();
  }

  /** True while decisions are taken without Redis. */
  get degraded(): boolean {
    return this._degraded;
  }

  /** Live proxy instances sharing the limits, as last learned from Redis; 1 until known. */
  get instances(): number {
    return this._instances;
  }

  /** Resolves once the store is on Redis, or when `timeoutMs` have passed; tells which. */
  async ready(timeoutMs = 2000): Promise<boolean> {
    if (!this._degraded) return true;
    return new Promise((resolve) => {
      const done = (up: boolean): void => {
        clearTimeout(timer);
        this.off('recovered', onUp);
        resolve(up);
      };
      const onUp = (): void => done(true);
      const timer = setTimeout(() => done(!this._degraded), timeoutMs);
      this.on('recovered', onUp);
    });
  }

  consume(buckets: readonly BucketSpec[], cost: number): Promise<LimitDecision> | LimitDecision {
    checkBuckets(buckets, cost);
    if (this._degraded || this.client.status !== 'ready') return this.fallback(buckets, cost);
    const n = buckets.length;
    const args: string[] = new Array(n + 4 + 2 * n);
    for (let i = 0; i < n; i++) args[i] = this.prefix + buckets[i]!.key;
    args[n] = String(cost);
    args[n + 1] = this.clock ? String(this.clock()) : '';
    args[n + 2] = this.pad;
    // By then this call has timed out here: Redis must not apply a decision nobody waits for.
    const deadline = performance.now() + this.redisOffset + this.commandTimeout;
    args[n + 3] = Number.isNaN(deadline) ? '' : String(deadline);
    for (let i = 0; i < n; i++) {
      args[n + 4 + 2 * i] = String(buckets[i]!.rate);
      args[n + 5 + 2 * i] = String(buckets[i]!.burst);
    }
    return this.client.anteroomBuckets(n, ...args).then(
      // -1: Redis ran the script past the deadline (clocks mapped a bit off); nothing was taken.
      (reply) => (reply[0] === -1 ? this.fallback(buckets, cost) : parseReply(reply, n)),
      (err: Error) => {
        this.markDown(err);
        return this.fallback(buckets, cost);
      },
    );
  }

  refund(buckets: readonly BucketSpec[], cost: number, degraded: boolean): void | Promise<void> {
    if (degraded) {
      refundWithoutStore(this.local, buckets, cost, this._instances);
      return;
    }
    if (this._degraded || this.client.status !== 'ready') return;
    const n = buckets.length;
    const args: string[] = [];
    for (const b of buckets) args.push(this.prefix + b.key);
    args.push(String(cost), this.clock ? String(this.clock()) : '', this.pad);
    for (const b of buckets) args.push(String(b.rate));
    // A lost refund costs a client one token: nothing to wait for, nothing to report.
    return this.client.anteroomRefund(n, ...args).then(
      () => undefined,
      () => undefined,
    );
  }

  /** The decision without Redis: see decideWithoutStore. */
  private fallback(buckets: readonly BucketSpec[], cost: number): LimitDecision {
    return decideWithoutStore(this.local, buckets, cost, this._instances);
  }

  private markDown(reason: Error): void {
    if (this.closed) return;
    this._degraded = true;
    if (!this.announced) {
      this.announced = true;
      this.log.warn(
        { err: reason, instances: this._instances },
        'redis store unavailable: deciding on local buckets sized to this instance\'s share of each limit',
      );
      this.emit('degraded', reason);
    }
    this.stopHeartbeat();
    this.scheduleProbe();
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
      this.log.info('redis store back: shared limits resume');
    } else {
      this.log.info('redis store connected');
    }
    this.emit('recovered');
    this.startHeartbeat();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      void this.probe();
    }, this.probeMs).unref();
  }

  /** Pings Redis; on an answer, learns the instance count and leaves the degraded state. */
  private async probe(): Promise<void> {
    if (this.probing || this.closed || !this._degraded) return;
    this.probing = true;
    try {
      if (this.client.status !== 'ready') throw new Error(`redis connection is ${this.client.status}`);
      await this.client.ping();
      await this.heartbeat();
      this.markUp();
    } catch (err) {
      // Before the first connection has had its chance, a failure is not an outage yet.
      if (this.startTimer === null) this.markDown(err as Error);
      else this.scheduleProbe();
    } finally {
      this.probing = false;
    }
  }

  private async heartbeat(): Promise<void> {
    const ttl = String(3 * this.heartbeatMs);
    const sent = performance.now();
    const [live, time] = await this.client.anteroomHeartbeat(this.heartbeatKey, this.instanceId, ttl);
    // Redis read its clock about halfway through the round trip.
    this.redisOffset = Number(time) - (sent + performance.now()) / 2;
    this._instances = Math.max(1, live);
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((err: Error) => this.markDown(err));
    }, this.heartbeatMs).unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.startTimer) clearTimeout(this.startTimer);
    this.probeTimer = this.startTimer = null;
    if (!this._degraded) {
      // Leave the heartbeat set at once, so the others take over this instance's share.
      await this.client.zrem(this.heartbeatKey, this.instanceId).catch(() => undefined);
    }
    await this.client.quit().catch(() => this.client.disconnect());
    await this.local.close();
  }
}

/** Turns the script's reply (see BUCKETS_LUA) into a decision. */
function parseReply(reply: Array<string | number>, n: number): LimitDecision {
  const retry = String(reply[2]);
  const buckets: BucketState[] = new Array(n);
  for (let i = 0; i < n; i++) {
    buckets[i] = { remaining: Number(reply[3 + 2 * i]), resetMs: Number(reply[4 + 2 * i]) };
  }
  return {
    allowed: reply[0] === 1,
    retryAfterMs: retry === '-1' ? NEVER : Number(retry),
    refusedBy: Number(reply[1]),
    buckets,
    degraded: false,
  };
}

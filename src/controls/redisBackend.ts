/**
 * The switches in Redis, shared by every instance (DESIGN: "blocks and switches reach every instance
 * within a second").
 *
 * Keys (one hash slot, so the scripts run on a Redis Cluster):
 *   <prefix>{anteroom-controls}:entries  HASH  entry key -> entry JSON (see model.ts)
 *   <prefix>{anteroom-controls}:version  counter, bumped by every change
 * and the channel <prefix>{anteroom-controls}:changed, which carries the new version.
 *
 * - A change is one script: write the entry, bump the version, publish it. Every instance (the writer
 *   too) loads the whole hash when it hears of a version it has not applied.
 * - A message can be lost (a reconnect, a subscriber that was down): every `resyncMs` each instance
 *   reads the version and reloads when it differs, so a missed message leaves it stale for at most
 *   that long. A restarted instance loads the state before it serves (Anteroom.start waits for it).
 * - Redis unreachable: the last known state stays in force (the request path only ever reads this
 *   process's copy). A change made meanwhile holds here and is written when Redis answers again; a
 *   Redis that comes back empty (restarted without persistence) gets this instance's copy back.
 */
import type { Cluster, ClusterNode, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient } from '../limits/redisClient.js';
import type { ControlsBackend } from './backend.js';
import { entryKey, parseEntry, type ControlEntry } from './model.js';

export interface RedisBackendOptions {
  connection: { url: string } | { clusterNodes: ClusterNode[] };
  logger: Logger;
  /** Prefix of every key; 'anteroom:' by default. */
  prefix?: string;
  /** Longest wait for one Redis call. Not on the request path, so longer than the limits' timeout. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How often the version is compared, in case a message was missed. */
  resyncMs?: number;
}

/** KEYS: entries, version. ARGV: field, JSON ('' removes), channel. Returns the version after the call. */
const WRITE_LUA = `
if ARGV[2] == '' then
  if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return tonumber(redis.call('GET', KEYS[2]) or '0') end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], v)
return v
`;

/** KEYS: entries, version. The version and every entry, read together. */
const LOAD_LUA = `return { tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HGETALL', KEYS[1]) }`;

interface Commands {
  controlsWrite(entries: string, version: string, field: string, json: string, channel: string): Promise<number>;
  controlsLoad(entries: string, version: string): Promise<[number, string[]]>;
}
type Client = (Redis | Cluster) & Commands;

export class RedisBackend implements ControlsBackend {
  readonly kind = 'redis';
  private readonly client: Client;
  private readonly sub: Redis | Cluster;
  private readonly log: Logger;
  private readonly entriesKey: string;
  private readonly versionKey: string;
  private readonly channel: string;
  private readonly resyncMs: number;
  private apply: ((entries: ControlEntry[]) => void) | null = null;
  private current: () => ControlEntry[] = () => [];
  /** Version of the snapshot applied last; -1 before the first. */
  private known = -1;
  /** Version after this instance's last write: a snapshot older than it lacks that write. */
  private floor = 0;
  private floorAt = 0;
  /** Changes not yet in Redis (null: a removal), laid over every snapshot until written. */
  private readonly pending = new Map<string, ControlEntry | null>();
  private loading = false;
  private again = false;
  private _synced = false;
  private announced = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  /** A Redis not reachable yet at start is not an outage until the connect timeout has passed. */
  private readonly quietUntil: number;
  private loaded!: () => void;
  private readonly firstLoad = new Promise<void>((resolve) => (this.loaded = resolve));

  constructor(options: RedisBackendOptions) {
    this.log = options.logger;
    const prefix = options.prefix ?? 'anteroom:';
    if (/[{}]/.test(prefix)) throw new RangeError(`redis key prefix must not contain { or }, got ${prefix}`);
    const base = `${prefix}{anteroom-controls}:`;
    this.entriesKey = `${base}entries`;
    this.versionKey = `${base}version`;
    this.channel = `${base}changed`;
    this.resyncMs = options.resyncMs ?? 1_000;
    const timeout = options.commandTimeoutMs ?? 1_000;
    const connectTimeout = options.connectTimeoutMs ?? 1_000;
    this.quietUntil = Date.now() + connectTimeout;
    const client = createRedisClient(options.connection, timeout, connectTimeout);
    client.defineCommand('controlsWrite', { lua: WRITE_LUA, numberOfKeys: 2 });
    client.defineCommand('controlsLoad', { lua: LOAD_LUA, numberOfKeys: 2 });
    this.client = client as Client;
    client.on('error', (err: Error) => this.log.debug({ err }, 'controls: redis connection error'));
    client.on('ready', () => this.refresh());
    this.sub = createRedisClient(options.connection, timeout, connectTimeout);
    this.sub.on('error', (err: Error) => this.log.debug({ err }, 'controls: redis subscriber error'));
    // Subscribed again after every reconnect, and reloaded: messages sent meanwhile are lost.
    this.sub.on('ready', () => {
      this.sub.subscribe(this.channel).then(
        () => this.refresh(),
        (err: Error) => this.log.debug({ err }, 'controls: subscribe failed'),
      );
    });
    this.sub.on('message', (_channel: string, version: string) => {
      if (Number(version) !== this.known) this.refresh();
    });
  }

  get synced(): boolean {
    return this._synced;
  }

  start(apply: (entries: ControlEntry[]) => void, current: () => ControlEntry[]): void {
    this.apply = apply;
    this.current = current;
    this.timer = setInterval(() => this.tick(), this.resyncMs);
    this.timer.unref();
    this.refresh();
  }

  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([this.firstLoad.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return ok;
  }

  async write(key: string, entry: ControlEntry | null): Promise<boolean> {
    this.pending.set(key, entry);
    return this.flushOne(key, entry);
  }

  /** Compares the version; reloads when it moved (or changes wait to be written). */
  private tick(): void {
    if (this.closed || this.loading) return;
    if (this.pending.size > 0 || this.known < 0 || this.client.status !== 'ready') return this.refresh();
    this.client.get(this.versionKey).then(
      (v) => {
        this.up();
        if (Number(v ?? 0) !== this.known) this.refresh();
      },
      (err: Error) => this.down(err),
    );
  }

  /** Writes what is pending, then loads and applies the whole state. One at a time; a call meanwhile runs it again. */
  private refresh(): void {
    if (this.closed || this.apply === null) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    void this.load().finally(() => {
      this.loading = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.refresh();
      }
    });
  }

  private async load(): Promise<void> {
    if (this.client.status !== 'ready') return this.down(new Error(`redis connection is ${this.client.status}`));
    for (const [key, entry] of [...this.pending]) if (!(await this.flushOne(key, entry))) return;
    let version: number;
    let flat: string[];
    try {
      [version, flat] = await this.client.controlsLoad(this.entriesKey, this.versionKey);
    } catch (err) {
      return this.down(err as Error);
    }
    this.up();
    // Version 0 after this instance has seen (known) or written (floor) a later one: Redis lost its data.
    // Checking only `known` missed a restart that came before this instance had loaded its own writes
    // back, and the empty state then replaced them.
    if (version === 0 && (this.known > 0 || this.floor > 0)) return this.reseed();
    if (version < this.floor) {
      // Older than this instance's own last write: that write's message is on its way, wait for it. Still
      // older a while later, Redis has lost data and started again: what it has now is the state.
      if (Date.now() - this.floorAt < 2 * this.resyncMs) return;
      this.floor = version;
    }
    const entries = new Map<string, ControlEntry>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const parsed = parseEntry(flat[i + 1]!);
      if ('error' in parsed) this.log.warn({ key: flat[i], problem: parsed.error }, 'controls: skipping an entry in redis this version cannot read');
      else entries.set(flat[i]!, parsed.entry);
    }
    for (const [key, entry] of this.pending) {
      if (entry === null) entries.delete(key);
      else entries.set(key, entry);
    }
    this.known = version;
    this.apply!([...entries.values()]);
    this.loaded();
  }

  /** Redis came back without our keys (a restart without persistence): it gets this instance's copy. */
  private async reseed(): Promise<void> {
    const mine = this.current();
    this.log.warn({ entries: mine.length }, 'controls: redis lost the shared switches; writing back this instance\'s copy');
    this.floor = 0;
    this.known = 0;
    for (const e of mine) this.pending.set(entryKey(e), e);
    this.again = true;
  }

  private async flushOne(key: string, entry: ControlEntry | null): Promise<boolean> {
    if (this.client.status !== 'ready') {
      this.down(new Error(`redis connection is ${this.client.status}`));
      return false;
    }
    try {
      const v = await this.client.controlsWrite(this.entriesKey, this.versionKey, key, entry === null ? '' : JSON.stringify(entry), this.channel);
      if (this.pending.get(key) === entry) this.pending.delete(key);
      if (v > this.floor) {
        this.floor = v;
        this.floorAt = Date.now();
      }
      this.up();
      return true;
    } catch (err) {
      this.down(err as Error);
      return false;
    }
  }

  private down(err: Error): void {
    if (this.closed) return;
    this._synced = false;
    if (!this.announced && Date.now() >= this.quietUntil) {
      this.announced = true;
      this.log.warn({ err }, 'controls: redis unreachable; keeping the last known switches, changes hold on this instance until it is back');
    }
  }

  private up(): void {
    if (this._synced) return;
    this._synced = true;
    if (this.announced) {
      this.announced = false;
      this.log.info({ pending: this.pending.size }, 'controls: redis reachable again');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.client.disconnect();
    this.sub.disconnect();
  }
}

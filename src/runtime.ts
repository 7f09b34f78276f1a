/**
 * What phases share across requests: the config in force, the logger, the upstreams and the proxy's
 * own state. One Runtime per running proxy; a reload swaps `config` in place.
 */
import { randomBytes } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { ControlPlane } from './control/controlPlane.js';
import type { Controller } from './control/controller.js';
import { IdentityResolver } from './identity/identityResolver.js';
import { Room } from './room/room.js';
import { SharedRoom } from './room/shared/sharedRoom.js';
import { RouteTable } from './routes/routeTable.js';
import { ConcurrencyGate } from './limits/concurrencyGate.js';
import { LimitPlan } from './limits/limitPlan.js';
import { createStore } from './limits/createStore.js';
import type { Store } from './limits/store.js';
import { Upstream } from './proxy/upstream.js';
import { WebsocketRegistry } from './proxy/websocketRegistry.js';

export class Runtime {
  config: Readonly<Config>;
  readonly log: Logger;
  /** Random per process, so request ids are unique across instances. */
  readonly instanceId: string;
  readonly upstreams = new Map<string, Upstream>();
  defaultUpstream!: Upstream;
  identity!: IdentityResolver;
  routes!: RouteTable;
  trustedProxies = new BlockList();
  readonly websockets = new WebsocketRegistry();
  /** Token buckets and concurrency caps; the store and the gate survive reloads, the plan is rebuilt. */
  readonly limits: { plan: LimitPlan; readonly store: Store; readonly gate: ConcurrencyGate; shadowRefusals: number };
  /** The waiting room; survives reloads with everyone's place. */
  readonly room: Room;
  /** Per-upstream controllers: signals, state, the limit in force; they survive reloads. */
  readonly control: ControlPlane;
  /** Signs tickets and sessions: the configured secret, or one generated for this process. */
  readonly secret: string;
  /** Set once shutdown has begun: readyz fails and connections are not kept alive. */
  draining = false;
  private seq = 0;

  constructor(config: Readonly<Config>, log: Logger) {
    this.config = config;
    this.log = log;
    this.instanceId = randomBytes(6).toString('base64url');
    this.limits = { plan: new LimitPlan(config.limits), store: createStore(config.store, log, this.instanceId), gate: new ConcurrencyGate(), shadowRefusals: 0 };
    this.secret = config.secret;
    if (this.secret === '') {
      this.secret = randomBytes(32).toString('base64url');
      log.warn('no secret configured: generated one for this process; tickets and sessions will not survive a restart or work across instances');
    }
    // With Redis, every instance shares one queue, one order and one admission budget.
    const store = config.store;
    this.room =
      store.kind === 'redis'
        ? new SharedRoom(config.room, this.secret, this.limits.gate, log, {
            connection: store.url !== undefined ? { url: store.url } : { clusterNodes: store.cluster! },
            instanceId: this.instanceId,
            prefix: store.prefix,
            commandTimeoutMs: store.commandTimeoutMs,
          })
        : new Room(config.room, this.secret, this.limits.gate, log);
    // A freed slot goes first to a request already waiting for one (gate FIFO), then to the room.
    this.limits.gate.onRelease = () => this.room.pump();
    this.control = new ControlPlane(log, config.control.eventLoopResolutionMs);
    this.control.onTick = () => this.applyLimits();
    this.control.inflightOf = (name) => this.limits.gate.inFlight(name);
    this.applyConfig(config);
  }

  /** The controller of each upstream that has a `control` entry, by upstream name. */
  get controllers(): ReadonlyMap<string, Controller> {
    return this.control.controllers;
  }

  nextRequestId(): string {
    return `${this.instanceId}-${(++this.seq).toString(36)}`;
  }

  /**
   * Builds what derives from the config. Everything that can fail (JWT key files) is built before
   * anything is swapped, so a failure leaves the runtime as it was. Upstreams whose settings did not
   * change keep their pools.
   */
  applyConfig(config: Readonly<Config>): void {
    const identity = new IdentityResolver(config.identity, { hashSecret: config.secret });
    const routes = new RouteTable(config.routes);
    const plan = new LimitPlan(config.limits);
    this.config = config;
    this.identity = identity;
    this.routes = routes;
    this.limits.plan = plan;
    const trusted = new BlockList();
    for (const entry of config.identity.trustedProxies) {
      const [addr, bits] = entry.split('/');
      const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
      if (bits === undefined) trusted.addAddress(addr!, type);
      else trusted.addSubnet(addr!, Number(bits), type);
    }
    this.trustedProxies = trusted;
    for (const [name, upstreamConfig] of Object.entries(config.upstreams)) {
      const existing = this.upstreams.get(name);
      if (existing?.sameSettings(upstreamConfig)) continue;
      this.upstreams.set(name, new Upstream(name, upstreamConfig));
      if (existing) void existing.close();
    }
    for (const [name, upstream] of this.upstreams) {
      if (!(name in config.upstreams)) {
        this.upstreams.delete(name);
        this.limits.gate.setUpstreamLimit(name, Infinity);
        void upstream.close();
      }
    }
    const defaultName = config.defaultUpstream ?? Object.keys(config.upstreams)[0]!;
    this.defaultUpstream = this.upstreams.get(defaultName)!;
    this.room.reconfigure(config.room);
    this.room.upstream = defaultName;
    this.control.configure(
      config.control,
      [...this.upstreams.values()].map((u) => ({ name: u.name, url: u.settings.url, configuredLimit: this.configuredLimit(u) })),
    );
  }

  /**
   * The full in-flight limit of an upstream before any controller lowers it: for the room's upstream
   * `room.concurrency` (default: the upstream's own), for the others their `concurrency`.
   */
  private configuredLimit(u: Upstream): number {
    const own = u.settings.concurrency ?? Infinity;
    return u.name === this.room.upstream ? (this.config.room.concurrency ?? own) : own;
  }

  /**
   * Applies the limits in force (controllers' adaptive limits and slow-start ramps, or the configured
   * ones, never above an upstream's own `concurrency`) to the room and the concurrency gate; runs after
   * each control tick and each reconfiguration. A raised limit lets waiters in at once.
   */
  applyLimits(): void {
    for (const u of this.upstreams.values()) {
      const inForce = this.control.limit(u.name, this.configuredLimit(u));
      if (u.name === this.room.upstream) this.room.limit = inForce;
      this.limits.gate.setUpstreamLimit(u.name, Math.min(u.settings.concurrency ?? Infinity, inForce));
    }
    this.room.pump();
  }

  async close(): Promise<void> {
    await this.control.close();
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
    await this.limits.store.close();
    await this.room.close();
  }
}

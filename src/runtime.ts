/**
 * What phases share across requests: the config in force, the logger, the upstreams and the proxy's
 * own state. One Runtime per running proxy; a reload swaps `config` in place.
 */
import { randomBytes } from 'node:crypto';
import type { BlockList } from 'node:net';
import type { Logger } from 'pino';
import { RequestStats } from './admin/requestStats.js';
import type { Config } from './config/schema.js';
import { ControlPlane } from './control/controlPlane.js';
import type { Controller } from './control/controller.js';
import { trustedProxyList } from './identity/clientAddress.js';
import type { Controls } from './controls/controls.js';
import { createControls } from './controls/createControls.js';
import { SocketCloser } from './controls/socketCloser.js';
import { IdentityResolver } from './identity/identityResolver.js';
import { loadWaitingPageTemplate, Room } from './room/room.js';
import { SharedRoom } from './room/shared/sharedRoom.js';
import { RouteTable } from './routes/routeTable.js';
import { ConcurrencyGate } from './limits/concurrencyGate.js';
import { LimitPlan } from './limits/limitPlan.js';
import { createStore } from './limits/createStore.js';
import type { Store } from './limits/store.js';
import { Upstream } from './proxy/upstream.js';
import { instrumentWebsocketProxy } from './proxy/websocketForwarder.js';
import { WebsocketRegistry } from './proxy/websocketRegistry.js';
import { RefusalCounts } from './server/refusalCounts.js';

export class Runtime {
  config: Readonly<Config>;
  readonly log: Logger;
  /** Random per process, so request ids are unique across instances. */
  readonly instanceId: string;
  readonly upstreams = new Map<string, Upstream>();
  defaultUpstream!: Upstream;
  identity!: IdentityResolver;
  routes!: RouteTable;
  trustedProxies!: BlockList;
  readonly websockets = new WebsocketRegistry();
  /** Token buckets and concurrency caps; the store and the gate survive reloads, the plan is rebuilt. */
  readonly limits: { plan: LimitPlan; readonly store: Store; readonly gate: ConcurrencyGate; shadowRefusals: number };
  /** The waiting room; survives reloads with everyone's place. */
  readonly room: Room;
  /** What the request path records for the metrics (admin/metrics.ts reads it when scraped). */
  readonly stats: RequestStats;
  /** Per-upstream controllers: signals, state, the limit in force; they survive reloads. */
  readonly control: ControlPlane;
  /** The operators' switches (blocks, room modes, limit overrides), set through the admin API. */
  readonly controls: Controls;
  /** Refusals per tenant and code since start, for the admin status. */
  readonly refusals = new RefusalCounts();
  private readonly socketCloser: SocketCloser;
  /** Signs tickets and sessions: the configured secret, or one generated for this process. */
  readonly secret: string;
  /** Set once shutdown has begun: readyz fails and connections are not kept alive. */
  draining = false;
  private seq = 0;

  constructor(config: Readonly<Config>, log: Logger) {
    this.config = config;
    this.log = log;
    this.instanceId = randomBytes(6).toString('base64url');
    this.controls = createControls(config, log);
    this.limits = { plan: new LimitPlan(config.limits, this.controls), store: createStore(config.store, log, this.instanceId), gate: new ConcurrencyGate(), shadowRefusals: 0 };
    this.stats = new RequestStats({ tenants: config.metrics.tenants });
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
    // A pause or maintenance holds the room's admissions; lifting it lets the waiting in.
    this.room.switches = this.controls;
    this.controls.onChange(() => this.room.switchesChanged());
    this.socketCloser = new SocketCloser({
      registry: this.websockets,
      controls: this.controls,
      settings: () => this.config.controls.closeWebsockets,
      sessionKeys: (cookie) => this.identity.sessionKeys(cookie),
      log,
    });
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
   * Builds what derives from the config. Everything that can fail (JWT key files, the waiting page
   * template, upstream pools) is built before anything is swapped, so a failure leaves the runtime as
   * it was. Upstreams whose settings did not change keep their pools.
   */
  applyConfig(config: Readonly<Config>): void {
    const identity = new IdentityResolver(config.identity, { hashSecret: config.secret });
    const routes = new RouteTable(config.routes);
    const plan = new LimitPlan(config.limits, this.controls);
    const trusted = trustedProxyList(config.identity.trustedProxies);
    const template = loadWaitingPageTemplate(config.room);
    const fresh = this.freshUpstreams(config);
    this.config = config;
    this.identity = identity;
    this.routes = routes;
    this.limits.plan = plan;
    this.trustedProxies = trusted;
    for (const [name, upstream] of fresh) {
      const existing = this.upstreams.get(name);
      this.upstreams.set(name, upstream);
      // Requests in flight on the old pool finish there; upgraded websockets are no longer the agent's.
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
    this.room.reconfigure(config.room, template);
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

  /** The upstreams that are new or whose settings changed, built (and instrumented) but not yet in use. */
  private freshUpstreams(config: Readonly<Config>): Map<string, Upstream> {
    const fresh = new Map<string, Upstream>();
    try {
      for (const [name, upstreamConfig] of Object.entries(config.upstreams)) {
        if (this.upstreams.get(name)?.sameSettings(upstreamConfig)) continue;
        const upstream = new Upstream(name, upstreamConfig);
        fresh.set(name, upstream);
        instrumentWebsocketProxy(upstream);
      }
    } catch (err) {
      for (const upstream of fresh.values()) void upstream.close();
      throw err;
    }
    return fresh;
  }

  async close(): Promise<void> {
    this.socketCloser.stop();
    await this.controls.close();
    await this.control.close();
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
    await this.limits.store.close();
    await this.room.close();
  }
}

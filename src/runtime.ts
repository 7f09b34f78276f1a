/**
 * What phases share across requests: the config in force, the logger, the upstreams and the proxy's
 * own state. One Runtime per running proxy; a reload swaps `config` in place.
 */
import { randomBytes } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Upstream } from './proxy/upstream.js';
import { WebsocketRegistry } from './proxy/websocketRegistry.js';

export class Runtime {
  config: Readonly<Config>;
  readonly log: Logger;
  /** Random per process, so request ids are unique across instances. */
  readonly instanceId: string;
  readonly upstreams = new Map<string, Upstream>();
  defaultUpstream!: Upstream;
  trustedProxies = new BlockList();
  readonly websockets = new WebsocketRegistry();
  /** Set once shutdown has begun: readyz fails and connections are not kept alive. */
  draining = false;
  private seq = 0;

  constructor(config: Readonly<Config>, log: Logger) {
    this.config = config;
    this.log = log;
    this.instanceId = randomBytes(6).toString('base64url');
    this.applyConfig(config);
  }

  nextRequestId(): string {
    return `${this.instanceId}-${(++this.seq).toString(36)}`;
  }

  /** Builds what derives from the config. Upstreams whose settings did not change keep their pools. */
  applyConfig(config: Readonly<Config>): void {
    this.config = config;
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
        void upstream.close();
      }
    }
    const defaultName = config.defaultUpstream ?? Object.keys(config.upstreams)[0]!;
    this.defaultUpstream = this.upstreams.get(defaultName)!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
  }
}

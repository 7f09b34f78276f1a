/**
 * One upstream: its undici pool for HTTP and its http-proxy-3 server for websocket upgrades.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';

export class Upstream {
  readonly name: string;
  readonly settings: UpstreamConfig;
  readonly origin: URL;
  readonly pool: Pool;
  /** Path prefix of the upstream URL, prepended to every forwarded path ('' for none). */
  readonly basePath: string;
  readonly ws: ProxyServer;
  private readonly agent: HttpAgent;
  /** Requests currently sent to this upstream by this instance. */
  inFlight = 0;

  constructor(name: string, settings: UpstreamConfig) {
    this.name = name;
    this.settings = settings;
    this.origin = new URL(settings.url);
    this.basePath = this.origin.pathname === '/' ? '' : this.origin.pathname.replace(/\/$/, '');
    this.pool = new Pool(this.origin.origin, {
      connections: settings.connections,
      pipelining: 1,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // An upstream's `Keep-Alive: timeout=N` hint is honoured minus this margin, so a pooled socket is
      // never reused at the moment the upstream closes it.
      keepAliveTimeoutThreshold: 1_000,
      keepAliveMaxTimeout: settings.keepAliveTimeoutMs,
    });
    const https = this.origin.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.ws = createProxyServer({
      target: this.origin.origin,
      ws: true,
      agent: this.agent,
      xfwd: false,
    });
  }

  sameSettings(other: UpstreamConfig): boolean {
    return isDeepStrictEqual(this.settings, other);
  }

  async close(): Promise<void> {
    this.ws.close();
    this.agent.destroy();
    await this.pool.close().catch(() => undefined);
  }
}

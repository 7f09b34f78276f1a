/**
 * A running anteroom: the public listener with the pipeline behind it, the admin listener, and
 * graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AdminServer, type AdminServerOptions, type ReloadResult } from './admin/adminServer.js';
import { loadConfigFile } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger } from './log.js';
import { handleRequest, handleUpgrade } from './pipeline/pipeline.js';
import { instrumentWebsocketProxy } from './proxy/websocketForwarder.js';
import { Runtime } from './runtime.js';
import { onClientError } from './server/clientError.js';

export interface AnteroomOptions {
  logger?: Logger;
  /** The file the config came from: `POST /reload` re-reads it. */
  configFile?: string;
  /** What `POST /reload` does instead of re-reading `configFile`. */
  reload?: () => Promise<ReloadResult>;
  /** The Prometheus registry for `GET /metrics` on the admin listener. */
  metrics?: AdminServerOptions['metrics'];
  /** Where ANTEROOM_ADMIN_TOKEN is read; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export class Anteroom {
  readonly rt: Runtime;
  readonly server: Server;
  readonly admin: AdminServer;
  /** Where the admin listener is bound, once started. */
  adminAddress: AddressInfo | null = null;
  private stopping: Promise<void> | null = null;

  constructor(config: Readonly<Config>, options: AnteroomOptions = {}) {
    this.rt = new Runtime(config, options.logger ?? createLogger(config));
    for (const upstream of this.rt.upstreams.values()) instrumentWebsocketProxy(upstream);
    const listen = config.listen;
    this.server = createServer(
      {
        headersTimeout: listen.headersTimeoutMs,
        requestTimeout: listen.requestTimeoutMs,
        keepAliveTimeout: listen.keepAliveTimeoutMs,
        maxHeaderSize: listen.maxHeaderBytes,
        // Timeouts are checked on this interval; Node's default of 30 s would let a slow client hold
        // its socket well past headersTimeout.
        connectionsCheckingInterval: Math.min(1_000, listen.headersTimeoutMs),
        // Node's strict parser stays on: lenient parsing is how request smuggling gets in.
        insecureHTTPParser: false,
        requireHostHeader: true,
      },
      (req, res) => handleRequest(this.rt, req, res),
    );
    this.server.on('upgrade', (req, socket, head) => handleUpgrade(this.rt, req, socket, head));
    this.server.on('clientError', (err, socket) => onClientError(this.rt, err, socket));
    this.admin = new AdminServer(this.rt, {
      reload: options.reload ?? reloadFromFile(this.rt, options.configFile),
      metrics: options.metrics,
      ...(options.env !== undefined ? { env: options.env } : {}),
    });
  }

  get log(): Logger {
    return this.rt.log;
  }

  /**
   * Loads the operators' switches (so a restarted instance keeps refusing what is blocked), starts the
   * admin listener (refused on a non-loopback host without a token), then the public one; resolves
   * with the public address (port 0 picks a free port).
   */
  async start(): Promise<AddressInfo> {
    if (!(await this.rt.controls.ready(1_000))) {
      this.log.warn('the shared switches (blocks, modes, overrides) could not be loaded from redis yet; starting without them, they apply once redis answers');
    }
    this.adminAddress = await this.admin.start();
    const { host, port } = this.rt.config.listen;
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(port, host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await this.admin.stop();
      throw err;
    }
    const address = this.server.address() as AddressInfo;
    this.log.info({ address: address.address, port: address.port, upstreams: [...this.rt.upstreams.keys()] }, 'anteroom listening');
    return address;
  }

  /**
   * Graceful shutdown: stop accepting, close websockets with 1001 (going away), let in-flight requests
   * finish until `graceMs`, then close whatever is left.
   */
  stop(graceMs = this.rt.config.shutdown.graceMs): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    const rt = this.rt;
    rt.draining = true;
    // A shared room answers held requests with their tickets now, so their places outlive this instance.
    const drained = rt.room.drain();
    if (drained) await drained;
    this.log.info({ graceMs, websockets: rt.websockets.size }, 'shutting down');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const sockets = rt.websockets.closeAll(1001, 'anteroom is shutting down', Math.min(graceMs, 2_000));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), graceMs);
    });
    const outcome = await Promise.race([Promise.all([closed, sockets]).then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      this.log.warn('shutdown grace period over; closing remaining connections');
      this.server.closeAllConnections();
      await closed;
    }
    await this.admin.stop();
    await rt.close();
    this.log.info('anteroom stopped');
    this.log.flush();
  }
}

/**
 * What `POST /reload` does unless the embedder says otherwise: re-read the file the proxy started
 * from, validate it, and apply it; an invalid file changes nothing and says why. (`listen`, `admin`,
 * `store` and `secret` take effect at the next start.)
 */
export function reloadFromFile(rt: Runtime, file: string | undefined): () => Promise<ReloadResult> {
  return async () => {
    if (file === undefined) return { ok: false, errors: [{ path: '', message: 'this proxy was not started from a config file, so there is none to re-read' }] };
    const result = loadConfigFile(file);
    if (!result.ok) return { ok: false, errors: result.errors.map((e) => ({ ...e })) };
    const before = rt.config as Record<string, unknown>;
    const after = result.config as Record<string, unknown>;
    const changed = Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    try {
      rt.applyConfig(result.config);
    } catch (err) {
      return { ok: false, errors: [{ path: '', message: `cannot apply the config: ${(err as Error).message}` }] };
    }
    const atRestart = changed.filter((k) => ['listen', 'admin', 'store', 'secret'].includes(k));
    rt.log.info({ file, changed }, 'config reloaded');
    if (atRestart.length > 0) rt.log.warn({ keys: atRestart }, 'config reloaded: these sections take effect at the next start');
    return { ok: true, changed };
  };
}

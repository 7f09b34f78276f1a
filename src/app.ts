/**
 * A running anteroom: the public listener with the pipeline behind it, and graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createLogger } from './log.js';
import { handleRequest, handleUpgrade } from './pipeline/pipeline.js';
import { instrumentWebsocketProxy } from './proxy/websocketForwarder.js';
import { Runtime } from './runtime.js';
import { onClientError } from './server/clientError.js';

export interface AnteroomOptions {
  logger?: Logger;
}

export class Anteroom {
  readonly rt: Runtime;
  readonly server: Server;
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
  }

  get log(): Logger {
    return this.rt.log;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  async start(): Promise<AddressInfo> {
    const { host, port } = this.rt.config.listen;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.rt.control.start();
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
    await rt.close();
    this.log.info('anteroom stopped');
    this.log.flush();
  }
}

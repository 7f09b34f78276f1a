/**
 * A running anteroom: the public listener with the pipeline behind it, the admin listener, hot reload
 * of its config file, and graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AdminServer, type AdminServerOptions } from './admin/adminServer.js';
import { Metrics } from './admin/metrics.js';
import { formatConfigError, loadConfigFile, type ConfigError } from './config/load.js';
import { planReload } from './config/reloadPlan.js';
import { MAX_HEADER_COUNT, type Config } from './config/schema.js';
import { IdentityConfigError } from './identity/identityResolver.js';
import { createLogger } from './log.js';
import { handleRequest, handleUpgrade } from './pipeline/pipeline.js';
import { Runtime } from './runtime.js';
import { onClientError } from './server/clientError.js';

export interface AnteroomOptions {
  logger?: Logger;
  /** The file the config was loaded from; `reload()` reads it again. */
  configFile?: string;
  /** What `POST /reload` does instead of `reload()`. */
  reload?: () => Promise<ReloadResult>;
  /** The Prometheus registry for `GET /metrics` on the admin listener; default: one built on first scrape. */
  metrics?: AdminServerOptions['metrics'];
  /** The environment for `${VAR}` substitution on reload and ANTEROOM_ADMIN_TOKEN; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The outcome of a reload. `changed`: top-level keys and upstreams by name that now have new values;
 * `needsRestart`: settings the file changes that only a restart applies (they keep their running
 * values). On failure nothing was applied and `errors` say why, with their key paths.
 */
export type ReloadResult = { ok: true; changed: string[]; needsRestart: string[] } | { ok: false; errors: ConfigError[] };

export class Anteroom {
  readonly rt: Runtime;
  readonly server: Server;
  readonly configFile: string | undefined;
  readonly admin: AdminServer;
  /** Where the admin listener is bound, once started. */
  adminAddress: AddressInfo | null = null;
  private readonly env: NodeJS.ProcessEnv;
  private stopping: Promise<void> | null = null;
  /** The reload under way, so that reloads run one after another. */
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(config: Readonly<Config>, options: AnteroomOptions = {}) {
    this.rt = new Runtime(config, options.logger ?? createLogger(config));
    this.configFile = options.configFile;
    this.env = options.env ?? process.env;
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
        // accept refuses a missing Host itself, with an answer that says so (Node's is a bare 400).
        requireHostHeader: false,
      },
      (req, res) => handleRequest(this.rt, req, res),
    );
    // Node keeps the first maxHeadersCount fields of a request and drops the rest without a word (its
    // framing still used them: a Content-Length past the count left the proxy forwarding the request
    // without its body). It keeps one more than the highest listen.maxHeaderCount allowed, so accept can
    // tell a request over the limit in force and refuse it, whatever a reload sets the limit to (Node
    // reads this once per connection).
    this.server.maxHeadersCount = MAX_HEADER_COUNT + 1;
    this.server.on('upgrade', (req, socket, head) => handleUpgrade(this.rt, req, socket, head));
    // Without a listener Node drops a CONNECT's connection without a word; on the upgrade path accept
    // answers it with a clear refusal on the socket.
    this.server.on('connect', (req, socket, head) => handleUpgrade(this.rt, req, socket, head));
    this.server.on('clientError', (err, socket) => onClientError(this.rt, err, socket));
    // An Expect other than 100-continue: without a listener Node answers a bare 417; accept answers it
    // with a problem+json that names the expectation.
    this.server.on('checkExpectation', (req, res) => handleRequest(this.rt, req, res));
    this.admin = new AdminServer(this.rt, {
      reload: options.reload ?? (() => this.reload('admin API')),
      metrics: options.metrics ?? lazyMetrics(this.rt),
      ...(options.env !== undefined ? { env: options.env } : {}),
    });
  }

  get log(): Logger {
    return this.rt.log;
  }

  /**
   * Loads the operators' switches (so a restarted instance keeps refusing what is blocked), starts the
   * admin listener (refused on a non-loopback host without a token), then the public one and the
   * controllers; resolves with the public address (port 0 picks a free port).
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
        this.server.listen({ port, host, backlog: this.rt.config.listen.backlog }, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await this.admin.stop();
      throw err;
    }
    this.rt.control.start();
    const address = this.server.address() as AddressInfo;
    this.log.info({ address: address.address, port: address.port, upstreams: [...this.rt.upstreams.keys()] }, 'anteroom listening');
    return address;
  }

  /**
   * Reads the config file again and applies it, or keeps the running config when the file is invalid.
   * The new config is validated first; then everything built from it is built before anything is
   * swapped (Runtime.applyConfig). Token buckets, the waiting room with everyone's place, admission
   * sessions and open websockets carry over. Settings that need a restart keep their running values
   * and are reported. One log line says what changed, or lists every error with its key path.
   * @param trigger what asked for the reload, for the log line (`SIGHUP`, `file change`, `admin API`)
   */
  reload(trigger = 'request'): Promise<ReloadResult> {
    const result = this.reloading.then(() => this.doReload(trigger));
    this.reloading = result.catch(() => undefined);
    return result;
  }

  private async doReload(trigger: string): Promise<ReloadResult> {
    const file = this.configFile;
    if (file === undefined) return this.refuseReload(trigger, [{ path: '', message: 'anteroom was not started from a config file; there is nothing to reload' }]);
    if (this.stopping !== null) return this.refuseReload(trigger, [{ path: '', message: 'anteroom is shutting down' }]);
    const loaded = loadConfigFile(file, this.env);
    if (!loaded.ok) return this.refuseReload(trigger, loaded.errors);
    const before = this.rt.config;
    const plan = planReload(before, loaded.config);
    try {
      await this.rt.applyConfig(plan.config);
    } catch (err) {
      return this.refuseReload(trigger, applyErrors(err));
    }
    this.applyServerSettings(before, plan.config);
    const log = this.log;
    if (plan.needsRestart.length > 0) {
      log.warn({ file, trigger, keys: plan.needsRestart }, `config reload: ${plan.needsRestart.join(', ')} needs a restart; kept the running value`);
    }
    log.info({ file, trigger, changed: plan.changed }, plan.changed.length === 0 ? 'config reloaded: no changes' : `config reloaded: ${plan.changed.join(', ')} changed`);
    return { ok: true, changed: plan.changed, needsRestart: plan.needsRestart };
  }

  private refuseReload(trigger: string, errors: ConfigError[]): ReloadResult {
    this.log.error(
      { file: this.configFile, trigger, errors: errors.map(formatConfigError) },
      `config reload refused: ${errors.length} error(s); the running config stays`,
    );
    return { ok: false, errors };
  }

  /**
   * The listener's timeouts and header limit are read by Node per connection or per check, so they
   * apply to the running server (the check interval keeps its startup value). The log level follows
   * the file unless LOG_LEVEL overrides it.
   */
  private applyServerSettings(before: Readonly<Config>, config: Readonly<Config>): void {
    const listen = config.listen;
    this.server.headersTimeout = listen.headersTimeoutMs;
    this.server.requestTimeout = listen.requestTimeoutMs;
    this.server.keepAliveTimeout = listen.keepAliveTimeoutMs;
    (this.server as Server & { maxHeaderSize: number }).maxHeaderSize = listen.maxHeaderBytes;
    if (config.log.level !== before.log.level && process.env['LOG_LEVEL'] === undefined) this.log.level = config.log.level;
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

/** A failure while building from a valid config (a key file gone since validation) as config errors. */
function applyErrors(err: unknown): ConfigError[] {
  if (err instanceof IdentityConfigError) return err.problems.map((p) => ({ path: p.path, message: p.message, value: p.value }));
  return [{ path: '', message: `cannot apply the new config: ${(err as Error).message}` }];
}

/**
 * The metrics registry, built when `/metrics` is first scraped: a proxy nobody scrapes pays nothing
 * for it (prom-client's process metrics keep an event-loop monitor running for good).
 */
function lazyMetrics(rt: Runtime): NonNullable<AdminServerOptions['metrics']> {
  let metrics: Metrics | null = null;
  return {
    get contentType() {
      return (metrics ??= new Metrics(rt)).contentType;
    },
    render: () => (metrics ??= new Metrics(rt)).render(),
  };
}

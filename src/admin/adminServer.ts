/**
 * The admin listener: its own host and port (`admin`, loopback by default), a bearer token, JSON in
 * and out. fastify here, where convenience beats nanoseconds (STYLE.md); the proxy's hot path never
 * sees it, and the pipeline never imports it: it changes the runtime's switches, which the phases read.
 *
 * Every request, unknown paths included, needs the token when one is set, so that without it nothing
 * about the API is revealed. The one exception is the dashboard page (`GET /dashboard`): a browser
 * cannot send the token with a navigation, and the page is a constant that holds no data; its script
 * asks for the token and sends it with every API call (dashboard/script.ts). Without a token the
 * listener refuses to start anywhere but on loopback.
 */
import type { AddressInfo } from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { adminToken, bearerMatches, isLoopbackHost, TOKEN_ENV } from './auth.js';
import { DASHBOARD_PATH } from './dashboard/page.js';
import { registerRoutes } from './routes.js';
import { AdminError, type Problem } from './problems.js';

export type ReloadResult = { ok: true; changed?: string[] } | { ok: false; errors: { path: string; message: string; value?: unknown }[] };

export interface AdminServerOptions {
  /** Re-reads and applies the config; its answer is the answer of `POST /reload`. */
  reload: () => Promise<ReloadResult>;
  /** The Prometheus registry, served at `GET /metrics` when given. */
  metrics?: { contentType: string; render(): Promise<string> } | undefined;
  /** Where ANTEROOM_ADMIN_TOKEN is read; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

/** How long requests to the admin API in flight at shutdown may take before their connections are closed. */
const CLOSE_GRACE_MS = 1_000;

/** The admin listener would be open to the network: refused at start, with what to do about it. */
export class AdminConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminConfigError';
  }
}

export class AdminServer {
  readonly app: FastifyInstance;
  private readonly rt: Runtime;
  private readonly env: NodeJS.ProcessEnv;
  private readonly startedAt = Date.now();
  private listening = false;

  constructor(rt: Runtime, options: AdminServerOptions) {
    this.rt = rt;
    this.env = options.env ?? process.env;
    const app = fastify({
      // pino's Logger and fastify's logger type disagree on generics only.
      loggerInstance: rt.log.child({ component: 'admin' }) as unknown as FastifyBaseLogger,
      // Changes are logged by the controls, refusals below; a line per admin request would be noise.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 64 * 1024,
      // The routes are fixed; a trailing slash is the same route.
      routerOptions: { ignoreTrailingSlash: true },
    });
    this.app = app;
    app.addHook('onRequest', async (req, reply) => {
      const token = this.token();
      if (token === '') {
        // Open (loopback only): a page elsewhere could still reach it through DNS rebinding, its own
        // name resolving to 127.0.0.1; its requests then name that host, which is refused here.
        const host = hostName(req.headers.host);
        if (host !== null && isLoopbackHost(host)) return;
        rt.log.warn({ component: 'admin', remote: req.ip, host: req.headers.host }, 'admin: refused a request for a host that is not loopback while no token is set');
        return reply.code(403).send({ error: 'forbidden', message: `without an admin token the admin API answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1]); got Host "${String(req.headers.host ?? '')}". Set admin.token to use another name` });
      }
      // The route matched (GET or HEAD; a trailing slash or a query is the same route), never a prefix.
      if (req.routeOptions.url === DASHBOARD_PATH) return;
      const verdict = bearerMatches(req.headers.authorization, token);
      if (verdict === 'ok') return;
      rt.log.warn({ component: 'admin', remote: req.ip, method: req.method, url: req.url, verdict }, 'admin: refused a request without a valid token');
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="anteroom-admin"')
        .send({ error: 'unauthorized', message: verdict === 'missing' ? 'missing token: send Authorization: Bearer <admin token>' : 'wrong token' });
    });
    app.setErrorHandler((err: FastifyError | AdminError, _req, reply) => {
      if (err instanceof AdminError) return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message, err.problems));
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) rt.log.error({ component: 'admin', err }, 'admin: request failed');
      // fastify's own 4xx (a body that is not JSON, too large, a wrong content type) say what is wrong.
      return reply.code(status).send(errorBody(status, status === 500 ? 'the admin API failed to handle this request; it has been logged' : err.message));
    });
    app.setNotFoundHandler((req, reply) => {
      reply.code(404).send(errorBody(404, `no admin endpoint at ${req.method} ${req.url.split('?')[0]}; see README.md ("Admin API")`));
    });
    registerRoutes(app, rt, { reload: options.reload, metrics: options.metrics, startedAt: this.startedAt });
  }

  private token(): string {
    return adminToken(String(this.rt.config.admin.token), this.env);
  }

  /** Refuses a non-loopback host without a token, then listens; resolves with the bound address. */
  async start(): Promise<AddressInfo> {
    const { host, port } = this.rt.config.admin;
    if (this.token() === '' && !isLoopbackHost(host)) {
      throw new AdminConfigError(
        `admin.host is ${host}, which is not loopback, and no admin token is set: anyone who can reach it could block clients and change the room. Set admin.token (or ${TOKEN_ENV}), or listen on 127.0.0.1.`,
      );
    }
    await this.app.listen({ host, port });
    this.listening = true;
    const address = this.app.server.address() as AddressInfo;
    this.rt.log.info({ address: address.address, port: address.port, token: this.token() !== '' }, 'admin API listening');
    return address;
  }

  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    // fastify closes the idle keep-alive connections, but a connection busy at that moment stays
    // open afterwards until its keep-alive timeout (72 s): a dashboard polling every second would
    // hold up every shutdown. What is still open after a moment is closed.
    const timer = setTimeout(() => this.app.server.closeAllConnections(), CLOSE_GRACE_MS);
    try {
      await this.app.close();
    } finally {
      clearTimeout(timer);
    }
  }
}

export function errorBody(status: number, message: string, problems: readonly Problem[] = []): Record<string, unknown> {
  const error = status === 400 ? 'bad request' : status === 401 ? 'unauthorized' : status === 404 ? 'not found' : status === 422 ? 'invalid config' : status >= 500 ? 'internal error' : 'error';
  return problems.length > 0 ? { error, message, problems } : { error, message };
}

/** The host name of a Host header, without its port; null when there is none. */
function hostName(header: string | undefined): string | null {
  if (header === undefined || header === '') return null;
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    return end === -1 ? null : header.slice(0, end + 1);
  }
  const colon = header.indexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

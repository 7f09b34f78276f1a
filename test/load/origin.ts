/**
 * The load origin: an application with a fixed capacity, in its own process. `workers` requests are
 * served at a time, each for its route's service time; the rest wait in a FIFO (see ServicePool).
 * Websocket upgrades hold a worker for `upgradeMs` (session lookup) before the 101. With `pg`, every
 * request holds a real PostgreSQL connection from arrival to answer, from a pool that opens
 * connections on demand and closes idle ones, so `pg_stat_activity` rises and falls with the load
 * (incident 003).
 *
 * It records every arrival (time, client, tenant, route), every answer, and a sample every 100 ms
 * (in flight, in service, waiting, open websockets, database connections), and writes them to a file
 * when asked. Driven over IPC:
 *   { type: 'set', ... }          change service times or contention mid-run (a slowing upstream)
 *   { type: 'restart', downMs, coldFactor, warmMs }
 *                                 a restart: every connection is dropped (websockets without a close frame),
 *                                 queued work is lost, the port refuses connections for downMs, then
 *                                 the origin comes back cold: service times start coldFactor times
 *                                 longer and return to normal over warmMs
 *   { type: 'report', file }      -> { type: 'report' } once the records are written
 * Prints `LISTENING <port>` once bound to 127.0.0.1.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { ServicePool } from './servicePool.js';

export interface OriginRoute {
  /** Path prefix. */
  prefix: string;
  serviceMs: number;
  /** Requests in service on a heavy route slow every request down (see `contention`). */
  heavy?: boolean;
}

export interface OriginOptions {
  port?: number;
  workers: number;
  /** Service time of a path no route names. */
  serviceMs: number;
  routes?: OriginRoute[];
  /** Time a websocket upgrade holds a worker before the 101. */
  upgradeMs?: number;
  /** Each heavy request in service makes every request's service this fraction longer. */
  contention?: number;
  /** Hold a PostgreSQL connection per request in flight. */
  pg?: { url: string; max: number; idleMs: number };
}

/** What the origin records, written to the report file. Times are epoch ms. */
export interface OriginReport {
  options: OriginOptions;
  /** Columns: arrival time, client id, tenant, route prefix ('' for none), 1 for a websocket upgrade. */
  arrivals: { t: number[]; client: string[]; tenant: string[]; route: string[]; ws: number[] };
  /** Columns: answer time, time since arrival, status, 1 when the client had gone before the answer. */
  answers: { t: number[]; latencyMs: number[]; route: string[]; status: number[]; abandoned: number[]; tenant: string[] };
  samples: { t: number[]; inflight: number[]; inService: number[]; waiting: number[]; wsOpen: number[]; pgPool: number[]; pgOrigin: number[]; pgServer: number[] };
  restarts: { at: number; upAt: number }[];
}

export const ORIGIN_APPLICATION_NAME = 'anteroom-load-origin';

const opts = JSON.parse(process.argv[2] ?? '{}') as OriginOptions;
const send = process.send?.bind(process);

const report: OriginReport = {
  options: opts,
  arrivals: { t: [], client: [], tenant: [], route: [], ws: [] },
  answers: { t: [], latencyMs: [], route: [], status: [], abandoned: [], tenant: [] },
  samples: { t: [], inflight: [], inService: [], waiting: [], wsOpen: [], pgPool: [], pgOrigin: [], pgServer: [] },
  restarts: [],
};

let pool = new ServicePool(opts.workers);
let generation = 0;
let inflight = 0;
let cold: { until: number; upAt: number; factor: number } | null = null;
let pgPool: pg.Pool | null = opts.pg ? newPgPool() : null;
const sockets = new Set<Socket>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

function newPgPool(): pg.Pool {
  const p = new pg.Pool({
    connectionString: opts.pg!.url,
    max: opts.pg!.max,
    idleTimeoutMillis: opts.pg!.idleMs,
    connectionTimeoutMillis: 60_000,
    application_name: ORIGIN_APPLICATION_NAME,
  });
  p.on('error', () => undefined);
  return p;
}

function routeOf(path: string): OriginRoute | undefined {
  return opts.routes?.find((r) => path.startsWith(r.prefix));
}

/** Service time now: the route's, times the contention of heavy work in service, times a cold start. */
function cost(route: OriginRoute | undefined): number {
  let ms = route?.serviceMs ?? opts.serviceMs;
  ms *= 1 + (opts.contention ?? 0) * pool.heavyInService;
  if (cold !== null) {
    const now = Date.now();
    if (now >= cold.until) cold = null;
    else ms *= 1 + (cold.factor - 1) * ((cold.until - now) / (cold.until - cold.upAt));
  }
  return ms;
}

function tenantOf(req: IncomingMessage): string {
  const h = req.headers['x-tenant-id'];
  if (typeof h === 'string' && h !== '') return h;
  return /(?:^|;\s*)tenant=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
}

function arrive(req: IncomingMessage, route: OriginRoute | undefined, ws: boolean): { t: number; tenant: string } {
  const t = Date.now();
  const tenant = tenantOf(req);
  const a = report.arrivals;
  a.t.push(t);
  a.client.push(String(req.headers['x-load-client'] ?? ''));
  a.tenant.push(tenant);
  a.route.push(route?.prefix ?? '');
  a.ws.push(ws ? 1 : 0);
  return { t, tenant };
}

function answered(t0: number, route: OriginRoute | undefined, status: number, abandoned: boolean, tenant: string): void {
  const t = Date.now();
  const a = report.answers;
  a.t.push(t);
  a.latencyMs.push(t - t0);
  a.route.push(route?.prefix ?? '');
  a.status.push(status);
  a.abandoned.push(abandoned ? 1 : 0);
  a.tenant.push(tenant);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  const path = req.url ?? '/';
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  const route = routeOf(path);
  const { t, tenant } = arrive(req, route, false);
  const gen = generation;
  inflight++;
  const finish = (status: number, body: string, type: string): void => {
    if (gen !== generation) return;
    inflight--;
    const abandoned = res.destroyed || req.socket.destroyed;
    answered(t, route, status, abandoned, tenant);
    if (!abandoned) res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
  };
  const html = (req.headers.accept ?? '').includes('text/html');
  const serve = (release: () => void): void =>
    pool.submit({
      heavy: route?.heavy === true,
      cost: () => cost(route),
      done: () => {
        release();
        finish(200, html ? `<!doctype html><title>ok</title><p>served ${path}</p>\n` : '{"ok":true}\n', html ? 'text/html; charset=utf-8' : 'application/json');
      },
    });
  if (pgPool === null) return serve(() => undefined);
  // The connection is taken on arrival and held until the answer, as an application that opens one
  // per request does: in-flight requests are open database sessions.
  const p = pgPool;
  p.connect().then(
    async (client) => {
      try {
        await client.query('select 1');
      } catch {
        client.release(true);
        return finish(500, '{"error":"database"}\n', 'application/json');
      }
      serve(() => client.release());
    },
    () => finish(500, '{"error":"database"}\n', 'application/json'),
  );
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.on('connection', (s: Socket) => {
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
});

server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
  const route = routeOf(req.url ?? '/');
  const { t, tenant } = arrive(req, route, true);
  const gen = generation;
  inflight++;
  socket.on('error', () => undefined);
  pool.submit({
    heavy: false,
    cost: () => opts.upgradeMs ?? 0,
    done: () => {
      if (gen !== generation) return;
      inflight--;
      if (socket.destroyed) return answered(t, route, 101, true, tenant);
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        answered(t, route, 101, false, tenant);
        ws.on('error', () => undefined);
        ws.send('hello');
      });
    },
  });
});

function listen(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: the origin's capacity is its workers, not the kernel's default backlog of
    // 511, which a reconnect storm overflows (dropped SYNs are retried after 1 s, then 3 s).
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function restart(downMs: number, coldFactor: number, warmMs: number): Promise<void> {
  const at = Date.now();
  generation++;
  inflight = 0;
  // The process is gone: queued work with it, and the pool's connections.
  pool = new ServicePool(opts.workers);
  if (pgPool !== null) {
    void pgPool.end().catch(() => undefined);
    pgPool = newPgPool();
  }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A process that exits: its connections are reset, websockets without a close frame (1006).
  for (const s of sockets) s.destroy();
  for (const ws of wss.clients) ws.terminate();
  await closed;
  await new Promise((r) => setTimeout(r, Math.max(0, downMs - (Date.now() - at))));
  await listen(port);
  const upAt = Date.now();
  cold = coldFactor > 1 && warmMs > 0 ? { upAt, until: upAt + warmMs, factor: coldFactor } : null;
  report.restarts.push({ at, upAt });
}

// Samples: the origin's own view every 100 ms; PostgreSQL's view of its sessions every 500 ms.
let pgOrigin = 0;
let pgServer = 0;
const sampler = setInterval(() => {
  const s = report.samples;
  s.t.push(Date.now());
  s.inflight.push(inflight);
  s.inService.push(pool.inService);
  s.waiting.push(pool.waiting);
  s.wsOpen.push(wss.clients.size);
  s.pgPool.push(pgPool?.totalCount ?? 0);
  s.pgOrigin.push(pgOrigin);
  s.pgServer.push(pgServer);
}, 100);

let monitor: pg.Client | null = null;
let monitorTimer: NodeJS.Timeout | null = null;
if (opts.pg) {
  monitor = new pg.Client({ connectionString: opts.pg.url, application_name: 'anteroom-load-monitor' });
  monitor.on('error', () => undefined);
  await monitor.connect();
  const poll = async (): Promise<void> => {
    try {
      const r = await monitor!.query<{ origin: number; server: number }>(
        `select count(*) filter (where application_name = $1)::int as origin, count(*) filter (where backend_type = 'client backend')::int as server from pg_stat_activity`,
        [ORIGIN_APPLICATION_NAME],
      );
      pgOrigin = r.rows[0]!.origin;
      pgServer = r.rows[0]!.server;
    } catch {
      // A failed poll keeps the last values; the run goes on.
    }
    monitorTimer = setTimeout(() => void poll(), 500);
  };
  void poll();
}

const port = await listen(opts.port ?? 0);
process.stdout.write(`LISTENING ${port}\n`);

process.on('message', (msg: { type: string; [k: string]: unknown }) => {
  if (msg.type === 'set') {
    if (Array.isArray(msg['routes'])) opts.routes = msg['routes'] as OriginRoute[];
    if (typeof msg['contention'] === 'number') opts.contention = msg['contention'];
    if (typeof msg['serviceMs'] === 'number') opts.serviceMs = msg['serviceMs'];
    send?.({ type: 'set' });
  } else if (msg.type === 'restart') {
    void restart(Number(msg['downMs'] ?? 0), Number(msg['coldFactor'] ?? 1), Number(msg['warmMs'] ?? 0)).then(() => send?.({ type: 'restarted' }));
  } else if (msg.type === 'report') {
    writeFileSync(String(msg['file']), JSON.stringify(report));
    send?.({ type: 'report' });
  }
});

async function shutdown(): Promise<void> {
  clearInterval(sampler);
  if (monitorTimer) clearTimeout(monitorTimer);
  server.close();
  for (const s of sockets) s.destroy();
  await Promise.allSettled([pgPool?.end(), monitor?.end()]);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.on('disconnect', () => void shutdown());

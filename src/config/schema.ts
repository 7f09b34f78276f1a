/**
 * The configuration schema: the single source of the config's types, defaults and validation.
 * Every object is strict, so a misspelt key is an error instead of a silently disabled protection
 * (incident 003: a misconfigured queue let most traffic bypass it).
 */
import { z } from 'zod';
import { metricsSchema } from '../admin/metricsSchema.js';
import { controlSchema } from '../control/schema.js';
import { controlsSchema } from '../controls/schema.js';
import { identitySchema } from '../identity/schema.js';
import { limitsSchema } from '../limits/schema.js';
import { roomSchema } from '../room/schema.js';
import { routesSchema } from '../routes/schema.js';
import { timerMs } from './timerMs.js';

/**
 * A secret from the environment may be all digits, which YAML substitution reads as a number; a
 * secret is text either way.
 */
const secretString = z.union([z.string(), z.number().transform(String)]);
const port = z.int().min(0).max(65535);
const ms = timerMs(1);
/** Highest listen.maxHeaderCount; the listener is built to see one more field than this. */
export const MAX_HEADER_COUNT = 10_000;
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const listenSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(8080),
  /**
   * Connections the kernel may hold for the proxy to accept (capped by net.core.somaxconn). Node's
   * default, 511, overflows when thousands of clients come back at once (a backlog released, a
   * reconnect storm); the SYNs dropped then are resent by TCP only after a second or more.
   */
  backlog: z.int().min(1).max(65_535).default(4096),
  /** Time a client has to send the request headers (slowloris protection). */
  headersTimeoutMs: ms.default(10_000),
  /** Time a client has to send the whole request, body included. */
  requestTimeoutMs: ms.default(120_000),
  /** Idle keep-alive time of client connections. */
  keepAliveTimeoutMs: ms.default(5_000),
  /**
   * Longest a client may leave a response unread (between two successful writes) before its connection
   * is closed and the upstream request aborted: a client that never reads must not hold an upstream
   * connection forever.
   */
  sendTimeoutMs: ms.default(60_000),
  /** Largest request header section accepted; larger gets 431. */
  maxHeaderBytes: z.int().min(1024).max(1_048_576).default(16_384),
  /** Most header fields in a request; more get 431. */
  maxHeaderCount: z.int().min(8).max(MAX_HEADER_COUNT).default(100),
  /** Longest request target (path and query); longer gets 414. */
  maxUrlBytes: z.int().min(256).max(1_048_576).default(8_192),
  /** Largest request body forwarded; larger gets 413. */
  maxBodyBytes: z.int().min(0).default(10 * 1024 * 1024),
});

export const adminSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(9180),
  /** Bearer token for the admin API. Empty means no token (only allowed on loopback). */
  token: secretString.default(''),
});

const redisUrl = z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL');

export const storeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('memory') }),
  z
    .strictObject({
      kind: z.literal('redis'),
      /** One Redis server. */
      url: redisUrl.optional(),
      /** Or the seed nodes of a Redis Cluster. */
      cluster: z.array(z.strictObject({ host: z.string().min(1), port: port })).min(1).optional(),
      /** Prefix of every key anteroom writes. */
      prefix: z.string().default('anteroom:'),
      /** Longest wait for one Redis call; past it the decision is taken locally. */
      commandTimeoutMs: ms.default(50),
    })
    .refine((s) => (s.url === undefined) !== (s.cluster === undefined), {
      message: 'expected exactly one of url (one Redis) or cluster (Redis Cluster seed nodes)',
    }),
]);

export const upstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** Most connections kept to this upstream by this instance. */
  connections: z.int().min(1).max(10_000).default(256),
  connectTimeoutMs: ms.default(5_000),
  /** Time the upstream has to send response headers; past it the client gets 504. */
  timeoutMs: ms.default(30_000),
  /** Longest silence while the upstream sends a response body. */
  bodyTimeoutMs: ms.default(60_000),
  /**
   * Idle time after which a pooled connection is closed. Keep it below the upstream's own keep-alive
   * timeout (Node's default is 5 s) so anteroom never reuses a socket the upstream is closing.
   */
  keepAliveTimeoutMs: ms.default(4_000),
  /** Most requests in flight at this upstream from this instance; over it, requests wait (then 503). */
  concurrency: z.int().min(1).optional(),
});

export const logSchema = z.strictObject({
  level: logLevel.default('info'),
  /** One JSON line per request. */
  requests: z.boolean().default(true),
});

export const shutdownSchema = z.strictObject({
  /** How long in-flight requests may run after SIGTERM before their connections are closed. */
  graceMs: timerMs(0).default(10_000),
});

export const configSchema = z.strictObject({
  listen: listenSchema.prefault({}),
  admin: adminSchema.prefault({}),
  /** Signs tickets and admission cookies. */
  secret: secretString.default(''),
  store: storeSchema.prefault({ kind: 'memory' }),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a name of letters, digits, _ and -'), upstreamSchema)
    .refine((u) => Object.keys(u).length > 0, 'expected at least one upstream'),
  /** The upstream that requests go to unless a route names another. Defaults to the first one. */
  defaultUpstream: z.string().optional(),
  identity: identitySchema.prefault({}),
  limits: limitsSchema.prefault({}),
  /** Route rules, first match wins; requests no rule matches get the `default` route. */
  routes: routesSchema,
  room: roomSchema.prefault({}),
  /** Automatic engagement: signals, thresholds, adaptive limit and slow start, per upstream. */
  control: controlSchema.prefault({}),
  /** Operators' switches (blocks, room modes, limit overrides; set through the admin API): how they are carried out. */
  controls: controlsSchema.prefault({}),
  log: logSchema.prefault({}),
  /** What the Prometheus metrics contain. */
  metrics: metricsSchema.prefault({}),
  shutdown: shutdownSchema.prefault({}),
});

/** The validated, defaulted configuration. */
export type Config = z.output<typeof configSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;

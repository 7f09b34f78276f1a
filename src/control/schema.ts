/**
 * The `control` section: per upstream, what to watch (signals and their thresholds), when to engage
 * the room, when to shed, when and how to release, and the in-flight limit in force. Strict objects
 * throughout, so a misspelt key is an error and not a silently missing protection (incident 003).
 * It is the config's `control` key; `checkControlUpstreams` reports names that match no upstream.
 *
 * Thresholds compare with ">" (over) and release with "<=" (threshold * belowFactor).
 */
import { z } from 'zod';
import { timerMs } from '../config/timerMs.js';
import { parseJsonPointer } from './jsonPointer.js';

const seconds = z.number().min(0);

/** A connection threshold: a count, or a percentage of the server's max_connections ("80%"). */
const dbThreshold = z.union([z.int().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'expected a count like 80 or a percentage of max_connections like "80%"')]);

/** How often a poller asks and how long it waits; each poller keeps one connection open. */
const pollTiming = {
  /** Interval between polls. */
  everyMs: timerMs(100).default(1_000),
  /** Longest wait for a connect or a poll; past it the signal is unknown and the connection is replaced. */
  timeoutMs: timerMs(10).default(1_000),
};

/** `key: URL` is short for `key: { url: URL }`. */
const urlAlone = (v: unknown): unknown => (typeof v === 'string' ? { url: v } : v);

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL');
const mysqlUrl = z.string().regex(/^mysql:\/\//, 'expected a mysql:// URL (MySQL or MariaDB)');

const postgresSource = z.preprocess(
  urlAlone,
  z.strictObject({
    url: postgresUrl,
    /** Over this many client connections (or this share of max_connections) the upstream is in distress. */
    above: dbThreshold.optional(),
    /** `connections`: every client session; `active`: sessions running a statement. */
    measure: z.enum(['connections', 'active']).optional(),
    ...pollTiming,
  }),
);

const mysqlSource = z.preprocess(
  urlAlone,
  z.strictObject({
    url: mysqlUrl,
    above: dbThreshold.optional(),
    /** `connections`: Threads_connected; `running`: Threads_running. */
    measure: z.enum(['connections', 'running']).optional(),
    ...pollTiming,
  }),
);

const pgbouncerSource = z.preprocess(
  urlAlone,
  z.strictObject({
    /** The admin console: postgres://USER@HOST:6432/pgbouncer, USER in stats_users or admin_users. */
    url: postgresUrl,
    /** Over this many waiting clients (or this many ms of maxwait). Default 0: any client waiting. */
    above: z.number().min(0).optional(),
    /** `waiting`: cl_waiting summed over pools; `maxwaitMs`: the longest wait of any pool. */
    measure: z.enum(['waiting', 'maxwaitMs']).optional(),
    ...pollTiming,
  }),
);

const httpSource = z.strictObject({
  /** An endpoint of the application that answers JSON (credentials in the URL go as basic auth). */
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** RFC 6901 JSON pointer to the number, e.g. /pool/active. */
  pointer: z.string().superRefine((p, ctx) => {
    try {
      parseJsonPointer(p);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  above: z.number(),
  ...pollTiming,
});

/** The output shapes with defaults applied, so code reads one form whatever the YAML said. */
export type PostgresSource = { url: string; above: number | string; measure: 'connections' | 'active'; everyMs: number; timeoutMs: number };
export type MysqlSource = { url: string; above: number | string; measure: 'connections' | 'running'; everyMs: number; timeoutMs: number };
export type PgbouncerSource = { url: string; above: number; measure: 'waiting' | 'maxwaitMs'; everyMs: number; timeoutMs: number };

const pollDefaults = { everyMs: 1_000, timeoutMs: 1_000 };

export const dbConnectionsSchema = z.strictObject({
  /** A URL alone means `{ url, above: "80%", measure: connections }`. */
  postgres: postgresSource.transform((s): PostgresSource => ({ ...pollDefaults, above: '80%', measure: 'connections', ...s })).optional(),
  /** A URL alone means `{ url, above: "80%", measure: connections }`. */
  mysql: mysqlSource.transform((s): MysqlSource => ({ ...pollDefaults, above: '80%', measure: 'connections', ...s })).optional(),
  /** A URL alone means `{ url, above: 0, measure: waiting }`: engage as soon as clients wait for a server connection. */
  pgbouncer: pgbouncerSource.transform((s): PgbouncerSource => ({ ...pollDefaults, above: 0, measure: 'waiting', ...s })).optional(),
  http: httpSource.optional(),
});

const engageSchema = z.strictObject({
  /** p95 of proxied responses (and probes) over the latency window, in ms. */
  latencyP95Ms: z.number().positive().optional(),
  /** Share of 5xx answers and timeouts over the error window (0..1). */
  errorRate: z.number().min(0).max(1).optional(),
  dbConnections: dbConnectionsSchema.optional(),
  /** p99 of the proxy's own event-loop delay per tick, in ms. */
  eventLoopDelayMs: z.number().positive().optional(),
  /** How long a signal must stay over its threshold before the room engages. */
  forS: seconds.default(5),
});

const shedSchema = z.strictObject({
  /** Each, when set, must be above the matching engage threshold; signals without one never shed. */
  latencyP95Ms: z.number().positive().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  eventLoopDelayMs: z.number().positive().optional(),
  /** Per configured database source, in the unit of its `above`. */
  dbConnections: z
    .strictObject({
      postgres: dbThreshold.optional(),
      mysql: dbThreshold.optional(),
      pgbouncer: z.number().min(0).optional(),
      http: z.number().optional(),
    })
    .optional(),
  /** How long a signal must stay over its shed threshold before shedding starts. */
  forS: seconds.default(10),
});

const releaseSchema = z.strictObject({
  /** Release only at or below this fraction of each threshold (hysteresis). */
  belowFactor: z.number().gt(0).max(1).default(0.8),
  /** How long every signal must stay at or below its release level; longer than engage.forS. */
  forS: seconds.default(30),
  /** Slow-start time after release; default slowStart.rampS. */
  rampS: seconds.optional(),
  /** `hold`: an unknown signal keeps the room engaged; `ignore`: release looks at the known ones. */
  unknown: z.enum(['hold', 'ignore']).default('hold'),
});

const adaptiveSchema = z
  .strictObject({
    min: z.int().min(1).default(5),
    max: z.int().min(1),
    /** Starting limit; default: the limit in force when the room engages. */
    initial: z.int().min(1).optional(),
    /** RTT growth tolerated before the limit shrinks (Gradient2's rttTolerance). */
    tolerance: z.number().min(1).default(1.5),
    /** Weight of each new estimate. */
    smoothing: z.number().gt(0).max(1).default(0.2),
    /** Growth per window while nothing queues; default sqrt(limit). */
    queueSize: z.number().positive().optional(),
    /** Shortest sample window and fewest samples in it. */
    windowMs: timerMs(10).default(1_000),
    minSamples: z.int().min(1).default(10),
    /**
     * Windows the long-term RTT averages over. Under an overload that lasts a good part of this,
     * the baseline drifts up and the limit recovers: the price of tracking real latency changes.
     */
    longWindow: z.int().min(2).default(600),
  })
  .refine((a) => a.min <= a.max, { message: 'expected min <= max' });

const limitSchema = z.strictObject({
  /** A fixed in-flight limit. */
  static: z.int().min(1).optional(),
  /** Gradient2-style adaptive limit, in force while the room is engaged. */
  adaptive: adaptiveSchema.optional(),
});

const slowStartSchema = z.strictObject({
  /** Fraction of the full limit a ramp starts from. */
  floor: z.number().gt(0).max(1).default(0.1),
  /** Time from floor to full: at proxy start and when the upstream recovers (and after release unless release.rampS). */
  rampS: seconds.default(60),
  /** Ramp at proxy start (a restarted proxy faces whatever queued meanwhile: incident 004). */
  onStart: z.boolean().default(true),
});

const probeSchema = z.strictObject({
  path: z.string().regex(/^\//, 'expected a path starting with /'),
  everyMs: timerMs(100).default(1_000),
  timeoutMs: timerMs(10).default(2_000),
  /** Consecutive failures after which the upstream is down. */
  failuresToDown: z.int().min(1).default(3),
});

const windowSchema = z.strictObject({
  /** Latency percentiles cover this many seconds. */
  latencyS: z.number().min(1).default(10),
  /** The error rate covers this many seconds... */
  errorRateS: z.number().min(1).default(30),
  /** ...and is unknown below this many exchanges. */
  errorRateMinSamples: z.int().min(1).default(20),
});

export const upstreamControlSchema = z
  .strictObject({
    engage: engageSchema.prefault({}),
    shed: shedSchema.prefault({}),
    release: releaseSchema.prefault({}),
    limit: limitSchema.prefault({}),
    slowStart: slowStartSchema.prefault({}),
    probe: probeSchema.optional(),
    window: windowSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const above = (key: 'latencyP95Ms' | 'errorRate' | 'eventLoopDelayMs'): void => {
      const shed = c.shed[key];
      const engage = c.engage[key];
      if (shed === undefined) return;
      if (engage === undefined) ctx.addIssue({ code: 'custom', path: ['shed', key], message: `shed.${key} needs engage.${key}: the room queues before it sheds` });
      else if (shed <= engage) ctx.addIssue({ code: 'custom', path: ['shed', key], message: `shed.${key} (${shed}) must be above engage.${key} (${engage})` });
    };
    above('latencyP95Ms');
    above('errorRate');
    above('eventLoopDelayMs');
    for (const [key, shed] of Object.entries(c.shed.dbConnections ?? {})) {
      if (shed === undefined) continue;
      const source = c.engage.dbConnections?.[key as keyof typeof c.engage.dbConnections];
      if (source === undefined) {
        ctx.addIssue({ code: 'custom', path: ['shed', 'dbConnections', key], message: `shed.dbConnections.${key} needs engage.dbConnections.${key}` });
        continue;
      }
      const engage = source.above;
      if (typeof engage === typeof shed && (typeof engage === 'number' ? engage >= (shed as number) : parseFloat(engage as string) >= parseFloat(shed as string))) {
        ctx.addIssue({ code: 'custom', path: ['shed', 'dbConnections', key], message: `shed.dbConnections.${key} (${shed}) must be above engage.dbConnections.${key}.above (${engage})` });
      }
    }
    if (c.release.forS < c.engage.forS) {
      ctx.addIssue({ code: 'custom', path: ['release', 'forS'], message: `release.forS (${c.release.forS}) shorter than engage.forS (${c.engage.forS}) would let a hovering signal flap the room; make it longer` });
    }
    if (c.limit.static !== undefined && c.limit.adaptive !== undefined && c.limit.static > c.limit.adaptive.max) {
      ctx.addIssue({ code: 'custom', path: ['limit', 'static'], message: `limit.static (${c.limit.static}) above limit.adaptive.max (${c.limit.adaptive.max}): engaging would raise the limit` });
    }
  });

export const controlSchema = z.strictObject({
  /** How often every controller reads its signals and runs its state machine. */
  tickMs: timerMs(100).default(1_000),
  /** Sampling resolution of the proxy's own event-loop delay. */
  eventLoopResolutionMs: timerMs(1).default(20),
  /** Per upstream, by the name it has in `upstreams`. */
  upstreams: z.record(z.string(), upstreamControlSchema).default({}),
});

export type ControlConfig = z.output<typeof controlSchema>;
export type UpstreamControlConfig = z.output<typeof upstreamControlSchema>;

/** Errors for control entries that name no configured upstream (the config schema cannot see both). */
export function checkControlUpstreams(control: ControlConfig, upstreams: readonly string[]): { path: string; message: string }[] {
  const known = new Set(upstreams);
  return Object.keys(control.upstreams)
    .filter((name) => !known.has(name))
    .map((name) => ({ path: `control.upstreams.${name}`, message: `no upstream named "${name}" (known: ${[...known].join(', ') || 'none'})` }));
}

/**
 * The `room` section: when people wait, how they are let in, and what they see.
 */
import { z } from 'zod';
import { timerMs } from '../config/timerMs.js';

const ms = z.int().min(1);

export const roomSchema = z.strictObject({
  /**
   * `auto`: people wait only when the upstream is at its limit; `queue-all`: every new visitor waits
   * and is let in at the room's outflow; `open`: nobody waits in the room (concurrency caps still hold).
   */
  mode: z.enum(['auto', 'queue-all', 'open']).default('auto'),
  /**
   * In-flight requests the room admits against. Default: the default upstream's `concurrency`; with
   * neither set the room only queues in `queue-all` mode.
   */
  concurrency: z.int().min(1).optional(),
  /** Most new sessions let in per minute, however much capacity frees up (a release ramp for people). */
  sessionsPerMinute: z.number().positive().optional(),
  /** Most admitted browser sessions active at once; more arrivals wait. */
  maxActiveSessions: z.int().min(1).optional(),
  /** How long an API request or websocket upgrade is held in memory before it gets 503 with its ticket. */
  hold: z
    .strictObject({
      apiMs: timerMs(0).default(8_000),
      websocketMs: timerMs(0).default(5_000),
    })
    .prefault({}),
  /** Lifetime of an admission session cookie; renewed on activity. */
  sessionTtlS: z.int().min(10).default(600),
  /** How long a ticket stays valid; it must outlast the longest wait. */
  ticketTtlS: z.int().min(60).default(6 * 3600),
  /** A waiter not heard from for this long (no poll, no retry) is passed over; back within it, the place is kept. */
  graceS: z.int().min(5).default(30),
  /** Most people waiting per tenant; beyond it, 503 "queue full". */
  maxPerTenant: z.int().min(1).default(100_000),
  /** Most people waiting in total (tenant ids come from requests, so their number is not bounded otherwise). */
  maxTotal: z.int().min(1).default(1_000_000),
  /** Weighted fair admission across tenants; unlisted tenants weigh 1. */
  weights: z.record(z.string(), z.number().positive()).default({}),
  /** Guaranteed minimum share of admissions for the lower classes while they have waiters (0..0.5). */
  minShares: z
    .strictObject({
      normal: z.number().min(0).max(0.5).default(0.1),
      bulk: z.number().min(0).max(0.5).default(0.05),
    })
    .prefault({}),
  /** Text shown on the waiting page: `default` for everyone, or per tenant id. Plain text. */
  messages: z.record(z.string(), z.string().max(1000)).default({}),
  /** An operator-supplied waiting page; the variables are listed in README.md ("Waiting page"). */
  page: z.strictObject({ template: z.string().min(1).optional() }).prefault({}),
  cookies: z
    .strictObject({
      session: z.string().regex(/^[A-Za-z0-9_-]+$/).default('anteroom_session'),
      ticket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('anteroom_ticket'),
      /** Mark cookies `Secure` (set when clients reach anteroom over HTTPS through a terminating proxy). */
      secure: z.boolean().default(false),
    })
    .prefault({}),
});

export type RoomConfig = z.output<typeof roomSchema>;

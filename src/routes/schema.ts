/**
 * The `routes` section: an ordered list of rules; the first rule whose conditions all hold decides the
 * request's class, cost, bypass, upstream and per-route limits. A rule without conditions matches
 * everything. Patterns are checked here, at load, so that a rule that could never compile is a
 * config error instead of a request-time surprise.
 */
import { z } from 'zod';
import { rateSchema } from '../limits/rate.js';
import { globProblem } from './glob.js';
import { headerRegExp } from './headerCondition.js';

export const ROUTE_CLASSES = ['critical', 'normal', 'bulk'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

/** Route names become metric labels and appear in logs. `default` names the fallback route. */
const routeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'expected a name of letters, digits, _ . : - (at most 64)')
  .refine((n) => n !== 'default', 'the name "default" is reserved for requests no rule matches');

const hostCondition = z
  .string()
  .transform((h) => h.toLowerCase().replace(/\.$/, ''))
  .refine((h) => /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(h), 'expected a host like example.com or *.example.com');

const method = z
  .string()
  .regex(/^[A-Za-z]+$/, 'expected an HTTP method like GET')
  .transform((m) => m.toUpperCase());

const pathGlob = z.string().superRefine((glob, ctx) => {
  const problem = globProblem(glob);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: glob });
});

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name');

/** `exact value`, or `/regex/flags` with flags from i, m, s, u. */
const headerValue = z.string().superRefine((value, ctx) => {
  const re = headerRegExp(value);
  if (typeof re === 'string') ctx.addIssue({ code: 'custom', message: re, input: value });
});

export const routeLimitsSchema = z.strictObject({
  /** Per-client rate on this route, like `20/s`; the output is tokens per second. */
  rate: rateSchema.optional(),
  burst: z.int().min(1).optional(),
  /** Most requests of this route in flight at once. */
  concurrency: z.int().min(1).optional(),
});

export const routeSchema = z.strictObject({
  /** Shown in logs, metrics and `anteroom check`; default `routes[<index>]`. */
  name: routeName.optional(),
  /** Exact host, or `*.example.com` for any subdomain at any depth (not the apex). Case-insensitive. */
  host: hostCondition.optional(),
  /** Matches when the request method is one of these; unset: any method. */
  methods: z.array(method).min(1).optional(),
  /** Path glob: `*` one segment, `**` any depth. Unset: any path. */
  path: pathGlob.optional(),
  /** Header name -> exact value or `/regex/flags`. All must match; a missing header never matches. */
  headers: z.record(headerName, headerValue).optional(),
  class: z.enum(ROUTE_CLASSES).default('normal'),
  /** Tokens one request takes from the rate-limit buckets. 0: not rate limited, still admitted. */
  cost: z.int().min(0).max(10_000).default(1),
  /** Send straight upstream, skipping rate limits and the waiting room. */
  bypass: z.boolean().default(false),
  /**
   * Responses that wait for events (long polls): admitted as usual, but left out of the latency and
   * error-rate signals, whose job is to tell how fast the upstream answers.
   */
  longPoll: z.boolean().default(false),
  /** The upstream for this route; default: the config's default upstream. */
  upstream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected an upstream name').optional(),
  limits: routeLimitsSchema.optional(),
});

export const routesSchema = z
  .array(routeSchema)
  .default([])
  .superRefine((routes, ctx) => {
    const seen = new Map<string, number>();
    routes.forEach((r, i) => {
      if (r.name === undefined) return;
      const first = seen.get(r.name);
      if (first === undefined) seen.set(r.name, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'name'], input: r.name, message: `routes[${first}] already has this name` });
    });
  });

export type RouteConfig = z.output<typeof routeSchema>;
export type RouteLimits = z.output<typeof routeLimitsSchema>;

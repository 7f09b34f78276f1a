/**
 * The soak's clients (soak.ts): the load harness's own (clients.ts) in the mix of a site's day, and an
 * HTTP client that classifies every answer they get.
 *
 * - Browsers arrive at BROWSER_RATE from USERS people of three tenants and follow the waiting room.
 * - API calls arrive at API_RATE from API_KEYS keys, honour Retry-After and keep their tickets.
 * - One tenant's job runner: JOB_WORKERS workers sharing one key on a bulk route, past its client bucket.
 * - WEBSOCKETS websockets stay open and reconnect whenever they are closed or refused.
 *
 * Every answer is one of: served (proxied), waited (the waiting page or a 503 with a ticket: a place
 * in line), refused (429 or 503 with Retry-After), a status poll, cut short by the client's own
 * patience, or lost: no answer, or an answer that is none of those.
 */
import { apiCall, browserVisit, closedLoop, poissonArrivals, Recorder, waitingPageData, WsClient, type Rng, type Visit } from './clients.js';
import { headerValue, HttpClient, type Answer, type RequestOptions } from './http.js';

/** Requests a second the origin of the soak can serve (see soak.ts). */
export const WORKERS = 10;
export const SERVICE_MS = 50;
export const CAPACITY = (WORKERS * 1000) / SERVICE_MS;
export const TENANTS = ['acme', 'globex', 'initech'] as const;
export type Tenant = (typeof TENANTS)[number];
/** Arrivals a second: browsers + API calls + the job runner (about 10/s, its client bucket) = about half of CAPACITY. */
const BROWSER_RATE = 0.22 * CAPACITY;
const API_RATE = 0.2 * CAPACITY;
const JOB_WORKERS = 2;
export const WEBSOCKETS = 24;
/**
 * The population: enough people and keys that the visits piling up while a tenant is paused or in
 * maintenance for minutes stay within each one's client bucket when they come back (a few keys with
 * hundreds of calls each would refuse themselves with 429s and retry in a loop: not what this measures).
 */
const USERS = 3_000;
const API_KEYS = 300;
/** A client's own timeout for one request: far above anything anteroom holds a request for. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How long a person or program keeps at one visit (the run's end may cut it shorter). */
const PATIENCE_MS = 300_000;

/** Visits by label (browser, api, jobs) and how they ended. */
export type VisitCounts = Record<string, { ok: number; gaveUp: number; error: number; cutByEnd: number }>;

/** What every answer was, counted as the clients get them. */
export class Tally {
  served = 0;
  waited = 0;
  refused = 0;
  polls = 0;
  /** Requests the client itself cut short because its patience ran out (not the proxy's doing). */
  clientGaveUp = 0;
  lost = 0;
  readonly byStatus: Record<string, number> = {};
  readonly lostExamples: { t: number; path: string; status: number; error?: string; body: string }[] = [];

  count(path: string, o: RequestOptions, a: Answer): void {
    const key = a.status === 0 ? `no answer (${a.error ?? 'error'})` : String(a.status);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    const kind = classify(path, o, a);
    this[kind]++;
    if (kind === 'lost' && this.lostExamples.length < 20) {
      this.lostExamples.push({ t: Date.now(), path, status: a.status, ...(a.error === undefined ? {} : { error: a.error }), body: a.body.slice(0, 300) });
    }
  }
}

type Kind = 'served' | 'waited' | 'refused' | 'polls' | 'clientGaveUp' | 'lost';

/** Every request ends in a proxied response, a place in line, or a refusal that says when to come back. */
export function classify(path: string, o: RequestOptions, a: Answer): Kind {
  if (a.status === 0) return o.timeoutMs < REQUEST_TIMEOUT_MS && /TIMEOUT/i.test(a.error ?? '') ? 'clientGaveUp' : 'lost';
  const retryAfter = headerValue(a.headers, 'retry-after') !== undefined;
  if (path.startsWith('/__anteroom/status')) return a.status === 200 ? 'polls' : (a.status === 429 || a.status === 503) && retryAfter ? 'refused' : 'lost';
  if (a.status >= 200 && a.status < 300) return 'served';
  if (a.status === 503 && (waitingPageData(a) !== null || headerValue(a.headers, 'anteroom-ticket') !== undefined)) return 'waited';
  if ((a.status === 429 || a.status === 503) && retryAfter) return 'refused';
  return 'lost';
}

/**
 * The harness's HTTP client, counting every answer. Its connect timeout is the request timeout: a SYN
 * that the kernel drops when the proxy's accept queue is full is sent again (after 1 s, then 3 s) as
 * by any TCP client, and is slow rather than lost; a browser waits far longer for a connection.
 */
class CountingClient extends HttpClient {
  constructor(
    base: string,
    private readonly tally: Tally,
  ) {
    super(base, 6_000, REQUEST_TIMEOUT_MS);
  }

  override async request(path: string, o: RequestOptions): Promise<Answer> {
    const a = await super.request(path, o);
    this.tally.count(path, o, a);
    return a;
  }
}

/** The traffic of one phase (priming or the soak), until `stop()`; `drain()` then waits for the visits still going. */
export class Traffic {
  readonly rec = new Recorder();
  readonly http: CountingClient;
  private readonly pending = new Set<Promise<Visit>>();
  private readonly ws: WsClient[] = [];
  private stopped = false;
  private arrivals: Promise<unknown> = Promise.resolve();
  readonly visits: VisitCounts = {};
  readonly wsOutcomes: Record<string, number> = {};

  /** `endBy` (epoch ms): every visit ends by then, however patient (the arrivals stop earlier, see `stop`). */
  constructor(
    private readonly base: string,
    tally: Tally,
    private readonly rng: Rng,
    private readonly endBy: number,
  ) {
    this.http = new CountingClient(base, tally);
  }

  start(): void {
    const until = Number.MAX_SAFE_INTEGER;
    const wsBase = this.base.replace(/^http/, 'ws');
    for (let i = 0; i < WEBSOCKETS; i++) {
      const tenant = TENANTS[i % TENANTS.length]!;
      const c = new WsClient(
        { url: `${wsBase}/ws/feed`, id: `w${i}`, tenant, baseMs: 500, capMs: 10_000, maxAttempts: Number.MAX_SAFE_INTEGER, until, handshakeTimeoutMs: REQUEST_TIMEOUT_MS },
        this.rec,
        this.rng,
      );
      c.start(this.rng() * 1_000);
      this.ws.push(c);
    }
    let seq = 0;
    const budget = (): number => Math.max(1, Math.min(PATIENCE_MS, this.endBy - Date.now()));
    const track = (p: Promise<Visit>): void => {
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    };
    const browsers = this.forever(BROWSER_RATE, () => {
      const user = Math.floor(this.rng() * USERS);
      const tenant = TENANTS[user % TENANTS.length]!;
      const path = `/app/home?v=${seq++}`;
      track(browserVisit(this.http, this.rec, { id: `u${user}`, tenant, path, label: 'browser', patienceMs: budget(), maxAttempts: 30, reloadMs: [1_000, 4_000], timeoutMs: REQUEST_TIMEOUT_MS }, this.rng));
    });
    const api = this.forever(API_RATE, () => {
      const key = Math.floor(this.rng() * API_KEYS);
      const tenant = TENANTS[key % TENANTS.length]!;
      track(apiCall(this.http, this.rec, { id: `k${key}`, tenant, path: `/api/items/${seq++ % 100}`, label: 'api', maxAttempts: 100, budgetMs: budget(), timeoutMs: REQUEST_TIMEOUT_MS }, this.rng));
    });
    // One tenant's job runner: a few workers sharing one key, going past the client bucket.
    const jobs = closedLoop(JOB_WORKERS, () => !this.stopped, 20, this.rng, async () => {
      const p = apiCall(this.http, this.rec, { id: 'jobs-runner', tenant: 'initech', path: '/api/jobs/run', method: 'POST', label: 'jobs', maxAttempts: 100, budgetMs: budget(), timeoutMs: REQUEST_TIMEOUT_MS }, this.rng);
      track(p);
      await p;
    });
    this.arrivals = Promise.all([browsers, api, jobs]);
  }

  /** Arrivals in 1 s slices until stopped (poissonArrivals runs for a fixed time). */
  private async forever(rate: number, launch: () => void): Promise<void> {
    while (!this.stopped) await poissonArrivals(rate, 1_000, this.rng, () => !this.stopped && launch());
  }

  /** Visits and websocket attempts so far, folded into counts (the recorder's lists are emptied). */
  collect(): void {
    for (const v of this.rec.visits.splice(0)) {
      const e = (this.visits[v.label] ??= { ok: 0, gaveUp: 0, error: 0, cutByEnd: 0 });
      if (v.ok) e.ok++;
      else if (v.outcome === 'error') e.error++;
      else if (v.start + PATIENCE_MS > this.endBy) e.cutByEnd++;
      else e.gaveUp++;
    }
    for (const a of this.rec.wsAttempts.splice(0)) this.wsOutcomes[a.outcome] = (this.wsOutcomes[a.outcome] ?? 0) + 1;
  }

  /** Stops new arrivals (visits still going end by `endBy`). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for the arrival loops and every visit, closes the websockets and the client's connections. */
  async drain(): Promise<{ openAtEnd: number }> {
    await this.arrivals;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    const openAtEnd = this.rec.wsConnected;
    for (const c of this.ws) c.stop();
    this.collect();
    await this.http.close();
    return { openAtEnd };
  }
}


/**
 * The scenario clients, each bounded in attempts and time so a run always ends by itself:
 *
 * - a browser that follows the waiting room as its page script does (waiting page -> status polls at
 *   the interval the server chooses, with the page's own jitter -> the original URL once admitted);
 *   shown an error page instead (429, 502, 503 without a room), its user reloads after a few seconds;
 * - an API client that honours Retry-After and presents the ticket it was given (`Anteroom-Ticket`);
 *   without Retry-After it backs off exponentially;
 * - a websocket client with an aggressive reconnect loop, as in incident 000: short exponential
 *   backoff with jitter, reconnecting whatever the server said.
 *
 * Every request carries `x-load-client: <id>` so the origin can tell which visit reached it and when.
 */
import WebSocket from 'ws';
import { nextPollDelay } from '../../src/room/page/format.js';
import { CookieJar, headerValue, retryAfterMs, type Answer, type HttpClient } from './http.js';

export type Rng = () => number;

/** A seeded PRNG (mulberry32): the same seed gives the same arrivals, so runs are comparable. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** One visit (a browser page view or an API call) from first attempt to its end. */
export interface Visit {
  id: string;
  tenant: string;
  /** Route class or label, for grouping figures. */
  label: string;
  kind: 'browser' | 'api';
  start: number;
  end: number;
  ok: boolean;
  /** Last HTTP status (0: no answer). */
  status: number;
  /** Requests for the resource itself (not counting status polls). */
  attempts: number;
  /** Status polls (waiting room). */
  polls: number;
  /** Answers that were not the resource: 429/5xx, waiting pages, held-then-503. */
  refusals: number;
  /** How the visit ended when not ok: `gave-up` (patience or attempts ran out), `error` (a 4xx). */
  outcome: 'ok' | 'gave-up' | 'error';
}

/** One websocket connection attempt. */
export interface WsAttempt {
  t: number;
  client: string;
  /** connected: the origin's hello arrived; refused-1013: closed 1013 before any hello; http-NNN: refused handshake; failed: anything else. */
  outcome: string;
}

export class Recorder {
  readonly visits: Visit[] = [];
  readonly wsAttempts: WsAttempt[] = [];
  /** Websockets connected to the origin now (hello received, not closed). */
  wsConnected = 0;
  readonly wsConnectedSeries: { t: number[]; v: number[] } = { t: [], v: [] };
  /** Visits started and not finished, sampled every 100 ms (clients waiting, by any proxy's means). */
  active = 0;
  readonly activeSeries: { t: number[]; v: number[] } = { t: [], v: [] };
  private timer: NodeJS.Timeout | null = null;

  startSampling(): void {
    this.timer = setInterval(() => {
      const t = Date.now();
      this.wsConnectedSeries.t.push(t);
      this.wsConnectedSeries.v.push(this.wsConnected);
      this.activeSeries.t.push(t);
      this.activeSeries.v.push(this.active);
    }, 100);
  }

  stopSampling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const HTML_ACCEPT = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';

export interface BrowserOptions {
  id: string;
  tenant: string;
  path: string;
  label: string;
  /** How long the person keeps trying before leaving. */
  patienceMs: number;
  /** Reloads of an error page before leaving. */
  maxAttempts: number;
  /** A person looking at an error page reloads after this long (uniform between the two). */
  reloadMs: [number, number];
  timeoutMs: number;
}

interface WaitingData {
  ticket: string;
  statusPath: string;
  originalUrl: string;
  pollAfterMs: number;
}

/** The waiting page's data block, as its script reads it; null when the answer is no waiting page. */
export function waitingPageData(a: Answer): WaitingData | null {
  if (a.status !== 503) return null;
  const m = /<script type="application\/json" id="anteroom-data">([\s\S]*?)<\/script>/.exec(a.body);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as WaitingData;
  } catch {
    return null;
  }
}

/** A person opening `path` in a browser, following the waiting room if there is one. */
export async function browserVisit(http: HttpClient, rec: Recorder, o: BrowserOptions, rng: Rng): Promise<Visit> {
  const jar = new CookieJar();
  jar.set('session_id', o.id);
  jar.set('tenant', o.tenant);
  const v: Visit = { id: o.id, tenant: o.tenant, label: o.label, kind: 'browser', start: Date.now(), end: 0, ok: false, status: 0, attempts: 0, polls: 0, refusals: 0, outcome: 'gave-up' };
  const deadline = v.start + o.patienceMs;
  rec.active++;
  const get = async (path: string, accept: string): Promise<Answer> => {
    const a = await http.request(path, {
      headers: { accept, 'accept-language': 'en', cookie: jar.header(), 'x-load-client': o.id },
      timeoutMs: Math.min(o.timeoutMs, Math.max(1, deadline - Date.now())),
    });
    jar.absorb(a.headers['set-cookie']);
    return a;
  };
  let path = o.path;
  try {
    while (Date.now() < deadline && v.attempts < o.maxAttempts) {
      v.attempts++;
      const a = await get(path, HTML_ACCEPT);
      v.status = a.status;
      if (a.status >= 200 && a.status < 300) {
        v.ok = true;
        v.outcome = 'ok';
        return v;
      }
      v.refusals++;
      const room = waitingPageData(a);
      if (room === null) {
        await sleep(Math.min(deadline - Date.now(), o.reloadMs[0] + rng() * (o.reloadMs[1] - o.reloadMs[0])));
        continue;
      }
      path = room.originalUrl;
      const admitted = await followRoom(room, get, v, deadline, rng);
      // Not admitted: the place was lost (the page says so); the person reloads.
      if (!admitted) await sleep(Math.min(deadline - Date.now(), o.reloadMs[0] + rng() * (o.reloadMs[1] - o.reloadMs[0])));
    }
    return v;
  } finally {
    v.end = Date.now();
    rec.active--;
    rec.visits.push(v);
  }
}

/** The waiting page's script: polls until admitted (true), or the place is lost or patience ends (false). */
async function followRoom(room: WaitingData, get: (path: string, accept: string) => Promise<Answer>, v: Visit, deadline: number, rng: Rng): Promise<boolean> {
  let pollAfterMs = room.pollAfterMs;
  let ticket = room.ticket;
  let failures = 0;
  let atLeastMs = 0;
  for (;;) {
    await sleep(Math.min(deadline - Date.now(), Math.max(nextPollDelay(pollAfterMs, failures, rng()), atLeastMs)));
    if (Date.now() >= deadline) return false;
    const sep = room.statusPath.includes('?') ? '&' : '?';
    const a = await get(`${room.statusPath}${sep}ticket=${encodeURIComponent(ticket)}`, 'application/json');
    v.polls++;
    if (a.status !== 200) {
      failures++;
      atLeastMs = retryAfterMs(a.headers) ?? 0;
      continue;
    }
    failures = 0;
    atLeastMs = 0;
    let st: { state?: string; pollAfterMs?: number; ticket?: string };
    try {
      st = JSON.parse(a.body) as typeof st;
    } catch {
      failures++;
      continue;
    }
    if (typeof st.pollAfterMs === 'number') pollAfterMs = st.pollAfterMs;
    if (typeof st.ticket === 'string' && st.ticket !== '') ticket = st.ticket;
    if (st.state === 'admitted') return true;
    if (st.state !== 'waiting' && st.state !== 'full' && st.state !== 'maintenance') return false;
  }
}

export interface ApiOptions {
  id: string;
  tenant: string;
  path: string;
  method?: string;
  label: string;
  maxAttempts: number;
  /** The caller stops trying after this long. */
  budgetMs: number;
  timeoutMs: number;
}

/** A program calling an API: honours Retry-After, keeps its place with the ticket it was given. */
export async function apiCall(http: HttpClient, rec: Recorder, o: ApiOptions, rng: Rng): Promise<Visit> {
  const v: Visit = { id: o.id, tenant: o.tenant, label: o.label, kind: 'api', start: Date.now(), end: 0, ok: false, status: 0, attempts: 0, polls: 0, refusals: 0, outcome: 'gave-up' };
  const deadline = v.start + o.budgetMs;
  let ticket: string | undefined;
  let failures = 0;
  rec.active++;
  try {
    while (Date.now() < deadline && v.attempts < o.maxAttempts) {
      v.attempts++;
      const headers: Record<string, string> = { accept: 'application/json', 'x-tenant-id': o.tenant, 'x-api-key': o.id, 'x-load-client': o.id };
      if (ticket !== undefined) headers['anteroom-ticket'] = ticket;
      const a = await http.request(o.path, { method: o.method ?? 'GET', headers, timeoutMs: Math.min(o.timeoutMs, Math.max(1, deadline - Date.now())) });
      v.status = a.status;
      if (a.status >= 200 && a.status < 300) {
        v.ok = true;
        v.outcome = 'ok';
        return v;
      }
      if (a.status >= 400 && a.status < 500 && a.status !== 429 && a.status !== 408) {
        v.outcome = 'error';
        return v;
      }
      v.refusals++;
      ticket = headerValue(a.headers, 'anteroom-ticket') ?? ticket;
      const told = retryAfterMs(a.headers);
      failures++;
      const backoff = Math.min(8_000, 250 * 2 ** Math.min(failures - 1, 10)) * (0.5 + 0.5 * rng());
      await sleep(Math.min(deadline - Date.now(), told ?? backoff));
    }
    return v;
  } finally {
    v.end = Date.now();
    rec.active--;
    rec.visits.push(v);
  }
}

export interface WsOptions {
  url: string;
  id: string;
  tenant: string;
  /** Reconnect delay: min(capMs, baseMs * 2^failures), minus up to half of it at random. */
  baseMs: number;
  capMs: number;
  maxAttempts: number;
  /** No attempt starts after this time (epoch ms). */
  until: number;
  handshakeTimeoutMs: number;
}

/** A websocket client that reconnects whenever its connection ends, whatever the server said. */
export class WsClient {
  attempts = 0;
  private failures = 0;
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  connected = false;

  constructor(
    private readonly o: WsOptions,
    private readonly rec: Recorder,
    private readonly rng: Rng,
  ) {}

  start(delayMs = 0): void {
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped || this.attempts >= this.o.maxAttempts || Date.now() >= this.o.until) return;
    this.attempts++;
    let outcome = 'failed';
    const ws = new WebSocket(this.o.url, {
      headers: { cookie: `session_id=${this.o.id}; tenant=${this.o.tenant}`, 'x-load-client': this.o.id },
      handshakeTimeout: this.o.handshakeTimeoutMs,
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('message', () => {
      if (this.connected) return;
      this.connected = true;
      this.failures = 0;
      this.rec.wsConnected++;
      this.rec.wsAttempts.push({ t: Date.now(), client: this.o.id, outcome: 'connected' });
    });
    ws.on('error', (err: Error) => {
      const m = /Unexpected server response: (\d+)/.exec(err.message);
      if (m) outcome = `http-${m[1]}`;
      else if (/timed out/i.test(err.message)) outcome = 'timeout';
    });
    ws.on('close', (code: number) => {
      this.ws = null;
      if (this.connected) {
        this.connected = false;
        this.rec.wsConnected--;
      } else {
        this.rec.wsAttempts.push({ t: Date.now(), client: this.o.id, outcome: code === 1013 ? 'refused-1013' : outcome });
        this.failures++;
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = Math.min(this.o.capMs, this.o.baseMs * 2 ** Math.min(this.failures, 20));
    this.timer = setTimeout(() => this.connect(), delay * (1 - 0.5 * this.rng()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ws) {
      this.ws.removeAllListeners('close');
      this.ws.on('error', () => undefined);
      this.ws.terminate();
      if (this.connected) this.rec.wsConnected--;
      this.connected = false;
    }
  }
}

/**
 * Calls `launch(i, t)` for arrivals of a Poisson process at `ratePerS` from now for `durationMs`
 * (without waiting for what it launches), and resolves once the last one has been launched.
 */
export async function poissonArrivals(ratePerS: number, durationMs: number, rng: Rng, launch: (i: number) => void): Promise<number> {
  const start = Date.now();
  let next = start;
  let i = 0;
  if (ratePerS <= 0) {
    await sleep(durationMs);
    return 0;
  }
  for (;;) {
    next += (-Math.log(1 - rng()) / ratePerS) * 1000;
    if (next >= start + durationMs) break;
    const wait = next - Date.now();
    if (wait > 4) await sleep(wait);
    launch(i++);
  }
  await sleep(start + durationMs - Date.now());
  return i;
}

/**
 * `workers` loops, each running `task` again `thinkMs` after the last one ended, until `until` (epoch
 * ms, or a function that says whether to go on): a job runner with a fixed number of workers, whose
 * demand backs off by itself when its calls are held or refused (a closed loop), as background
 * automation does.
 */
export async function closedLoop(workers: number, until: number | (() => boolean), thinkMs: number, rng: Rng, task: () => Promise<unknown>): Promise<void> {
  const going = typeof until === 'number' ? () => Date.now() < until : until;
  const one = async (): Promise<void> => {
    await sleep(rng() * thinkMs);
    while (going()) {
      await task();
      await sleep(thinkMs * (0.5 + rng()));
    }
  };
  await Promise.all(Array.from({ length: workers }, one));
}

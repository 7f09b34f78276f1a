/**
 * Polls one number from an outside system (a database's connection count, an application's pool
 * stats) over ONE long-lived connection, at an interval, each poll bounded by a timeout. Whatever
 * goes wrong (refused connection, bad credentials, a hung query, the server restarting) makes the
 * signal `unknown` with the reason in its detail and schedules a reconnect with backoff; it never
 * throws into the proxy. A reading older than `staleAfterMs` is unknown too: a number from a minute
 * ago says nothing about the database now.
 *
 * The protocol lives in a `PollDriver` (PostgreSQL, MySQL/MariaDB, PgBouncer, HTTP JSON); this class
 * owns the schedule, the timeout, the reconnects and the signal.
 */
import { Backoff } from './backoff.js';
import { makeSignal, unknownSignal, type Signal, type SignalSource } from './signal.js';
import { describeThreshold, resolveThreshold, type Threshold } from './threshold.js';

export interface PollReading {
  value: number;
  /** What a percentage threshold is a percentage of (e.g. max_connections); null when none. */
  capacity: number | null;
  detail: string;
}

export interface PollDriver {
  /** For details and logs: the kind and a target with any password removed. */
  readonly description: string;
  /** Whether the connection is open and usable; false after an error or close. */
  isOpen(): boolean;
  /** Opens the connection; rejects on failure. Called only when not open. */
  connect(timeoutMs: number): Promise<void>;
  /** One reading over the open connection. */
  poll(timeoutMs: number): Promise<PollReading>;
  /** Closes (or destroys) the connection; never rejects. */
  close(): Promise<void>;
}

export interface PollerOptions {
  everyMs: number;
  timeoutMs: number;
  /** A reading older than this is unknown. Default: 3 intervals plus a timeout. */
  staleAfterMs?: number;
  engage: Threshold | null;
  shed?: Threshold | null;
  backoff?: Backoff;
  now?: () => number;
  /** Told about each failure (for a log line); the poller itself never logs. */
  onError?: (err: Error, name: string) => void;
}

export class Poller implements SignalSource {
  readonly name: string;
  private readonly driver: PollDriver;
  private readonly opts: PollerOptions;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  private last: PollReading | null = null;
  private lastAt: number | null = null;
  private lastError: string | null = null;
  private inflight: Promise<Signal> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Polls done and failed, for status. */
  polls = 0;
  failures = 0;

  constructor(name: string, driver: PollDriver, opts: PollerOptions) {
    this.name = name;
    this.driver = driver;
    this.opts = opts;
    this.backoff = opts.backoff ?? new Backoff({ minMs: Math.min(opts.everyMs, 1_000), maxMs: Math.max(opts.everyMs, 30_000) });
    this.now = opts.now ?? Date.now;
    this.staleAfterMs = opts.staleAfterMs ?? 3 * opts.everyMs + opts.timeoutMs;
  }

  /** Polls now, then every `everyMs` (or after a backoff delay following a failure). */
  start(): void {
    if (this.closed || this.timer !== null) return;
    this.schedule(0);
  }

  /** One poll: connects first if needed. Concurrent calls share the poll in progress. */
  pollOnce(): Promise<Signal> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  read(now: number): Signal {
    const engage = this.opts.engage;
    const shed = this.opts.shed ?? null;
    const capacity = this.last?.capacity ?? null;
    const threshold = resolveThreshold(engage, capacity);
    const shedThreshold = resolveThreshold(shed, capacity);
    if (this.lastError !== null) return unknownSignal(this.name, threshold, this.lastAt, `${this.driver.description}: ${this.lastError}`, shedThreshold);
    if (this.last === null || this.lastAt === null) return unknownSignal(this.name, threshold, null, `${this.driver.description}: not polled yet`, shedThreshold);
    const age = now - this.lastAt;
    if (age > this.staleAfterMs) return unknownSignal(this.name, threshold, this.lastAt, `${this.driver.description}: last reading ${Math.round(age)} ms old`, shedThreshold);
    const unresolved = engage !== null && threshold === null ? `; threshold ${describeThreshold(engage)} unresolved (capacity unknown)` : '';
    return makeSignal(this.name, this.last.value, threshold, this.lastAt, this.last.detail + unresolved, shedThreshold);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inflight?.catch(() => undefined);
    await this.driver.close();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pollOnce().then(() => this.schedule(this.lastError === null ? this.opts.everyMs : this.backoff.next()));
    }, delayMs);
    // Polling must never keep a process alive on its own (the CLI's check, a test's teardown).
    this.timer.unref();
  }

  private async run(): Promise<Signal> {
    const { timeoutMs } = this.opts;
    this.polls++;
    try {
      if (!this.driver.isOpen()) await withTimeout(this.driver.connect(timeoutMs), timeoutMs, 'connect');
      const reading = await withTimeout(this.driver.poll(timeoutMs), timeoutMs, 'poll');
      if (this.closed) return this.read(this.now());
      this.last = reading;
      this.lastAt = this.now();
      this.lastError = null;
      this.backoff.reset();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.failures++;
      this.lastError = e.message;
      // After a timeout or an error the connection's state is unknown (a query may still be running
      // on it): start over on a fresh one rather than queue behind it.
      await this.driver.close();
      if (!this.closed) this.opts.onError?.(e, this.name);
    }
    return this.read(this.now());
  }
}

class TimeoutError extends Error {}

/** Rejects after `ms` if `p` has not settled; `p`'s own late rejection is swallowed. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An active health probe: GET a path on the upstream at an interval, over one kept-alive connection,
 * so latency and health are known when no traffic flows (at night, or while everyone waits in the
 * room and nothing is forwarded). Each result is handed to `onResult`, which feeds the latency and
 * error windows: a failed probe counts as a failure and as a latency of `timeoutMs`, the worst it
 * could have been.
 *
 * The probe's own signal is its count of consecutive failures, over its threshold once the upstream
 * is down (`failuresToDown` in a row). The first success after that calls `onRecover`, which starts
 * a slow-start ramp (incident 004: what piled up while the upstream was down must not all go at once).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { makeSignal, type Signal, type SignalSource } from './signal.js';

export interface ProbeOptions {
  /** Upstream origin (path ignored) and the health path. */
  url: string;
  path: string;
  everyMs: number;
  timeoutMs: number;
  /** Consecutive failures after which the upstream is down. */
  failuresToDown?: number;
  /** Success is a status in 200..399. */
  onResult?: (latencyMs: number, ok: boolean) => void;
  onRecover?: () => void;
  now?: () => number;
  /** Monotonic clock for measuring a probe's duration. */
  monotonic?: () => number;
}

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  /** `200 OK`-like, or the error. */
  outcome: string;
}

export class Probe implements SignalSource {
  readonly name = 'probe';
  private readonly opts: ProbeOptions;
  private readonly failuresToDown: number;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly pool: Pool;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<ProbeResult> | null = null;
  private closed = false;
  private consecutiveFailures = 0;
  private lastAt: number | null = null;
  private last: ProbeResult | null = null;
  /** Whether the upstream is up: null until the first probe answers. */
  up: boolean | null = null;

  constructor(opts: ProbeOptions) {
    this.opts = opts;
    this.failuresToDown = opts.failuresToDown ?? 3;
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.pool = new Pool(new URL(opts.url).origin, { connections: 1, pipelining: 1, connect: { timeout: opts.timeoutMs } });
  }

  start(): void {
    if (this.closed || this.timer !== null) return;
    this.schedule(0);
  }

  /** One probe now; concurrent calls share it. */
  probeOnce(): Promise<ProbeResult> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  read(now: number): Signal {
    const threshold = this.failuresToDown - 1;
    const path = this.opts.path;
    if (this.last === null) return makeSignal(this.name, null, threshold, null, `GET ${path}: not probed yet`);
    // A probe result older than a few intervals means the probing itself stopped: do not trust it.
    if (now - this.lastAt! > 3 * this.opts.everyMs + this.opts.timeoutMs) return makeSignal(this.name, null, threshold, this.lastAt, `GET ${path}: last probe ${Math.round(now - this.lastAt!)} ms ago`);
    const health = this.up === false ? 'down' : 'up';
    return makeSignal(
      this.name,
      this.consecutiveFailures,
      threshold,
      this.lastAt,
      `GET ${path}: ${this.last.outcome} in ${Math.round(this.last.latencyMs)} ms; ${this.consecutiveFailures} failures in a row; ${health}`,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inflight?.catch(() => undefined);
    await this.pool.destroy().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.probeOnce().then(() => this.schedule(this.opts.everyMs));
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<ProbeResult> {
    const { timeoutMs, path } = this.opts;
    const started = this.monotonic();
    let result: ProbeResult;
    try {
      const res = await this.pool.request({
        method: 'GET',
        path,
        headers: { 'user-agent': 'anteroom-probe' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // Bounds the whole exchange, connect included; once a second, so the allocation is no concern.
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      result = { ok, latencyMs: ok ? this.monotonic() - started : timeoutMs, outcome: `status ${res.statusCode}` };
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason = e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' ? `timed out after ${timeoutMs} ms` : (e.code ?? e.message);
      result = { ok: false, latencyMs: timeoutMs, outcome: `failed (${reason})` };
    }
    if (this.closed) return result;
    this.record(result);
    return result;
  }

  private record(result: ProbeResult): void {
    this.last = result;
    this.lastAt = this.now();
    this.opts.onResult?.(result.latencyMs, result.ok);
    if (result.ok) {
      this.consecutiveFailures = 0;
      const wasDown = this.up === false;
      this.up = true;
      if (wasDown) this.opts.onRecover?.();
    } else {
      this.consecutiveFailures++;
      if (this.consecutiveFailures >= this.failuresToDown) this.up = false;
    }
  }
}

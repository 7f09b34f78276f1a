/**
 * The Prometheus metrics of a running anteroom, served by the admin listener as `GET /metrics`.
 *
 * Nothing here runs per request: the request path records into plain numbers (requestStats.ts), the
 * parts keep their own counters and state (room, gate, websockets, store, controllers), and a scrape
 * reads all of it into one prom-client Registry, along with prom-client's process metrics (CPU,
 * memory, event-loop lag, GC, file descriptors). Every metric is listed in README.md ("Metrics").
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Runtime } from '../runtime.js';
import { ControllerMetrics } from './controllerMetrics.js';
import { requestMetrics } from './requestMetrics.js';
import { stateMetrics } from './stateMetrics.js';

export interface MetricsOptions {
  /**
   * prom-client's process metrics (default true). They start an event-loop monitor that lives as long
   * as the process, so make one Metrics with them per process.
   */
  processMetrics?: boolean;
  /** ms since the epoch on the controllers' clock, for the signals' ages (default Date.now). */
  now?: () => number;
}

export class Metrics {
  /** `Content-Type` of what `render` returns: the Prometheus text format, version 0.0.4. */
  readonly contentType: string;
  /** The registry behind `render`; read it through `render`, which also prepares each scrape. */
  readonly registry = new Registry();
  private readonly rt: Runtime;
  private readonly controllers: ControllerMetrics;

  constructor(rt: Runtime, options: MetricsOptions = {}) {
    this.rt = rt;
    this.contentType = this.registry.contentType;
    this.controllers = new ControllerMetrics(() => rt.controllers, options.now ?? Date.now);
    for (const m of [...requestMetrics(rt.stats), ...stateMetrics(rt), ...this.controllers.metrics()]) m.register(this.registry);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Every metric in the Prometheus text format. */
  async render(): Promise<string> {
    // Who has a tenant label of their own is revised here (with the configured bound, which a reload may change).
    this.rt.stats.tenants.rebalance(this.rt.config.metrics.tenants);
    this.controllers.refresh();
    return this.registry.metrics();
  }
}

/**
 * A metric whose samples are produced when it is scraped, registered in a prom-client Registry next to
 * prom-client's own metrics (the process metrics), which renders all of them in the text format.
 *
 * Why not prom-client's Counter and Histogram: their `inc()` and `observe()` hash the label set on
 * every call, and the request path cannot afford that (requestStats.ts keeps plain arrays instead). A
 * Registry asks each registered metric for `get()` (name, help, type, samples) when it renders; that
 * is the whole contract this implements, so the samples are read from the arrays at scrape time only.
 */
import type { Metric, Registry } from 'prom-client';
import type { BucketCounts } from './bucketCounts.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

interface Sample {
  value: number;
  labels: Labels;
  /** For a histogram's `_bucket`, `_sum` and `_count` series. */
  metricName?: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The samples of one metric, as one scrape collects them. */
export class Samples {
  readonly values: Sample[] = [];
  constructor(private readonly name: string) {}

  /** One series; a null, NaN or infinite value is left out (absent means unknown or none). */
  add(value: number | null, labels: Labels = {}): void {
    if (value === null || !Number.isFinite(value)) return;
    this.values.push({ value, labels });
  }

  /** A 1 for `current` and a 0 for every other state: a state set an operator can alert on. */
  states(states: readonly string[], current: string, labelName: string, labels: Labels = {}): void {
    for (const s of states) this.values.push({ value: s === current ? 1 : 0, labels: { ...labels, [labelName]: s } });
  }

  /** A histogram's series: cumulative buckets up to +Inf, then sum and count. */
  histogram(h: BucketCounts, labels: Labels = {}): void {
    let cumulative = 0;
    for (let i = 0; i <= h.bounds.length; i++) {
      cumulative += h.counts[i]!;
      const le = i < h.bounds.length ? String(h.bounds[i]) : '+Inf';
      this.values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    this.values.push({ metricName: `${this.name}_sum`, labels, value: h.sum });
    this.values.push({ metricName: `${this.name}_count`, labels, value: h.count });
  }
}

export class ScrapeMetric {
  /** How prom-client's cluster mode would merge the workers' values. */
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly read: (out: Samples) => void,
  ) {
    if (!NAME.test(name)) throw new Error(`anteroom: invalid metric name ${name}`);
  }

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: string; values: Sample[] }> {
    const out = new Samples(this.name);
    this.read(out);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: out.values };
  }

  /** Registry.resetMetrics() calls this; the numbers belong to the request path, not to the metric. */
  reset(): void {}

  register(registry: Registry): void {
    // prom-client types registerMetric for its own classes only; at run time it takes anything with
    // `name` and `get()` (and reset, for resetMetrics), which is what this is.
    registry.registerMetric(this as unknown as Metric);
  }
}

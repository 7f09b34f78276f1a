/**
 * Micro-benchmark of what the metrics add to each request: the one `RequestStats.record` call observe
 * makes, next to a baseline (the same loop over the same contexts calling an empty function) and next
 * to the prom-client equivalent it replaces (labelled `inc()` and `observe()` per request). The mix is
 * a pass-through workload: mostly forwarded 200s with an upstream latency, some 429s and 503s, 200
 * tenants with fresh tenant strings every pass (as the identify phase makes them from a header, so
 * their hash is computed again), and now and then a tenant seen once.
 * Run: `npm run bench:metrics` (or `npm run build && node dist/test/bench/metricsRecord.js`).
 *
 * The numbers are a measurement, not a test; on a shared machine they vary from run to run, so each
 * figure is the median of several rounds of CPU time.
 */
import { pathToFileURL } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';
import { RequestStats } from '../../src/admin/requestStats.js';
import { RequestContext } from '../../src/pipeline/context.js';
import type { Upstream } from '../../src/proxy/upstream.js';

const CONTEXTS = 100_000;
const ROUNDS = 9;

/** CPU time of this process, in ns. */
function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

function contexts(): RequestContext[] {
  const upstream = { name: 'app' } as Upstream;
  return Array.from({ length: CONTEXTS }, (_, i) => {
    const c = new RequestContext(null as never, {} as never, null, null, null, 0);
    const r = i % 100;
    c.decision = r < 94 ? 'forward' : r < 98 ? 'refuse' : 'queue';
    c.status = r < 94 ? 200 : r < 98 ? 429 : 503;
    c.requestClass = r % 7 === 0 ? 'bulk' : 'normal';
    c.upstream = upstream;
    c.upstreamMs = r < 94 ? 0.4 + (i % 50) * 0.37 : -1;
    return c;
  });
}

/** New tenant strings, not yet hashed: 200 tenants, and one request in 1,000 from a tenant seen once. */
function freshTenants(ctxs: RequestContext[], pass: number): void {
  for (let i = 0; i < ctxs.length; i++) ctxs[i]!.tenant = i % 1000 === 999 ? `once-${pass}-${i}` : `tenant-${i % 200}`;
}

/** Median CPU ns per call of `f` over the contexts, fresh tenant strings before each round. */
function measure(ctxs: RequestContext[], f: (c: RequestContext) => void): number {
  const samples: number[] = [];
  for (let round = -2; round < ROUNDS; round++) {
    freshTenants(ctxs, round + 3);
    const start = cpuNs();
    for (let i = 0; i < ctxs.length; i++) f(ctxs[i]!);
    const ns = (cpuNs() - start) / ctxs.length;
    if (round >= 0) samples.push(ns); // two rounds of warm-up
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export function run(): void {
  const ctxs = contexts();
  let sink = 0;
  const baseline = measure(ctxs, (c) => {
    sink += c.status;
  });
  const stats = new RequestStats({ tenants: 20 });
  const record = measure(ctxs, (c) => stats.record(c));

  const registry = new Registry();
  const requests = new Counter({ name: 'r_total', help: 'h', labelNames: ['decision', 'class', 'status'], registers: [registry] });
  const tenants = new Counter({ name: 't_total', help: 'h', labelNames: ['tenant', 'decision'], registers: [registry] });
  const latency = new Histogram({ name: 'l_seconds', help: 'h', labelNames: ['upstream'], registers: [registry] });
  const promClient = measure(ctxs, (c) => {
    requests.inc({ decision: c.decision, class: c.requestClass, status: String(c.status) });
    tenants.inc({ tenant: c.tenant, decision: c.decision });
    if (c.upstreamMs >= 0) latency.observe({ upstream: c.upstream!.name }, c.upstreamMs / 1000);
  });

  const row = (what: string, ns: number) => console.log(`${what.padEnd(64)} ${ns.toFixed(1).padStart(7)} ns/request`);
  console.log(`metrics recording, ${CONTEXTS.toLocaleString('en')} requests per round, median of ${ROUNDS} rounds of CPU time`);
  row('baseline: the same loop calling an empty function', baseline);
  row('RequestStats.record (what observe calls)', record);
  row('prom-client labelled inc() x2 + observe() (tenants unbounded)', promClient);
  row('added by the metrics (record - baseline)', record - baseline);
  row('prom-client equivalent, added (for comparison)', promClient - baseline);
  console.log(`tenants remembered: ${stats.tenants.size}, named: ${stats.tenants.named().length}`);
  if (sink === 0) console.log('');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) run();

/**
 * The controllers' metrics: state, limit in force, and each signal's value, thresholds, state and age,
 * read from a real Controller (signal sources set by hand, fake clock) among a real Runtime's
 * controllers, and from a runtime that has none.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.js';
import { validateConfig } from '../../src/config/load.js';
import { Controller } from '../../src/control/controller.js';
import { upstreamControlSchema } from '../../src/control/schema.js';
import type { Signal, SignalSource } from '../../src/control/signal.js';
import { Runtime } from '../../src/runtime.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { silentLogger } from '../helpers/index.js';
import { FakeClock, sig } from '../control/helpers.js';
import { parseExposition, type Exposition } from './exposition.js';

const cleanup = cleanupAfterEach();

/** A source the test sets by hand; `at` is when it was last read (null: never). */
class ManualSource implements SignalSource {
  value: number | null = null;
  at: number | null = null;
  constructor(
    readonly name: string,
    private readonly threshold: number,
    private readonly shed: number,
  ) {}
  read(): Signal {
    return sig(this.name, this.value, this.threshold, this.at ?? 0, this.shed);
  }
}

function runtime(): Runtime {
  const r = validateConfig({ upstreams: { app: { url: 'http://127.0.0.1:9' }, search: { url: 'http://127.0.0.1:9' } }, secret: 's'.repeat(32) });
  if (!r.ok) throw new Error('invalid config');
  const rt = new Runtime(r.config, silentLogger());
  cleanup.push(() => rt.close());
  return rt;
}

async function scrape(m: Metrics): Promise<Exposition> {
  return parseExposition(await m.render());
}

describe('controller metrics', () => {
  it('export state, limit and every signal with value, thresholds, state and age', async () => {
    const clock = new FakeClock(1_000_000);
    const db = new ManualSource('db.postgres', 80, 95);
    const controller = new Controller(
      'app',
      upstreamControlSchema.parse({
        engage: { latencyP95Ms: 500, forS: 3 },
        shed: { latencyP95Ms: 2_000 },
        limit: { static: 50 },
        slowStart: { onStart: false },
      }),
      { now: clock.now, sources: [db] },
    );
    cleanup.push(() => controller.close());
    controller.start();
    const rt = runtime();
    rt.control.controllers.set('app', controller);
    rt.applyLimits(); // what every control tick does: the limit in force goes to the gate
    const metrics = new Metrics(rt, { processMetrics: false, now: clock.now });

    let e = await scrape(metrics);
    expect(e.value('anteroom_upstream_state', { upstream: 'app', state: 'open' })).toBe(1);
    expect(e.value('anteroom_upstream_state', { upstream: 'app', state: 'queueing' })).toBe(0);
    expect(e.value('anteroom_upstream_state', { upstream: 'app', state: 'shedding' })).toBe(0);
    expect(e.value('anteroom_upstream_limit', { upstream: 'app' })).toBe(50);
    expect(e.value('anteroom_upstream_limit', { upstream: 'search' })).toBeUndefined(); // no limit at all
    // No traffic yet and no database reading: unknown, with thresholds but no value and no age.
    const latency = { upstream: 'app', signal: 'latencyP95' };
    const pool = { upstream: 'app', signal: 'db.postgres' };
    expect(e.value('anteroom_upstream_signal_value', latency)).toBeUndefined();
    expect(e.value('anteroom_upstream_signal_age_seconds', latency)).toBeUndefined();
    expect(e.value('anteroom_upstream_signal_state', { ...latency, state: 'unknown' })).toBe(1);
    expect(e.value('anteroom_upstream_signal_threshold', { ...latency, level: 'engage' })).toBe(500);
    expect(e.value('anteroom_upstream_signal_threshold', { ...latency, level: 'shed' })).toBe(2_000);
    expect(e.value('anteroom_upstream_signal_threshold', { upstream: 'app', signal: 'errorRate', level: 'engage' })).toBeUndefined();
    expect(e.value('anteroom_upstream_signal_threshold', { ...pool, level: 'engage' })).toBe(80);
    expect(e.value('anteroom_upstream_signal_threshold', { ...pool, level: 'shed' })).toBe(95);
    expect(e.value('anteroom_upstream_signal_value', pool)).toBeUndefined();

    // Slow responses and a pool over its threshold, read 2.5 s before the scrape.
    for (let i = 0; i < 20; i++) controller.recordResponse(900, false, 10);
    db.value = 90;
    db.at = clock.now();
    clock.advance(2_500);
    e = await scrape(metrics);
    // The latency window keeps log bins: the p95 is 900 ms to within a bin.
    const p95 = controller.snapshot().signals.find((g) => g.name === 'latencyP95')!.value!;
    expect(Math.abs(p95 - 900)).toBeLessThan(20);
    expect(e.value('anteroom_upstream_signal_value', latency)).toBe(p95);
    expect(e.value('anteroom_upstream_signal_state', { ...latency, state: 'over' })).toBe(1);
    expect(e.value('anteroom_upstream_signal_state', { ...latency, state: 'unknown' })).toBe(0);
    expect(e.value('anteroom_upstream_signal_age_seconds', latency)).toBe(0);
    expect(e.value('anteroom_upstream_signal_value', pool)).toBe(90);
    expect(e.value('anteroom_upstream_signal_age_seconds', pool)).toBe(2.5);

    // Over for longer than engage.forS: the controller engages the room.
    controller.tick();
    clock.advance(3_500);
    for (let i = 0; i < 20; i++) controller.recordResponse(900, false, 10);
    db.at = clock.now();
    controller.tick();
    e = await scrape(metrics);
    expect(e.value('anteroom_upstream_state', { upstream: 'app', state: 'open' })).toBe(0);
    expect(e.value('anteroom_upstream_state', { upstream: 'app', state: 'queueing' })).toBe(1);
  });

  it('export nothing for upstreams without a controller, and still render', async () => {
    const rt = runtime();
    expect(rt.controllers.size).toBe(0);
    const e = await scrape(new Metrics(rt, { processMetrics: false }));
    expect(e.family('anteroom_upstream_state').samples).toEqual([]);
    expect(e.family('anteroom_upstream_signal_value').samples).toEqual([]);
    expect(e.value('anteroom_upstream_in_flight', { upstream: 'search' })).toBe(0);
  });
});

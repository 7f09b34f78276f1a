/**
 * The Controller tying signals, state machine, adaptive limit and ramps together, on a fake clock;
 * then built from config against the real PostgreSQL and a real probed upstream.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Controller } from '../../src/control/controller.js';
import { upstreamControlSchema } from '../../src/control/schema.js';
import { classAction } from '../../src/control/shedPolicy.js';
import type { Signal, SignalSource } from '../../src/control/signal.js';
import type { Transition } from '../../src/control/stateMachine.js';
import { FakeClock, sig } from './helpers.js';
import { Crowd, eventually, PG_URL, exclusivePostgres } from './services.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';

const cleanup = cleanupAfterEach();

/** A source the test sets by hand. */
class ManualSource implements SignalSource {
  value: number | null = 0;
  constructor(
    readonly name: string,
    private readonly threshold: number,
    private readonly shed: number | null = null,
  ) {}
  read(now: number): Signal {
    return sig(this.name, this.value, this.threshold, now, this.shed);
  }
}

function make(clock: FakeClock, config: unknown, sources: SignalSource[] = [], transitions: Transition[] = []): Controller {
  const c = new Controller('app', upstreamControlSchema.parse(config), { now: clock.now, sources, onTransition: (t) => void transitions.push(t) });
  cleanup.push(() => c.close());
  return c;
}

/** Records `n` responses of `ms`, with the upstream at `inflight`, spread over `spanMs`. */
function traffic(clock: FakeClock, c: Controller, n: number, ms: number, inflight: number, spanMs = 1_000, failed = false): void {
  for (let i = 0; i < n; i++) {
    clock.advance(spanMs / n);
    c.recordResponse(ms, failed, inflight);
  }
}

describe('Controller', () => {
  it('ramps the static limit up from the floor after start, without a jump', () => {
    const clock = new FakeClock(0);
    const c = make(clock, { limit: { static: 100 }, slowStart: { floor: 0.1, rampS: 10 } });
    expect(c.limit).toBe(100); // not started
    c.start();
    expect(c.limit).toBe(10);
    let prev = 10;
    for (let t = 0; t < 10_000; t += 50) {
      clock.advance(50);
      expect(c.limit - prev).toBeLessThanOrEqual(1);
      expect(c.limit).toBeGreaterThanOrEqual(prev);
      prev = c.limit;
    }
    expect(c.limit).toBe(100);
    expect(c.snapshot().ramp).toBeNull();
  });

  it('engages on p95 latency from recorded responses, with the adaptive limit taking over and shrinking', () => {
    const clock = new FakeClock(0);
    const transitions: Transition[] = [];
    const c = make(
      clock,
      {
        engage: { latencyP95Ms: 500, forS: 3 },
        release: { forS: 10, rampS: 20 },
        limit: { adaptive: { min: 5, max: 100 } },
        slowStart: { onStart: false },
      },
      [],
      transitions,
    );
    c.start();
    for (let s = 0; s < 20; s++) {
      traffic(clock, c, 50, 100, 100);
      c.tick();
    }
    expect(c.state).toBe('open');
    expect(c.limit).toBe(100);
    expect(c.snapshot().limitSource).toBe('static');
    // The upstream slows down: p95 goes over 500 ms.
    for (let s = 0; s < 6 && c.state === 'open'; s++) {
      traffic(clock, c, 50, 1_000, c.limit);
      c.tick();
    }
    expect(c.state).toBe('queueing');
    expect(transitions[0]).toMatchObject({ from: 'open', to: 'queueing' });
    expect(transitions[0]!.cause).toMatchObject({ name: 'latencyP95', threshold: 500, state: 'over' });
    const engagedAt = c.limit;
    for (let s = 0; s < 20; s++) {
      traffic(clock, c, 50, 1_000, c.limit);
      c.tick();
    }
    expect(c.limit).toBeLessThan(engagedAt / 2);
    const snap = c.snapshot();
    expect(snap.limitSource).toBe('adaptive');
    expect(snap.adaptive?.gradient).toBe(0.5);
    expect(snap.signals.find((s) => s.name === 'latencyP95')).toMatchObject({ value: 1_000, threshold: 500, state: 'over', updatedAt: clock.t });
    expect(snap.signals.find((s) => s.name === 'latencyP95')!.detail).toMatch(/p50 1000 ms, p95 1000 ms, p99 1000 ms/);

    // Recovery: fast again. Release after 10 s below 400 ms, then a ramp from the limit in force.
    const released: number[] = [];
    for (let s = 0; s < 40 && c.state !== 'open'; s++) {
      traffic(clock, c, 50, 100, c.limit);
      released.push(c.limit);
      c.tick();
    }
    expect(c.state).toBe('open');
    const atRelease = released.at(-1)!;
    expect(transitions.at(-1)).toMatchObject({ from: 'queueing', to: 'open' });
    // No jump to 100: the limit continues from where it was and climbs over the ramp (20 s, scaled).
    expect(c.limit).toBeLessThanOrEqual(atRelease + 1);
    expect(c.snapshot().ramp).not.toBeNull();
    let prev = c.limit;
    for (let t = 0; t < 20_000; t += 100) {
      clock.advance(100);
      expect(c.limit - prev).toBeLessThanOrEqual(1);
      prev = c.limit;
    }
    expect(c.limit).toBe(100);
  });

  it('sheds on a database source over its shed threshold, steps down one state at a time, and names the cause', () => {
    const clock = new FakeClock(0);
    const db = new ManualSource('db.postgres', 80, 95);
    const transitions: Transition[] = [];
    const c = make(clock, { engage: { forS: 2 }, shed: { forS: 2 }, release: { forS: 5 }, limit: { static: 50 }, slowStart: { onStart: false } }, [db], transitions);
    const tick = (n: number): void => {
      for (let i = 0; i < n; i++) {
        clock.advance(1_000);
        c.tick();
      }
    };
    db.value = 99;
    tick(6);
    expect(transitions.map((t) => `${t.to}:${t.cause?.name}`)).toEqual(['queueing:db.postgres', 'shedding:db.postgres']);
    expect(classAction(c.state, 'bulk')).toBe('refuse');
    expect(classAction(c.state, 'normal')).toBe('queue');
    expect(classAction(c.state, 'critical')).toBe('admit');
    expect(c.limit).toBe(50); // static: shedding does not change the limit, it changes who may use it
    db.value = 70; // below 0.8 * 95 (shed release) but not below 0.8 * 80 (release)
    tick(20);
    expect(c.state).toBe('queueing');
    db.value = 60;
    tick(10);
    expect(c.state).toBe('open');
    expect(transitions.map((t) => t.to)).toEqual(['queueing', 'shedding', 'queueing', 'open']);
  });

  it('starts the adaptive limit from the in-flight count when engaging, and holds it while the database stays over', () => {
    const clock = new FakeClock(0);
    const db = new ManualSource('db.postgres', 80);
    const c = make(clock, { engage: { forS: 0 }, release: { forS: 5 }, limit: { adaptive: { min: 5, max: 100, windowMs: 1_000, minSamples: 10 } }, slowStart: { onStart: false } }, [db]);
    c.start();
    traffic(clock, c, 50, 20, 30);
    expect(c.tick(30)).toBeNull();
    expect(c.limit).toBe(100);
    db.value = 90;
    clock.advance(1_000);
    expect(c.tick(30)).toMatchObject({ from: 'open', to: 'queueing' });
    // The upstream is in distress at 30 in flight: that is where the limit starts, not at 100.
    expect(c.limit).toBe(30);
    // Latency is fine, but the database is still over: the limit does not creep up.
    for (let s = 0; s < 20; s++) {
      traffic(clock, c, 20, 20, c.limit);
      c.tick(c.limit);
    }
    expect(c.limit).toBe(30);
    // The database calms down: the limit may grow again (still engaged until the release time).
    db.value = 10;
    for (let s = 0; s < 3; s++) {
      traffic(clock, c, 20, 20, c.limit);
      c.tick(c.limit);
    }
    expect(c.state).toBe('queueing');
    expect(c.limit).toBeGreaterThan(30);
  });

  it('engages on the error rate of recorded failures', () => {
    const clock = new FakeClock(0);
    const c = make(clock, { engage: { errorRate: 0.1, forS: 1 }, window: { errorRateMinSamples: 10 } });
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 10; i++) {
        clock.advance(100);
        c.recordResponse(20, i < 3, 1);
      }
      c.tick();
    }
    expect(c.state).toBe('queueing');
    expect(c.lastTransition?.cause).toMatchObject({ name: 'errorRate', value: 0.3, threshold: 0.1 });
  });

  it('shows unknown signals as unknown and holds the room engaged while they are', () => {
    const clock = new FakeClock(0);
    const db = new ManualSource('db.mysql', 10);
    const c = make(clock, { engage: { forS: 0 }, release: { forS: 0 } }, [db]);
    db.value = 20;
    clock.advance(1_000);
    c.tick();
    expect(c.state).toBe('queueing');
    db.value = null;
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      c.tick();
    }
    expect(c.state).toBe('queueing');
    const s = c.snapshot().signals;
    expect(s.map((x) => [x.name, x.state])).toEqual([
      ['latencyP95', 'unknown'],
      ['errorRate', 'unknown'],
      ['db.mysql', 'unknown'],
    ]);
  });
  it('keeps its state, ramp and limiter across a reconfigure, and applies the new thresholds', async () => {
    const clock = new FakeClock(0);
    const db = new ManualSource('db.postgres', 80);
    const c = make(clock, { engage: { forS: 0 }, release: { forS: 5 }, limit: { adaptive: { min: 5, max: 100 } }, slowStart: { onStart: false } }, [db]);
    for (let s = 0; s < 20; s++) traffic(clock, c, 20, 50, 100);
    const baseline = c.snapshot().adaptive!.longRttMs;
    db.value = 90;
    clock.advance(1_000);
    c.tick();
    expect(c.state).toBe('queueing');
    await c.reconfigure(upstreamControlSchema.parse({ engage: { forS: 0, latencyP95Ms: 1_000 }, release: { forS: 60 }, limit: { adaptive: { min: 5, max: 100 } }, slowStart: { onStart: false } }));
    expect(c.state).toBe('queueing');
    expect(c.snapshot().adaptive!.longRttMs).toBe(baseline);
    expect(c.signals().find((s) => s.name === 'latencyP95')!.threshold).toBe(1_000);
    // The new, longer release time applies.
    db.value = 10;
    for (let i = 0; i < 30; i++) {
      clock.advance(1_000);
      c.tick();
    }
    expect(c.state).toBe('queueing');
    for (let i = 0; i < 31; i++) {
      clock.advance(1_000);
      c.tick();
    }
    expect(c.state).toBe('open');
  });
});

describe('Controller built from config, with real services', () => {
  it('probes a real upstream: failures push p95 to the timeout, recovery restarts the ramp from the floor', async () => {
    let healthy = true;
    const server = createServer((_req, res) => res.writeHead(healthy ? 200 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const clock = new FakeClock(0);
    const c = new Controller(
      'app',
      upstreamControlSchema.parse({
        probe: { path: '/health', timeoutMs: 500, failuresToDown: 2 },
        engage: { latencyP95Ms: 400, forS: 1 },
        release: { forS: 2 },
        limit: { static: 40 },
        slowStart: { floor: 0.25, rampS: 30, onStart: false },
      }),
      { now: clock.now, upstreamUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
    );
    cleanup.push(() => c.close());
    expect(await c.probeNow()).toBe(true);
    expect(c.limit).toBe(40);
    healthy = false;
    for (let i = 0; i < 3; i++) {
      expect(await c.probeNow()).toBe(false);
      clock.advance(1_000);
      c.tick();
    }
    const snap = c.snapshot();
    expect(snap.signals.find((s) => s.name === 'probe')).toMatchObject({ value: 3, threshold: 1, state: 'over' });
    expect(snap.signals.find((s) => s.name === 'latencyP95')).toMatchObject({ value: 500, state: 'over' });
    expect(c.state).toBe('queueing');
    healthy = true;
    expect(await c.probeNow()).toBe(true);
    // Back up: the limit restarts from the floor (a quarter of 40) and climbs over 30 s.
    expect(c.limit).toBe(10);
    clock.advance(15_000);
    expect(c.limit).toBe(25);
  });

  it('engages on the real PostgreSQL connection count from a URL in the config', async () => {
    await exclusivePostgres(async () => {
      // Real clock here: the pollers stamp their readings with it while they poll on their own.
      const crowd = new Crowd();
      cleanup.push(() => crowd.closeAll());
      const db = (ctl: Controller): Signal => ctl.signals().find((s) => s.name === 'db.postgres')!;
      const baseline = new Controller('app', upstreamControlSchema.parse({ engage: { dbConnections: { postgres: { url: PG_URL, above: 10_000, everyMs: 100 } } } }));
      cleanup.push(() => baseline.close());
      baseline.start();
      await eventually(() => db(baseline).state === 'ok', 5_000, 'first poll');
      const base = db(baseline).value!;
      await baseline.close();

      const transitions: Transition[] = [];
      const c = new Controller(
        'app',
        upstreamControlSchema.parse({ engage: { dbConnections: { postgres: { url: PG_URL, above: base + 5, everyMs: 100 } }, forS: 0.5 }, slowStart: { onStart: false } }),
        { onTransition: (t) => void transitions.push(t) },
      );
      cleanup.push(() => c.close());
      c.start(100);
      await eventually(() => db(c).state === 'ok', 5_000, 'first poll');
      expect(c.state).toBe('open');
      await crowd.postgres(8);
      await eventually(() => c.state === 'queueing', 10_000, 'the room to engage');
      expect(transitions).toHaveLength(1);
      expect(transitions[0]!.cause).toMatchObject({ name: 'db.postgres', threshold: base + 5, state: 'over' });
      expect(transitions[0]!.reason).toMatch(/db.postgres \d+ over \d+ for \d+(\.\d)? s/);
      expect(c.snapshot().signals.find((s) => s.name === 'db.postgres')!.detail).toMatch(/max_connections/);
    });
  });
});

/**
 * 48 s of the soak (the full run is `npm run load -- soak`, 30 minutes): anteroom from the built CLI
 * under mixed traffic at about half the origin's capacity, the room's mode changed every 8 s through
 * the admin API (after a priming cycle with 1 s steps). About 90 s in all. Needs `npm run build` (npm
 * test runs it first).
 *
 * Wall-clock figures are not asserted: only what must hold on any machine however busy. Every request
 * ends in a proxied response, a place in line or a refusal with Retry-After; every mode change shows
 * in /status; the proxy, quiet again after the run (no client connected, the room's places and
 * sessions expired), has no more descriptors open than when it was quiet before it, and its live heap
 * (after a full collection, compiled code apart, which grows by a megabyte or so as V8 optimises more
 * functions) has grown by less than LIVE_HEAP_GROWTH. It grows by about 1% when nothing leaks; with
 * 50 bytes kept per request (about 25,000 requests, status polls included) it grew by 20%.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopAll } from '../bench/procs.js';
import { ARTIFACTS } from './harness.js';
import { CYCLE, FD_TOLERANCE, liveData, mb, runSoak, soakSummary, writeSoak } from './soak.js';

afterAll(() => stopAll());

/** Most the quiet live heap after the run may exceed the one before it by (a fraction of it). */
const LIVE_HEAP_GROWTH = 0.1;

describe('soak (short)', () => {
  it(
    '48 s of mixed traffic with a room mode change every 8 s loses nothing and leaks nothing',
    async () => {
      const r = await runSoak({ durationMs: 48_000, stepMs: 8_000, sampleMs: 2_000, primeStepMs: 1_000, drainMs: 3_000, artifacts: join(ARTIFACTS, 'short') });
      writeSoak(r);
      const summary = soakSummary(r);

      // The run did what a soak must: all kinds of traffic, answered in all the ways.
      expect(r.requests.served, summary).toBeGreaterThan(1_000);
      expect(r.requests.waited, summary).toBeGreaterThan(0);
      expect(r.requests.refused, summary).toBeGreaterThan(0);
      expect(r.requests.polls, summary).toBeGreaterThan(0);
      expect(r.websockets.connected, summary).toBeGreaterThanOrEqual(24);

      // Nothing lost.
      expect(r.requests.lostExamples, summary).toEqual([]);
      expect(r.requests.lost, summary).toBe(0);
      expect(r.websockets.otherOutcomes, summary).toEqual({});

      // Every mode change applied: the priming cycle and the six steps of the run.
      expect(r.modes.steps, summary).toBe(2 * CYCLE.length);
      expect(r.modes.notApplied, summary).toEqual([]);
      const modes = new Set(r.steps.flatMap((s) => [s.state.global ?? 'auto', ...Object.values(s.state.tenants)]));
      expect([...modes].sort()).toEqual(['auto', 'maintenance', 'open', 'pause', 'queue-all']);

      // Descriptors: as many as before once quiet (counted in Linux's /proc).
      expect(r.fds.quietStart, summary).not.toBeNull();
      expect(r.fds.quietEnd! - r.fds.quietStart!, summary).toBeLessThanOrEqual(FD_TOLERANCE);

      // Memory: the live heap once quiet again, compiled code apart.
      const [before, after] = [liveData(r.quiet.start), liveData(r.quiet.end)];
      const bound = before * (1 + LIVE_HEAP_GROWTH);
      expect(after, `live heap without code ${mb(before)} before, ${mb(after)} after (bound ${mb(bound)})\n${summary}`).toBeLessThanOrEqual(bound);
    },
    150_000,
  );
});

/**
 * The log's time field is formatted once per second with the milliseconds added per call; it must be
 * exactly what pino's isoTime writes, across second, minute, day and year boundaries, and for times
 * that go backwards (the wall clock can be set back).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/log.js';

const pinoTime = (now: number): string => `,"time":"${new Date(now).toISOString()}"`;

describe('the log time field', () => {
  it('is what pino writes for the same instant', () => {
    // pino's own function reads the clock itself: checked once against it, then against its formula.
    const before = Date.now();
    const ours = isoTime();
    const theirs = pino.stdTimeFunctions.isoTime();
    const after = Date.now();
    expect(theirs.length).toBe(ours.length);
    const t = Date.parse((JSON.parse(`{${ours.slice(1)}}`) as { time: string }).time);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
    expect(ours).toBe(pinoTime(t));
  });

  it('matches toISOString for every millisecond around boundaries, in order and out of order', () => {
    const edges = [Date.UTC(2026, 11, 31, 23, 59, 59, 990), Date.UTC(2027, 0, 1, 0, 0, 0, 0), Date.UTC(2028, 1, 29, 12, 0, 0, 5), 0, 999, 1000];
    for (const edge of edges) {
      for (let t = edge - 30; t <= edge + 30; t++) if (t >= 0) expect(isoTime(t)).toBe(pinoTime(t));
    }
    for (let i = 0; i < 20_000; i++) {
      const t = Math.floor(Math.random() * 4_102_444_800_000);
      expect(isoTime(t)).toBe(pinoTime(t));
      // The next calls land in the same second, the next one, and back in time.
      for (const d of [1, 37, 999, 1000, -1, -1000]) if (t + d >= 0) expect(isoTime(t + d)).toBe(pinoTime(t + d));
    }
  });
});

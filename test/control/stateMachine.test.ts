import { describe, expect, it } from 'vitest';
import { StateMachine, type Transition } from '../../src/control/stateMachine.js';
import { FakeClock, sig } from './helpers.js';

function machine(clock: FakeClock, over: Partial<ConstructorParameters<typeof StateMachine>[0]> = {}): StateMachine {
  return new StateMachine({ engageForMs: 5_000, shedForMs: 5_000, releaseForMs: 30_000, belowFactor: 0.8, now: clock.now, ...over });
}

/** Feeds one reading per second for `seconds`, from `value(t)`; returns the transitions. */
function run(clock: FakeClock, sm: StateMachine, seconds: number, value: (i: number) => number | null, threshold = 800, shed: number | null = null): Transition[] {
  const out: Transition[] = [];
  for (let i = 0; i < seconds; i++) {
    clock.advance(1_000);
    const t = sm.update([sig('latencyP95', value(i), threshold, clock.t, shed)]);
    if (t !== null) out.push(t);
  }
  return out;
}

describe('StateMachine', () => {
  it('engages only after the signal has been over for the engage time, and names the signal', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock);
    expect(run(clock, sm, 5, () => 900)).toEqual([]); // over at 1..5 s: held 4 s
    const [t] = run(clock, sm, 1, () => 900); // held 5 s
    expect(t).toMatchObject({ from: 'open', to: 'queueing', at: 6_000 });
    expect(t!.cause).toMatchObject({ name: 'latencyP95', value: 900, threshold: 800, state: 'over' });
    expect(t!.reason).toMatch(/latencyP95 900 over 800 for 5 s/);
    expect(sm.state).toBe('queueing');
  });

  it('does not flap on a signal oscillating around the threshold', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock);
    // Over for 4 s, under for 1 s, for ten minutes: never over for 5 s in a row.
    expect(run(clock, sm, 600, (i) => (i % 5 === 4 ? 790 : 810))).toEqual([]);
    expect(sm.state).toBe('open');
    // Once engaged, a signal oscillating between just under the threshold and over it never releases:
    // release needs <= 640 (0.8 * 800) for 30 s.
    run(clock, sm, 6, () => 900);
    expect(sm.state).toBe('queueing');
    expect(run(clock, sm, 600, (i) => (i % 2 === 0 ? 700 : 820))).toEqual([]);
    // Even mostly well below, one reading above the release level every 20 s restarts the count.
    expect(run(clock, sm, 600, (i) => (i % 20 === 19 ? 700 : 100))).toEqual([]);
    expect(sm.state).toBe('queueing');
  });

  it('releases only after every signal has been at or below belowFactor * threshold for the release time', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock);
    run(clock, sm, 6, () => 900);
    expect(sm.state).toBe('queueing');
    // Below from the first reading (t = 7 s); held 30 s at t = 37 s, the 31st reading.
    expect(run(clock, sm, 30, () => 640)).toEqual([]);
    const [t] = run(clock, sm, 1, () => 640);
    expect(t).toMatchObject({ from: 'queueing', to: 'open' });
    expect(t!.cause?.name).toBe('latencyP95');
  });

  it('holds the state while a signal is unknown (hold), or releases on the known ones (ignore)', () => {
    for (const unknown of ['hold', 'ignore'] as const) {
      const clock = new FakeClock(0);
      const sm = machine(clock, { unknown });
      const feed = (db: number | null, lat: number): Transition | null => {
        clock.advance(1_000);
        return sm.update([sig('latencyP95', lat, 800, clock.t), sig('db.postgres', db, 80, clock.t)]);
      };
      for (let i = 0; i < 6; i++) feed(90, 100);
      expect(sm.state).toBe('queueing');
      const transitions: Transition[] = [];
      for (let i = 0; i < 120; i++) {
        const t = feed(null, 100);
        if (t) transitions.push(t);
      }
      expect(sm.state).toBe(unknown === 'hold' ? 'queueing' : 'open');
      expect(transitions.length).toBe(unknown === 'hold' ? 0 : 1);
    }
  });

  it('does not hold release for a quiet signal (no traffic in its window)', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock, { engageForMs: 0, releaseForMs: 10_000 });
    clock.advance(1_000);
    sm.update([sig('db.postgres', 90, 80, clock.t), sig('latencyP95', 100, 800, clock.t)]);
    expect(sm.state).toBe('queueing');
    const quiet = { ...sig('latencyP95', null, 800, clock.t), quiet: true };
    for (let i = 0; i < 11; i++) {
      clock.advance(1_000);
      sm.update([sig('db.postgres', 10, 80, clock.t), quiet]);
    }
    expect(sm.state).toBe('open');
  });

  it('never engages on unknown signals alone', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock);
    expect(run(clock, sm, 60, () => null)).toEqual([]);
    expect(sm.state).toBe('open');
  });

  it('sheds above the shed threshold and steps back down one state at a time', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock, { shedForMs: 3_000, releaseForMs: 10_000 });
    const got = run(clock, sm, 10, () => 2_000, 800, 1_500);
    expect(got.map((t) => t.to)).toEqual(['queueing', 'shedding']);
    expect(got[1]!.reason).toMatch(/latencyP95 2000 over 1500/);
    // 1000 is below the shed release level (0.8 * 1500 = 1200) but over the engage threshold.
    const down = run(clock, sm, 60, () => 1_000, 800, 1_500);
    expect(down.map((t) => [t.from, t.to])).toEqual([['shedding', 'queueing']]);
    const open = run(clock, sm, 20, () => 100, 800, 1_500);
    expect(open.map((t) => [t.from, t.to, t.at - down[0]!.at >= 10_000])).toEqual([['queueing', 'open', true]]);
  });

  it('engages on whichever signal is over and blames the one furthest over', () => {
    const clock = new FakeClock(0);
    const sm = machine(clock, { engageForMs: 0 });
    clock.advance(1_000);
    const t = sm.update([sig('latencyP95', 900, 800, clock.t), sig('db.postgres', 95, 50, clock.t), sig('errorRate', 0, 0.05, clock.t)]);
    expect(t?.cause?.name).toBe('db.postgres');
  });
});

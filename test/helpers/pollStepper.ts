/**
 * A state machine fed one real poll at a time, with its clock moved one second per poll by hand:
 * hold and release times are then counted in polls, never waited for on the (shared, noisy) wall
 * clock, while the readings still come from a real server.
 */
import type { Poller } from '../../src/control/poller.js';
import { StateMachine, type StateMachineOptions, type Transition } from '../../src/control/stateMachine.js';
import { FakeClock } from '../room/helpers.js';

export class PollStepper {
  readonly clock = new FakeClock(0);
  readonly sm: StateMachine;

  constructor(
    private readonly poller: Poller,
    opts: Omit<StateMachineOptions, 'now'> = { engageForMs: 2_000, shedForMs: 2_000, releaseForMs: 5_000, belowFactor: 0.8 },
  ) {
    this.sm = new StateMachine({ ...opts, now: this.clock.now });
  }

  /** One poll, then one second: the transition the reading caused, if any. */
  async step(): Promise<Transition | null> {
    const s = await this.poller.pollOnce();
    this.clock.advance(1_000);
    return this.sm.update([s]);
  }

  /** Steps until the machine is open again, at most `max` polls: how many it took and what changed. */
  async untilOpen(max = 20): Promise<{ polls: number; transitions: Transition[] }> {
    const transitions: Transition[] = [];
    let polls = 0;
    while (this.sm.state !== 'open' && polls < max) {
      const t = await this.step();
      polls++;
      if (t) transitions.push(t);
    }
    return { polls, transitions };
  }
}

/** The incident replays, by incident number. */
import type { Scenario } from '../harness.js';
import { s000 } from './s000.js';
import { s001 } from './s001.js';

export const SCENARIOS: Record<string, Scenario> = {
  '000': s000,
  '001': s001,
};

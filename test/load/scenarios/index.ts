/** The incident replays, by incident number. */
import type { Scenario } from '../harness.js';
import { s000 } from './s000.js';
import { s001 } from './s001.js';
import { s002 } from './s002.js';
import { s003 } from './s003.js';
import { s004 } from './s004.js';

export const SCENARIOS: Record<string, Scenario> = {
  '000': s000,
  '001': s001,
  '002': s002,
  '003': s003,
  '004': s004,
};

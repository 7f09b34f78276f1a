import { pino, type Logger, type DestinationStream } from 'pino';
import type { Config } from './config/schema.js';
import { LineSink } from './lineSink.js';

/** The process logger. `LOG_LEVEL` in the environment wins over the config file. */
export function createLogger(config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const level = process.env['LOG_LEVEL'] ?? config.log.level;
  const options = { level, base: { service: 'anteroom' }, timestamp: isoTime };
  if (destination) return pino(options, destination);
  // Lines reach stdout in batches, within 100 ms; whatever is pending is written when the process exits.
  const sink = new LineSink({ fd: 1, maxDelayMs: 100 });
  process.once('exit', () => sink.flushSync());
  return pino(options, sink);
}

let stampMs = -1;
let stamp = '';

/**
 * pino's stdTimeFunctions.isoTime, same output, built once per millisecond: a busy proxy writes many
 * request lines per millisecond, and a Date and toISOString for each were a visible part of the cost
 * of a request line.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

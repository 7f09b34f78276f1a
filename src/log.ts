import { pino, type Logger, type DestinationStream } from 'pino';
import type { Config } from './config/schema.js';

/** The process logger. `LOG_LEVEL` in the environment wins over the config file. */
export function createLogger(config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const level = process.env['LOG_LEVEL'] ?? config.log.level;
  const options = { level, base: { service: 'anteroom' }, timestamp: isoTime };
  if (destination) return pino(options, destination);
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  // Lines are written in 4 KB batches for speed; on a quiet proxy a batch could wait indefinitely, and
  // an operator watching the log during an incident must see lines within a second.
  setInterval(() => stream.flush(), 1_000).unref();
  return pino(options, stream);
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

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
let secondStartMs = -1;
/** `,"time":"YYYY-MM-DDTHH:MM:SS.` of the second that starts at secondStartMs. */
let secondPrefix = '';

/**
 * pino's stdTimeFunctions.isoTime, same output, with the date and time of day formatted once per
 * second and only the milliseconds written per call: a busy proxy writes many request lines per
 * millisecond, and a Date and toISOString for each were a visible part of the cost of a request line.
 */
export function isoTime(now = Date.now()): string {
  if (now === stampMs) return stamp;
  let ms = now - secondStartMs;
  if (!(ms >= 0 && ms < 1000)) {
    ms = ((now % 1000) + 1000) % 1000;
    secondStartMs = now - ms;
    const iso = new Date(secondStartMs).toISOString();
    secondPrefix = `,"time":"${iso.slice(0, iso.length - 4)}`;
  }
  stampMs = now;
  stamp = `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  return stamp;
}

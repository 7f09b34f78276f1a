import { pino, type Logger, type DestinationStream } from 'pino';
import type { Config } from './config/schema.js';

/** The process logger. `LOG_LEVEL` in the environment wins over the config file. */
export function createLogger(config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const level = process.env['LOG_LEVEL'] ?? config.log.level;
  const options = { level, base: { service: 'anteroom' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

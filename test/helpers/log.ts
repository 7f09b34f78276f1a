/** Loggers for tests: silent, or capturing every line as a parsed object. */
import { pino, type Logger } from 'pino';

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
}

export function capturingLogger(level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

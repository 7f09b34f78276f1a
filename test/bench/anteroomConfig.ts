/** The config file every bench runs anteroom with. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/**
 * Writes a config with only what a bench needs: the upstream, a loopback listener, the log switch and
 * the secret that start insists on, plus `extra` lines. Everything else is the default an operator gets.
 */
export function writeBenchConfig(file: string, port: number, originUrl: string, requestLog: boolean, extra: string[] = []): void {
  writeFileSync(
    file,
    [
      `secret: ${randomBytes(32).toString('base64url')}`,
      'listen:',
      '  host: 127.0.0.1',
      `  port: ${port}`,
      // Several anteroom processes run side by side: each admin listener on a port of its own.
      'admin:',
      '  port: 0',
      'upstreams:',
      '  origin:',
      `    url: ${originUrl}`,
      'log:',
      '  level: info',
      `  requests: ${requestLog}`,
      ...extra,
      '',
    ].join('\n'),
  );
}

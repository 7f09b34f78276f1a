/**
 * `anteroom start` in a real child process: SIGHUP reloads the config file, and so does saving it
 * (the file watcher); an invalid save is logged and changes nothing; SIGTERM still stops it cleanly.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countingOrigin } from '../room/proxyHelpers.js';
import { get, until } from '../pipeline/util.js';
import { completion, spawnCli } from './cli.js';
import { tempDir } from '../helpers/tempDir.js';

const dir = tempDir('anteroom-cli-reload-').path;

function config(upstream: string, burst: number): string {
  return [
    'listen: { host: 127.0.0.1, port: 0 }',
    'secret: cli-reload-test-secret-0123456789abcdef',
    `upstreams: { app: { url: "${upstream}" } }`,
    'identity: { client: [ { header: x-client-id } ] }',
    `limits: { client: { rate: 1/min, burst: ${burst} } }`,
    'log: { level: info, requests: false }',
    '',
  ].join('\n');
}

async function statuses(port: number, client: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(port, '/', { headers: { 'x-client-id': client } })).status);
  return out;
}

describe('anteroom start: reload', () => {
  it('reloads on SIGHUP and when the file is saved; keeps the running config when the save is invalid', async () => {
    const origin = await countingOrigin();
    const file = join(dir, 'anteroom.yaml');
    writeFileSync(file, config(origin.url, 2));
    const child = spawnCli(['start', '--config', file]);
    const lines: Record<string, unknown>[] = [];
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) !== -1) {
        lines.push(JSON.parse(partial.slice(0, nl)) as Record<string, unknown>);
        partial = partial.slice(nl + 1);
      }
    });
    const done = completion(child);
    const line = (msg: RegExp, trigger?: string): Record<string, unknown> | undefined =>
      lines.find((l) => msg.test(String(l['msg'])) && (trigger === undefined || l['trigger'] === trigger));
    try {
      await until(() => line(/^anteroom listening$/) !== undefined, 'the proxy listening', 20_000);
      const port = line(/^anteroom listening$/)!['port'] as number;
      expect(await statuses(port, 'a', 3)).toEqual([200, 200, 429]);

      child.kill('SIGHUP');
      await until(() => line(/^config reloaded/, 'SIGHUP') !== undefined, 'the SIGHUP reload logged', 20_000);
      expect(line(/^config reloaded/, 'SIGHUP')).toMatchObject({ msg: 'config reloaded: no changes', changed: [] });

      // Saved the way editors save: a new file renamed over the old one.
      writeFileSync(`${file}.tmp`, config(origin.url, 4));
      renameSync(`${file}.tmp`, file);
      await until(() => line(/^config reloaded/, 'file change') !== undefined, 'the saved file reloaded', 20_000);
      expect(line(/^config reloaded/, 'file change')).toMatchObject({ msg: 'config reloaded: limits changed', changed: ['limits'] });
      // Client "a" had used its 2 tokens; the new burst of 4 leaves it 2 more. A new client gets 4.
      expect(await statuses(port, 'a', 3)).toEqual([200, 200, 429]);
      expect(await statuses(port, 'b', 5)).toEqual([200, 200, 200, 200, 429]);

      writeFileSync(file, config(origin.url, 4).replace('port: 0', 'port: 99999').replace('rate: 1/min', 'rate: often'));
      await until(() => line(/^config reload refused/) !== undefined, 'the invalid save refused', 20_000);
      expect(line(/^config reload refused/)).toMatchObject({
        level: 50,
        trigger: 'file change',
        errors: ['listen.port: expected at most 65535 (got 99999)', 'limits.client.rate: expected a rate like 20/s, 3/min or 100/h (got "often")'],
      });
      expect(await statuses(port, 'c', 5)).toEqual([200, 200, 200, 200, 429]);

      child.kill('SIGTERM');
      const exit = await done;
      expect(exit.code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await origin.close();
    }
  });
});

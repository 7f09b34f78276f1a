/**
 * `anteroom check --config FILE [--strict]` as a command: exit 0 and "ok" for a clean file, exit 1 and
 * every error for an invalid one or one with error findings, 2 with --strict for warnings.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { upstreamSchema } from '../../src/config/schema.js';
import { runCli } from './cli.js';
import { tempDir } from '../helpers/tempDir.js';

const { path: dir, file } = tempDir('anteroom-cli-');

describe('anteroom check', () => {
  it('exits 0 and says ok for a clean file, also with --strict', async () => {
    const f = file('ok.yaml', 'secret: a-secret-of-enough-length-0123456789\nupstreams:\n  app: { url: http://127.0.0.1:3000, concurrency: 20 }\n');
    for (const args of [['check', '--config', f], ['check', '--config', f, '--strict']]) {
      const r = await runCli(args);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout.startsWith(`${f}: ok\n`)).toBe(true);
    }
  });

  it('accepts the shipped default config with its two warnings; --strict exits 2 on them', async () => {
    const shipped = fileURLToPath(new URL('../../config/anteroom.yaml', import.meta.url));
    const r = await runCli(['check', '-c', shipped]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`${shipped}: 2 warnings\n`)).toBe(true);
    expect(r.stdout).toContain('\nwarning: secret: empty: ');
    expect(r.stdout).toContain('\nwarning: room: the waiting room never holds anyone');
    const strict = await runCli(['check', '-c', shipped, '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toBe(r.stdout);
  });

  it('exits 1 on an error finding, with or without --strict', async () => {
    const f = file('open-admin.yaml', 'secret: s\nadmin: { host: 0.0.0.0 }\nupstreams:\n  app: { url: http://127.0.0.1:3000, concurrency: 20 }\n');
    for (const args of [['check', '--config', f], ['check', '--config', f, '--strict']]) {
      const r = await runCli(args);
      expect(r.code).toBe(1);
      expect(r.stdout.startsWith(`${f}: 1 error\n`)).toBe(true);
      expect(r.stdout).toContain('\nerror: admin.token: empty while admin.host is 0.0.0.0, which is not loopback');
    }
  });

  it('exits 1 and prints every error with its key, value and fix', async () => {
    const f = file('bad.yaml', 'upstreams:\n  app: { url: "ftp://x", timoutMs: 5 }\nlisten: { port: 70000 }\ndefaultUpstream: web\n');
    const r = await runCli(['check', '--config', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${f}: 3 error(s)\n` +
        '  listen.port: expected at most 65535 (got 70000)\n' +
        '  upstreams.app.url: expected an http:// or https:// URL (got "ftp://x")\n' +
        `  upstreams.app.timoutMs: unknown key; did you mean "timeoutMs"? Expected one of: ${Object.keys(upstreamSchema.shape).join(', ')}\n`,
    );
  });

  it('reads environment variables: exit 1 when one is missing, 0 when it is set', async () => {
    const f = file('env.yaml', 'upstreams:\n  app: { url: "${APP_URL}" }\n');
    const missing = await runCli(['check', '--config', f]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('upstreams.app.url: environment variable APP_URL is not set; set it or write ${APP_URL:-default}');
    const set = await runCli(['check', '--config', f], { APP_URL: 'http://10.0.0.5:8000' });
    expect(set.code).toBe(0);
  });

  it('exits 1 on a YAML syntax error', async () => {
    const f = file('syntax.yaml', 'upstreams:\n  app: { url: http://a\n');
    const r = await runCli(['check', '--config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^.*: 1 error\(s\)\n {2}\(top level\): YAML syntax: .+ at line \d+, column \d+\n$/);
  });

  it('exits 1 when the file cannot be read', async () => {
    const r = await runCli(['check', '--config', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read config file');
  });

  it('exits 1 with usage when --config is missing or the command is unknown', async () => {
    const noConfig = await runCli(['check']);
    expect(noConfig.code).toBe(1);
    expect(noConfig.stderr).toMatch(/^missing --config FILE\nusage:/);
    const unknown = await runCli(['frobnicate', '--config', 'x.yaml']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^unknown command "frobnicate"\nusage:/);
    const badFlag = await runCli(['check', '--conifg', 'x.yaml']);
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toContain("Unknown option '--conifg'");
    const wrongCommand = await runCli(['start', '--config', 'x.yaml', '--strict']);
    expect(wrongCommand.code).toBe(1);
    expect(wrongCommand.stderr).toContain("Unknown option '--strict'");
  });

  it('start refuses an invalid config with exit 1 before listening', async () => {
    const f = file('bad-start.yaml', 'upstreams: {}\n');
    const r = await runCli(['start', '--config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${f}: refusing to start, 1 error(s)\n  upstreams: expected at least one upstream (got {})\n`);
  });
});

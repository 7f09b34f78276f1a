/**
 * The container HEALTHCHECK probe (src/cli/healthcheck.ts): the URL it derives from a config file's
 * `listen` section, the `--config` it finds in a command line, and the built probe against a running
 * proxy and a closed port.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configArg, healthUrl } from '../../src/cli/healthcheck.js';
import { closedPort, startProxy, type Origin, type Proxy } from '../helpers/index.js';
import { quickOrigin } from '../pipeline/util.js';

const PROBE = new URL('../../dist/src/cli/healthcheck.js', import.meta.url).pathname;
const EMBEDDED = readFileSync(new URL('../../config/anteroom.yaml', import.meta.url), 'utf8');

describe('healthUrl', () => {
  it('reads the embedded config with its defaults and the environment', () => {
    expect(healthUrl(EMBEDDED, {})).toEqual({ ok: true, url: 'http://127.0.0.1:8080/__anteroom/healthz' });
    expect(healthUrl(EMBEDDED, { ANTEROOM_PORT: '8181' })).toEqual({ ok: true, url: 'http://127.0.0.1:8181/__anteroom/healthz' });
  });

  it('probes a wildcard host on loopback and a named one where it is', () => {
    expect(healthUrl('listen: { host: "::", port: 9000 }\n', {})).toEqual({ ok: true, url: 'http://[::1]:9000/__anteroom/healthz' });
    expect(healthUrl('listen: { host: 10.1.2.3, port: 9000 }\n', {})).toEqual({ ok: true, url: 'http://10.1.2.3:9000/__anteroom/healthz' });
    expect(healthUrl('listen: { host: "fd00::5" }\n', {})).toEqual({ ok: true, url: 'http://[fd00::5]:8080/__anteroom/healthz' });
  });

  it('uses the default listener when the file has no listen section', () => {
    expect(healthUrl('upstreams: { app: { url: "http://127.0.0.1:3000" } }\n', {})).toEqual({ ok: true, url: 'http://127.0.0.1:8080/__anteroom/healthz' });
  });

  it('ignores errors outside listen: the running proxy keeps its last good config', () => {
    expect(healthUrl('listen: { port: 8181 }\nupstreams: 7\nbogus: true\n', {})).toEqual({ ok: true, url: 'http://127.0.0.1:8181/__anteroom/healthz' });
  });

  it('reports a listen section it cannot use', () => {
    const bad = healthUrl('listen: { port: eighty }\n', {});
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toContain('listen.port');
    const unset = healthUrl('listen:\n  port: ${PROBE_PORT}\n', {});
    expect(!unset.ok && unset.error).toContain('PROBE_PORT');
    const syntax = healthUrl('listen: [\n', {});
    expect(!syntax.ok && syntax.error).toContain('YAML syntax');
  });
});

describe('configArg', () => {
  it('finds every spelling of --config', () => {
    expect(configArg(['--config', '/a.yaml'])).toBe('/a.yaml');
    expect(configArg(['--dev', '--config=/b.yaml'])).toBe('/b.yaml');
    expect(configArg(['-c', 'c.yaml'])).toBe('c.yaml');
    expect(configArg(['-cd.yaml'])).toBe('d.yaml');
    expect(configArg(['--dev'])).toBeUndefined();
    expect(configArg(['--config'])).toBeUndefined();
  });
});

describe('the built probe', () => {
  let origin: Origin;
  let proxy: Proxy;
  let dir: string;

  beforeAll(async () => {
    origin = await quickOrigin();
    proxy = await startProxy(origin.url);
    dir = mkdtempSync(join(tmpdir(), 'anteroom-healthcheck-'));
  });

  afterAll(async () => {
    await proxy?.stop();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Asynchronous: the proxy runs in this process and must answer while the probe waits.
  const probe = (file: string): Promise<{ status: number | null; stdout: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [PROBE, '--config', file], { encoding: 'utf8', env: { PATH: process.env['PATH'] } }, (err, stdout) => {
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout });
      });
    });

  it('exits 0 when the proxy on the configured port answers', async () => {
    const file = join(dir, 'up.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: ${proxy.port} }\n`);
    expect(await probe(file)).toEqual({ status: 0, stdout: '' });
  });

  it('exits 1 and says why when nothing listens there', async () => {
    const file = join(dir, 'down.yaml');
    const port = await closedPort();
    writeFileSync(file, `listen: { port: ${port} }\n`);
    const r = await probe(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`127.0.0.1:${port}/__anteroom/healthz`);
    expect(r.stdout).toContain('ECONNREFUSED');
  });

  it('exits 1 for a file it cannot read', async () => {
    const r = await probe(join(dir, 'missing.yaml'));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('cannot read');
  });
});

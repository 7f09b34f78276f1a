/**
 * `anteroom admin ...` (the built CLI, as a child process) against a running proxy: readable output,
 * the change in force at the proxy, exit 1 with the server's own message when it says no, the admin
 * address and token from a config file; and `anteroom start` refusing an open admin listener.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startProxy, type Origin, type Proxy } from '../helpers/index.js';
import { get, quickOrigin } from '../pipeline/util.js';
import { adminUrl, TOKEN } from '../admin/adminClient.js';
import { runCli } from './cli.js';

let origin: Origin;
let proxy: Proxy;
let dir: string;

beforeAll(async () => {
  origin = await quickOrigin();
  proxy = await startProxy(origin.url, {
    admin: { token: TOKEN },
    identity: { tenant: [{ header: 'x-tenant-id' }] },
    // A tenant with limits of its own is listed in the status before it is seen.
    limits: { tenants: { acme: { concurrency: 100 } } },
  });
  dir = mkdtempSync(join(tmpdir(), 'anteroom-admin-cli-'));
});

afterAll(async () => {
  await proxy?.stop();
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

function admin(...args: string[]) {
  return runCli(['admin', ...args, '--admin', adminUrl(proxy)], { ANTEROOM_ADMIN_TOKEN: TOKEN });
}

function tenantStatus(tenant: string): Promise<number> {
  return get(proxy.port, '/x', { headers: { 'x-tenant-id': tenant } }).then((r) => r.status);
}

describe('anteroom admin', () => {
  it('status prints the upstreams and tenants', async () => {
    const r = await admin('status');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^instance \S+ {2}up \d+ s {2}store memory/);
    expect(r.stdout).toContain('room: local queue, 0 waiting');
    expect(r.stdout).toMatch(/upstreams\n {2}name +state +in flight +limit +signals\n {2}app +- +0 +none +-/);
    expect(r.stdout).toMatch(/tenants\n.*\n {2}acme +auto +0\/0\/0/);
    const json = await admin('status', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ instance: proxy.app.rt.instanceId });
  });

  it('block, blocks and unblock change what the proxy lets through', async () => {
    const blocked = await admin('block', '--tenant', 'acme', '--reason', 'runaway automation', '--ttl', '10m', '--close-websockets');
    expect(blocked.stderr).toBe('');
    expect(blocked.stdout).toMatch(/^blocked: (\S+) {2}tenant acme {2}until \S+ \(600 s\), open websockets closed {2}reason: runaway automation\n$/);
    const id = /^blocked: (\S+)/.exec(blocked.stdout)![1]!;
    expect(await tenantStatus('acme')).toBe(403);
    expect(await tenantStatus('globex')).toBe(200);
    expect((await admin('blocks')).stdout).toContain(`${id}  tenant acme`);
    const lifted = await admin('unblock', id);
    expect(lifted.code).toBe(0);
    expect(lifted.stdout).toMatch(new RegExp(`^unblocked: ${id} `));
    expect(await tenantStatus('acme')).toBe(200);
    expect((await admin('blocks')).stdout).toBe('no blocks\n');
  });

  it('mode sets, shows and clears a tenant mode', async () => {
    const set = await admin('mode', 'maintenance', '--tenant', 'acme', '--message', 'Back at noon');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^config: auto\nglobal: none \(the config's mode is in force\)\ntenant acme: maintenance {2}message: Back at noon {2}\(since \S+\)\n$/);
    expect(await tenantStatus('acme')).toBe(503);
    const cleared = await admin('mode', '--tenant', 'acme', '--clear');
    expect(cleared.stdout).not.toContain('tenant acme');
    expect(await tenantStatus('acme')).toBe(200);
  });

  it('override sets and clears a tenant limit', async () => {
    const set = await admin('override', '--tenant', 'acme', '--rate', '1/min', '--reason', 'cool down');
    expect(set.stdout).toBe('override: tenant acme: rate 1/min  reason: cool down\n');
    expect(await tenantStatus('acme')).toBe(200);
    expect(await tenantStatus('acme')).toBe(429);
    expect((await admin('override', '--tenant', 'acme', '--clear')).stdout).toMatch(/^cleared: tenant acme/);
    expect(await tenantStatus('acme')).toBe(200);
  });

  it('exits 1 with the server\'s message when the server says no', async () => {
    const bad = await admin('block', '--ip', '999.1.1.1', '--reason', 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^anteroom admin: 400 value: expected an IP address or CIDR block like 203\.0\.113\.7 or 10\.0\.0\.0\/8 \(got "999\.1\.1\.1"\)\n$/);
    const reload = await admin('reload');
    expect(reload.code).toBe(1);
    expect(reload.stderr).toContain('422 the config was not applied:\n  (top level): anteroom was not started from a config file');
    const wrong = await runCli(['admin', 'status', '--admin', adminUrl(proxy), '--token', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('anteroom admin: 401 wrong token\n');
    const missing = await runCli(['admin', 'unblock', 'nope', '--admin', adminUrl(proxy), '--token', TOKEN]);
    expect(missing.stderr).toBe('anteroom admin: 404 no block with id nope; GET /blocks lists them\n');
  });

  it('says what is wrong with its own arguments, and when the API cannot be reached', async () => {
    const two = await admin('block', '--tenant', 'a', '--route', 'b', '--reason', 'x');
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/^anteroom admin: block needs exactly one of --client, --session, --ip, --tenant, --route\nusage:/);
    expect((await admin('block', '--tenant', 'a', '--reason', 'x', '--ttl', 'soon')).stderr).toMatch(/--ttl: expected a duration like 90s, 10m, 2h or 1d \(got soon\)/);
    const port = await closedPort();
    const down = await runCli(['admin', 'status', '--admin', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`anteroom admin: cannot reach the admin API at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it('finds the admin address and token in the config file', async () => {
    const file = join(dir, 'anteroom.yaml');
    writeFileSync(file, `admin: { host: 0.0.0.0, port: ${proxy.app.adminAddress!.port}, token: "\${ADMIN_SECRET}" }\nupstreams: { app: { url: "http://127.0.0.1:1" } }\n`);
    const r = await runCli(['admin', 'blocks', '--config', file], { ADMIN_SECRET: TOKEN });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('no blocks\n');
  });
});

describe('anteroom start', () => {
  it('refuses an admin listener beyond loopback without a token, with a clear message', async () => {
    const file = join(dir, 'open-admin.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: 0 }\nadmin: { host: 0.0.0.0, port: 0 }\nupstreams: { app: { url: "${origin.url}" } }\nlog: { level: silent }\n`);
    const r = await runCli(['start', '--config', file, '--dev']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: refusing to start: admin.host is 0.0.0.0, which is not loopback, and no admin token is set`);
  });
});

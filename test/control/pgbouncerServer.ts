/**
 * A private PgBouncer per test file, in front of the machine's PostgreSQL: free loopback port, its
 * own temp dir, a pool of `poolSize` server connections in session mode, trust auth. PgBouncer
 * refuses to run as root, so as root it is started with `-u postgres`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redisServer.js';

export const PGBOUNCER = process.env['PGBOUNCER'] ?? '/usr/sbin/pgbouncer';
export const hasPgbouncer = existsSync(PGBOUNCER);

export interface PgbouncerServer {
  port: number;
  /** Connects clients to the pooled `postgres` database. */
  poolUrl: string;
  /** Connects to the admin console. */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startPgbouncer(poolSize: number, pg = { host: '127.0.0.1', port: 5432 }): Promise<PgbouncerServer> {
  const dir = mkdtempSync(join(tmpdir(), 'anteroom-pgbouncer-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n', { mode: 0o644 });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `postgres = host=${pg.host} port=${pg.port} dbname=postgres`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      'pool_mode = session',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 100',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  await waitForPort(port, 5_000);
  return {
    port,
    poolUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/pgbouncer`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

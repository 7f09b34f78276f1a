/**
 * The machine's real databases for the control tests: PostgreSQL on 127.0.0.1:5432 (user postgres,
 * trust auth) and MariaDB on 127.0.0.1:3306 (root, no password), overridable by environment.
 * Connections a test opens are tracked and closed by `closeAll`.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { listenTcp, type TcpListener } from '../helpers/tcpListener.js';

export const PG_URL = process.env['ANTEROOM_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_URL = process.env['ANTEROOM_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/';

export class Crowd {
  private readonly pgClients: pg.Client[] = [];
  private readonly mysqlConns: mysql.Connection[] = [];

  /** Opens `n` idle PostgreSQL sessions. */
  async postgres(n: number, application = 'anteroom-test-crowd'): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ connectionString: PG_URL, application_name: application });
      c.on('error', () => undefined);
      await c.connect();
      this.pgClients.push(c);
    }
  }

  /** Opens `n` idle MariaDB connections. */
  async mysql(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = await mysql.createConnection({ uri: MYSQL_URL });
      c.on('error', () => undefined);
      this.mysqlConns.push(c);
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.pgClients.splice(0).map((c) => c.end().catch(() => undefined)));
    await Promise.all(this.mysqlConns.splice(0).map((c) => c.end().catch(() => undefined)));
  }
}

/** Polls `check` every 50 ms until it is true, or fails after `ms` (waiting on a server, not timing it). */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP server that accepts connections and never says a word: a hung database. */
export function silentServer(): Promise<TcpListener> {
  return listenTcp();
}

/**
 * Takes a server-wide lock until the returned release is called, so that test files running in
 * parallel do not open and close sessions under each other's connection counts. The lock's own
 * session is open before any baseline is taken and until the end, so it does not move the count.
 */
export async function lockPostgres(): Promise<() => Promise<void>> {
  const lock = new pg.Client({ connectionString: PG_URL, application_name: 'anteroom-test-lock' });
  lock.on('error', () => undefined);
  await lock.connect();
  await lock.query('select pg_advisory_lock(6006)');
  return () => lock.end().catch(() => undefined);
}

/** The same for MariaDB, with a named lock. */
export async function lockMysql(): Promise<() => Promise<void>> {
  const lock = await mysql.createConnection({ uri: MYSQL_URL });
  lock.on('error', () => undefined);
  await lock.query("SELECT GET_LOCK('anteroom-test-connections', 120)");
  return () => lock.end().catch(() => undefined);
}

/** Runs `fn` under `lockPostgres`. */
export async function exclusivePostgres<T>(fn: () => Promise<T>): Promise<T> {
  const release = await lockPostgres();
  try {
    return await fn();
  } finally {
    await release();
  }
}

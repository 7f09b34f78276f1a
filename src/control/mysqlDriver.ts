/**
 * MySQL and MariaDB connection counts from the server's status: `Threads_connected` (open client
 * connections) or `Threads_running` (those executing a statement), each less this poller's own,
 * against `max_connections`.
 */
import mysql from 'mysql2/promise';
import type { PollDriver, PollReading } from './poller.js';
import { redactUrl } from './redactUrl.js';

export type MysqlMeasure = 'connections' | 'running';

export class MysqlDriver implements PollDriver {
  readonly description: string;
  private conn: mysql.Connection | null = null;
  private open = false;
  /** Bumped by every connect and close, so a connect that finishes after close() is discarded. */
  private generation = 0;

  constructor(
    private readonly url: string,
    private readonly measure: MysqlMeasure = 'connections',
  ) {
    this.description = `mysql ${redactUrl(url)}`;
  }

  isOpen(): boolean {
    return this.open;
  }

  /** The server's id of the open connection (PROCESSLIST ID), for diagnostics; null when closed. */
  get connectionId(): number | null {
    return this.open ? (this.conn?.threadId ?? null) : null;
  }

  async connect(timeoutMs: number): Promise<void> {
    const generation = ++this.generation;
    const conn = await mysql.createConnection({ uri: this.url, connectTimeout: timeoutMs, enableKeepAlive: true });
    // The poller gave up on this attempt (timeout) and closed us meanwhile: do not leak the late connection.
    if (generation !== this.generation) {
      conn.destroy();
      throw new Error('connection attempt abandoned');
    }
    // A dropped connection is reported here, outside any query; without a listener it would crash the process.
    conn.on('error', () => {
      this.open = false;
    });
    conn.on('end', () => {
      this.open = false;
    });
    this.conn = conn;
    this.open = true;
  }

  async poll(timeoutMs: number): Promise<PollReading> {
    const conn = this.conn;
    if (conn === null) throw new Error('not connected');
    const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql: "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running')", timeout: timeoutMs });
    const [vars] = await conn.query<mysql.RowDataPacket[]>({ sql: 'SELECT @@GLOBAL.max_connections AS max_connections', timeout: timeoutMs });
    const status = new Map<string, number>();
    for (const row of rows) status.set(String(row['Variable_name']).toLowerCase(), Number(row['Value']));
    const connected = status.get('threads_connected');
    const running = status.get('threads_running');
    if (connected === undefined || running === undefined) throw new Error('server reported no Threads_connected / Threads_running');
    // Both counts include this poller's own connection, running the SHOW statement.
    const others = Math.max(0, connected - 1);
    const othersRunning = Math.max(0, running - 1);
    const max = Number(vars[0]?.['max_connections']);
    const capacity = Number.isFinite(max) ? max : null;
    return {
      value: this.measure === 'running' ? othersRunning : others,
      capacity,
      detail: `Threads_connected ${others}, Threads_running ${othersRunning} (this poller excluded) of max_connections ${capacity ?? 'unknown'}; measuring ${this.measure}`,
    };
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.open = false;
    this.generation++;
    // destroy(), not end(): end() queues behind a statement that may be the one that timed out.
    conn?.destroy();
  }
}

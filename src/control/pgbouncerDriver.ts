/**
 * PgBouncer pool pressure from its admin console (`SHOW POOLS`): clients waiting for a server
 * connection (`cl_waiting`, summed over pools) or the longest such wait (`maxwait`, the worst pool).
 * A client waits in PgBouncer exactly when the database's pool is exhausted, which is the moment to
 * start queueing in front of the application instead (incident 003).
 *
 * Connect as a user listed in PgBouncer's `stats_users` or `admin_users`, to the `pgbouncer` database.
 * The console speaks only the simple query protocol and rejects unknown startup parameters, so the
 * client is given none (no statement_timeout, no application_name).
 */
import { PgConnection } from './pgConnection.js';
import type { PollDriver, PollReading } from './poller.js';
import { redactUrl } from './redactUrl.js';

export type PgbouncerMeasure = 'waiting' | 'maxwaitMs';

export class PgbouncerDriver implements PollDriver {
  readonly description: string;
  private readonly conn = new PgConnection();

  constructor(
    private readonly url: string,
    private readonly measure: PgbouncerMeasure = 'waiting',
  ) {
    this.description = `pgbouncer ${redactUrl(url)}`;
  }

  isOpen(): boolean {
    return this.conn.isOpen();
  }

  async connect(timeoutMs: number): Promise<void> {
    await this.conn.connect({ connectionString: this.url, connectionTimeoutMillis: timeoutMs });
  }

  async poll(): Promise<PollReading> {
    const client = this.conn.client;
    const result = await client.query<Record<string, unknown>>('SHOW POOLS');
    let waiting = 0;
    let active = 0;
    let maxwaitMs = 0;
    let pools = 0;
    for (const row of result.rows) {
      // The console's own pseudo-database is not an application pool.
      if (row['database'] === 'pgbouncer') continue;
      pools++;
      waiting += Number(row['cl_waiting'] ?? 0);
      active += Number(row['cl_active'] ?? 0);
      const wait = Number(row['maxwait'] ?? 0) * 1000 + Number(row['maxwait_us'] ?? 0) / 1000;
      if (wait > maxwaitMs) maxwaitMs = wait;
    }
    maxwaitMs = Math.round(maxwaitMs);
    return {
      value: this.measure === 'maxwaitMs' ? maxwaitMs : waiting,
      capacity: null,
      detail: `${pools} pools: cl_waiting ${waiting}, cl_active ${active}, maxwait ${maxwaitMs} ms; measuring ${this.measure}`,
    };
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/**
 * PostgreSQL connection counts from `pg_stat_activity`: client backends only (autovacuum, WAL
 * writers and the like are the server's own), and not this poller's own session, so the number is
 * what the application holds. Measured against `max_connections`, which a percentage threshold
 * refers to (incident 003: connections piled up past the spare capacity before anyone looked).
 *
 * Any role may count sessions; seeing other roles' session states (for `measure: active`) needs
 * `pg_read_all_stats` or superuser, otherwise their state reads as null and they count as not active.
 */
import { PgConnection } from './pgConnection.js';
import type { PollDriver, PollReading } from './poller.js';
import { redactUrl } from './redactUrl.js';

export type PostgresMeasure = 'connections' | 'active';

const QUERY = `select count(*)::int as connections,
  (count(*) filter (where state = 'active'))::int as active,
  (count(*) filter (where state = 'idle'))::int as idle,
  (count(*) filter (where state like 'idle in transaction%'))::int as idle_in_transaction,
  current_setting('max_connections')::int as max_connections
from pg_stat_activity
where backend_type = 'client backend' and pid <> pg_backend_pid()`;

interface Row {
  connections: number;
  active: number;
  idle: number;
  idle_in_transaction: number;
  max_connections: number;
}

export class PostgresDriver implements PollDriver {
  readonly description: string;
  private readonly conn = new PgConnection();

  constructor(
    private readonly url: string,
    private readonly measure: PostgresMeasure = 'connections',
  ) {
    this.description = `postgres ${redactUrl(url)}`;
  }

  isOpen(): boolean {
    return this.conn.isOpen();
  }

  /** The server process of the open connection (pg_stat_activity.pid), for diagnostics; null when closed. */
  get backendPid(): number | null {
    return this.conn.backendPid;
  }

  async connect(timeoutMs: number): Promise<void> {
    await this.conn.connect({
      connectionString: this.url,
      connectionTimeoutMillis: timeoutMs,
      // The server abandons a poll that outlives its timeout, so a stuck poll never holds a backend.
      statement_timeout: timeoutMs,
      application_name: 'anteroom-control',
    });
  }

  async poll(): Promise<PollReading> {
    const client = this.conn.client;
    const result = await client.query<Row>(QUERY);
    const r = result.rows[0]!;
    const value = this.measure === 'active' ? r.active : r.connections;
    return {
      value,
      capacity: r.max_connections,
      detail: `${r.connections} client connections (active ${r.active}, idle ${r.idle}, idle in transaction ${r.idle_in_transaction}) of max_connections ${r.max_connections}; measuring ${this.measure}`,
    };
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/**
 * One PostgreSQL-protocol connection kept open by a poller (PostgreSQL itself or PgBouncer's console):
 * connecting, noticing when it drops, and closing without leaking a connection that completes after
 * the poller gave up on it.
 */
import pg from 'pg';

export class PgConnection {
  private current: pg.Client | null = null;
  private open = false;

  isOpen(): boolean {
    return this.open;
  }

  /** The connected client; throws when there is none. */
  get client(): pg.Client {
    if (this.current === null) throw new Error('not connected');
    return this.current;
  }

  /** The server process of the open connection (its BackendKeyData), null when closed. */
  get backendPid(): number | null {
    // `processID` is set by the server's BackendKeyData message; @types/pg does not declare it.
    return this.open ? ((this.current as unknown as { processID: number | null } | null)?.processID ?? null) : null;
  }

  async connect(config: pg.ClientConfig): Promise<void> {
    const client = new pg.Client(config);
    // A dropped connection is reported here, outside any query; without a listener it would crash the process.
    client.on('error', () => {
      this.open = false;
    });
    client.on('end', () => {
      this.open = false;
    });
    this.current = client;
    try {
      await client.connect();
    } catch (err) {
      if (this.current === client) this.current = null;
      void client.end().catch(() => undefined);
      throw err;
    }
    // The poller gave up on this attempt (timeout) and closed us meanwhile: do not leak the late connection.
    if (this.current !== client) {
      void client.end().catch(() => undefined);
      throw new Error('connection attempt abandoned');
    }
    this.open = true;
  }

  async close(): Promise<void> {
    const client = this.current;
    this.current = null;
    this.open = false;
    if (client === null) return;
    // end() waits for a query in progress; a poll that timed out may never finish, so do not wait on it forever.
    await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }
}

/**
 * Builds the database pollers an upstream's `engage.dbConnections` names, with their engage and
 * shed thresholds. Signal names: `db.postgres`, `db.mysql`, `db.pgbouncer`, `db.http`.
 */
import { HttpJsonDriver } from './httpJsonDriver.js';
import { MysqlDriver } from './mysqlDriver.js';
import { PgbouncerDriver } from './pgbouncerDriver.js';
import { Poller } from './poller.js';
import { PostgresDriver } from './postgresDriver.js';
import type { UpstreamControlConfig } from './schema.js';
import { parseThreshold } from './threshold.js';

export interface DbSourceOptions {
  now?: () => number;
  onError?: (err: Error, name: string) => void;
}

export function buildDbPollers(config: UpstreamControlConfig, opts: DbSourceOptions = {}): Poller[] {
  const db = config.engage.dbConnections;
  const shed = config.shed.dbConnections ?? {};
  if (db === undefined) return [];
  const out: Poller[] = [];
  const common = { now: opts.now, onError: opts.onError };
  const shedOf = (v: number | string | undefined) => (v === undefined ? null : parseThreshold(v));
  if (db.postgres) {
    const s = db.postgres;
    out.push(new Poller('db.postgres', new PostgresDriver(s.url, s.measure), { ...common, everyMs: s.everyMs, timeoutMs: s.timeoutMs, engage: parseThreshold(s.above), shed: shedOf(shed.postgres) }));
  }
  if (db.mysql) {
    const s = db.mysql;
    out.push(new Poller('db.mysql', new MysqlDriver(s.url, s.measure), { ...common, everyMs: s.everyMs, timeoutMs: s.timeoutMs, engage: parseThreshold(s.above), shed: shedOf(shed.mysql) }));
  }
  if (db.pgbouncer) {
    const s = db.pgbouncer;
    out.push(new Poller('db.pgbouncer', new PgbouncerDriver(s.url, s.measure), { ...common, everyMs: s.everyMs, timeoutMs: s.timeoutMs, engage: parseThreshold(s.above), shed: shedOf(shed.pgbouncer) }));
  }
  if (db.http) {
    const s = db.http;
    out.push(new Poller('db.http', new HttpJsonDriver(s.url, s.pointer), { ...common, everyMs: s.everyMs, timeoutMs: s.timeoutMs, engage: parseThreshold(s.above), shed: shedOf(shed.http) }));
  }
  return out;
}

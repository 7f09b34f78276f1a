/**
 * What a reload does with a new, valid config: what it changes, and which of its changes need a
 * restart. The listeners' addresses, the store and the secret cannot change under a running proxy
 * (bound sockets, the connections and buckets in the store, every ticket and session signed with the
 * secret), so they keep their running values and are reported; everything else is applied. Pure, so
 * it is tested without a proxy.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './schema.js';

export interface ReloadPlan {
  /** The config to apply: the new one, with the restart-only settings at their running values. */
  readonly config: Readonly<Config>;
  /** What the reload changes: top-level keys, upstreams by name (`upstreams.api`, `upstreams.new (added)`). */
  readonly changed: string[];
  /** Restart-only settings the new file changes, as key paths; they keep their running values. */
  readonly needsRestart: string[];
}

/** The settings that only a restart applies. `store` counts key by key. */
export const RESTART_ONLY = ['listen.host', 'listen.port', 'listen.backlog', 'admin.host', 'admin.port', 'store', 'secret'] as const;

export function planReload(running: Readonly<Config>, next: Readonly<Config>): ReloadPlan {
  const needsRestart: string[] = [];
  const differs = (path: string, a: unknown, b: unknown): void => {
    if (!isDeepStrictEqual(a, b)) needsRestart.push(path);
  };
  differs('listen.host', running.listen.host, next.listen.host);
  differs('listen.port', running.listen.port, next.listen.port);
  differs('listen.backlog', running.listen.backlog, next.listen.backlog);
  differs('admin.host', running.admin.host, next.admin.host);
  differs('admin.port', running.admin.port, next.admin.port);
  const storeKeys = new Set([...Object.keys(running.store), ...Object.keys(next.store)]);
  for (const key of storeKeys) differs(`store.${key}`, field(running.store, key), field(next.store, key));
  differs('secret', running.secret, next.secret);

  const config: Readonly<Config> = Object.freeze({
    ...next,
    listen: Object.freeze({ ...next.listen, host: running.listen.host, port: running.listen.port, backlog: running.listen.backlog }),
    admin: Object.freeze({ ...next.admin, host: running.admin.host, port: running.admin.port }),
    store: running.store,
    secret: running.secret,
  });
  return { config, changed: changedKeys(running, config), needsRestart };
}

/** Top-level keys whose value differs; `upstreams` is broken down by upstream name. */
function changedKeys(before: Readonly<Config>, after: Readonly<Config>): string[] {
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = field(before, key);
    const b = field(after, key);
    if (isDeepStrictEqual(a, b)) continue;
    if (key !== 'upstreams') {
      changed.push(key);
      continue;
    }
    for (const name of new Set([...Object.keys(before.upstreams), ...Object.keys(after.upstreams)])) {
      const was = before.upstreams[name];
      const is = after.upstreams[name];
      if (was === undefined) changed.push(`upstreams.${name} (added)`);
      else if (is === undefined) changed.push(`upstreams.${name} (removed)`);
      else if (!isDeepStrictEqual(was, is)) changed.push(`upstreams.${name}`);
    }
  }
  // Without `defaultUpstream` the first upstream is the default, so reordering them changes it.
  const defaultOf = (c: Readonly<Config>): string => c.defaultUpstream ?? Object.keys(c.upstreams)[0]!;
  if (defaultOf(before) !== defaultOf(after) && !changed.includes('defaultUpstream')) changed.push('defaultUpstream');
  return changed;
}

function field(object: object, key: string): unknown {
  return (object as Record<string, unknown>)[key];
}

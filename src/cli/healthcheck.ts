#!/usr/bin/env node
/**
 * The container image's HEALTHCHECK: GET /__anteroom/healthz on the running proxy's public listener.
 *
 *   node dist/src/cli/healthcheck.js [--config FILE]
 *
 * The address comes from the config file the proxy was started with (the `--config` after `start` in
 * the container's main process, read from /proc/1/cmdline; /etc/anteroom/anteroom.yaml if none is
 * found), with the same environment, so a mounted file that moves the port is probed where the proxy
 * listens. Only the `listen` section is read: a later edit that breaks another part of the file is
 * refused by the reload and the proxy keeps serving, so it must not make the container unhealthy.
 * Exit 0: the proxy answered 200. Exit 1: anything else, with the reason on stdout (Docker keeps it
 * in `docker inspect`'s health log).
 */
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { formatConfigError, parseConfigText } from '../config/load.js';

export const DEFAULT_CONFIG = '/etc/anteroom/anteroom.yaml';
const PATH = '/__anteroom/healthz';

/** The value of `--config FILE`, `--config=FILE`, `-c FILE` or `-cFILE` in an argument list. */
export function configArg(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--config' || a === '-c') && i + 1 < args.length) return args[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
    if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--')) return a.slice(2);
  }
  return undefined;
}

/** The config file of the container's main process, resolved against its working directory. */
function mainProcessConfig(): string | undefined {
  let args: string[];
  try {
    args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
  } catch {
    return undefined;
  }
  // The arguments of `start` only: a wrapper before it (`sh -c ...`, an init) may have a -c of its own.
  const at = args.indexOf('start');
  const file = at === -1 ? undefined : configArg(args.slice(at + 1));
  if (file === undefined) return undefined;
  try {
    return resolve(readlinkSync('/proc/1/cwd'), file);
  } catch {
    return resolve(file);
  }
}

/**
 * The healthz URL for the `listen` section of a config text: `${VAR}` references resolved from `env`
 * and defaults applied exactly as `anteroom start` does; a wildcard host is probed on loopback.
 */
export function healthUrl(text: string, env: NodeJS.ProcessEnv = process.env): { ok: true; url: string } | { ok: false; error: string } {
  let listen: unknown;
  try {
    listen = (parse(text, { logLevel: 'error' }) as { listen?: unknown } | null)?.listen;
  } catch (err) {
    return { ok: false, error: `YAML syntax: ${(err as Error).message.split('\n')[0]}` };
  }
  // The section alone, beside a placeholder upstream (the schema requires one), through the same
  // substitution, validation and defaults as the whole file.
  const result = parseConfigText(stringify({ ...(listen !== undefined ? { listen } : {}), upstreams: { probe: { url: 'http://127.0.0.1:1' } } }), env);
  if (!result.ok) return { ok: false, error: result.errors.map(formatConfigError).join('; ') };
  const { host, port } = result.config.listen;
  const probeHost = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { ok: true, url: `http://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${port}${PATH}` };
}

async function main(argv: string[]): Promise<number> {
  const file = configArg(argv) ?? mainProcessConfig() ?? DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    process.stdout.write(`cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const target = healthUrl(text, process.env);
  if (!target.ok) {
    process.stdout.write(`${file}: ${target.error}\n`);
    return 1;
  }
  try {
    const res = await fetch(target.url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    if (res.status === 200) return 0;
    process.stdout.write(`GET ${target.url}: HTTP ${res.status}\n`);
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    process.stdout.write(`GET ${target.url}: ${(err as Error).message}${cause !== undefined ? ` (${cause})` : ''}\n`);
  }
  return 1;
}

// Run as a program, not when a test imports it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

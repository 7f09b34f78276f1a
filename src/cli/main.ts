#!/usr/bin/env node
/**
 * The anteroom command line:
 *   anteroom start --config FILE [--dev]
 *   anteroom check --config FILE [--strict]
 *   anteroom explain --config FILE METHOD URL [-H 'name: value' ...] [--ip ADDRESS]
 *   anteroom admin COMMAND ...      (src/cli/admin.ts)
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigWatcher } from '../config/configWatcher.js';
import { formatConfigError, loadConfigFile } from '../config/load.js';
import { ADMIN_USAGE, adminCli } from './admin.js';
import { check } from './check.js';
import { explain } from './explain.js';

const USAGE = `usage:
  anteroom start --config FILE [--dev]
      run the proxy; SIGHUP or saving the file reloads it; --dev generates a secret when none is set
  anteroom check --config FILE [--strict]
      validate a config file, list what each route does and warn about likely mistakes;
      exit 1 on errors, 2 on warnings with --strict, 0 otherwise
  anteroom explain --config FILE METHOD URL [-H 'name: value' ...] [--ip ADDRESS]
      show the tenant, client, route, limits and decision the proxy would apply to one request;
      URL is absolute or a path with -H 'host: ...'; --ip is the client's address (default 127.0.0.1)
  anteroom admin COMMAND ...
      talk to a running proxy's admin API (status, block, unblock, mode, override, reload; see below)

${ADMIN_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'explain') return runExplain(rest);
  if (command === 'admin') {
    const out = await adminCli(rest);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.code;
  }
  let values: { config?: string; dev?: boolean; strict?: boolean };
  try {
    const flag = command === 'start' ? 'dev' : command === 'check' ? 'strict' : undefined;
    const options: ParseArgsConfig['options'] = { config: { type: 'string', short: 'c' } };
    if (flag !== undefined) options[flag] = { type: 'boolean' };
    ({ values } = parseArgs({ args: rest, options, strict: true }) as { values: typeof values });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (values.config === undefined) {
    process.stderr.write(`missing --config FILE\n${USAGE}`);
    return 1;
  }
  switch (command) {
    case 'check':
      return runCheck(values.config, values.strict === true);
    case 'start':
      return start(values.config, values.dev === true);
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 1;
  }
}

function runCheck(file: string, strict: boolean): number {
  return print(check(file, { strict }));
}

function runExplain(args: string[]): number {
  let parsed: { values: { config?: string; header?: string[]; ip?: string }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, header: { type: 'string', short: 'H', multiple: true }, ip: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.config === undefined) {
    process.stderr.write(`missing --config FILE\n${USAGE}`);
    return 1;
  }
  if (positionals.length !== 2) {
    process.stderr.write(`expected METHOD URL, got ${positionals.length === 0 ? 'nothing' : positionals.map((p) => JSON.stringify(p)).join(' ')}\n${USAGE}`);
    return 1;
  }
  const [method, url] = positionals as [string, string];
  return print(explain(values.config, { method, url, headers: values.header ?? [], ...(values.ip !== undefined ? { ip: values.ip } : {}) }));
}

function print(out: { code: number; stdout: string; stderr: string }): number {
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  return out.code;
}

async function start(file: string, dev: boolean): Promise<number> {
  const result = loadConfigFile(file);
  if (!result.ok) {
    process.stderr.write(`${file}: refusing to start, ${result.errors.length} error(s)\n`);
    for (const e of result.errors) process.stderr.write(`  ${formatConfigError(e)}\n`);
    return 1;
  }
  // Tickets and admission cookies are signed with the secret: without one a restart would lose every
  // place in line and instances could not honour each other's tickets. Only --dev may generate one.
  if (result.config.secret === '' && !dev) {
    process.stderr.write(
      `${file}: refusing to start: secret is empty. Set it (for example secret: \${ANTEROOM_SECRET} with 32+ random bytes), or pass --dev to generate one for this process.\n`,
    );
    return 1;
  }
  // Loaded here, not at the top: `check`, `explain` and `admin` start faster without the proxy and fastify.
  const { Anteroom } = await import('../app.js');
  const { AdminConfigError } = await import('../admin/adminServer.js');
  const app = new Anteroom(result.config, { configFile: file });
  // SIGHUP and a change of the file reload it; Anteroom.reload logs the outcome either way. The
  // handler goes in first: SIGHUP's default action ends the process.
  process.on('SIGHUP', () => void app.reload('SIGHUP'));
  try {
    await app.start();
  } catch (err) {
    if (err instanceof AdminConfigError) {
      process.stderr.write(`${file}: refusing to start: ${err.message}\n`);
      await app.rt.close();
      return 1;
    }
    app.log.fatal({ err }, 'cannot listen');
    app.log.flush();
    return 1;
  }
  const watcher = new ConfigWatcher(file, () => void app.reload('file change'), { log: app.log });
  watcher.start();
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      // SIGHUP keeps its handler (reload refuses while stopping): its default would end the drain.
      watcher.close();
      if (++signals > 1) {
        app.log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      app.log.info({ signal }, 'signal received');
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let buffered logs flush, then leave even if a stray handle would keep the loop alive.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    process.stderr.write(`anteroom: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

#!/usr/bin/env node
/**
 * The anteroom command line:
 *   anteroom start --config FILE
 *   anteroom check --config FILE
 *   anteroom admin COMMAND ...      (src/cli/admin.ts)
 */
import { parseArgs } from 'node:util';
import { formatConfigError, loadConfigFile } from '../config/load.js';
import { ADMIN_USAGE, adminCli } from './admin.js';
import { check } from './check.js';

const USAGE = `usage:
  anteroom start --config FILE [--dev]
                                 run the proxy; --dev generates a secret when none is configured
  anteroom check --config FILE   validate a config file and list what each route does; exit 1 when invalid
  anteroom admin COMMAND ...     talk to a running proxy's admin API (status, block, unblock, mode, reload; see below)

${ADMIN_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'admin') {
    const out = await adminCli(rest);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.code;
  }
  let values: { config?: string; dev?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, dev: { type: 'boolean' } }, strict: true }));
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
      return runCheck(values.config);
    case 'start':
      return start(values.config, values.dev === true);
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 1;
  }
}

function runCheck(file: string): number {
  const out = check(file);
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
  // Loaded here, not at the top: `check` and `admin` start faster without the proxy and fastify.
  const { Anteroom } = await import('../app.js');
  const { AdminConfigError } = await import('../admin/adminServer.js');
  const app = new Anteroom(result.config, { configFile: file });
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
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
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

/**
 * Runs one seed's config mutants (configFuzz.ts) through the loader in a worker thread, so that the
 * test can tell a hang from slowness and stop it. For every mutant: loadConfigFile must return, not
 * throw; a refusal must carry errors that each name a key path or the top level and print as one
 * bounded line; a config that loads must also go through what `anteroom check` and `anteroom start` do
 * with it (its findings and overview, building the proxy) without throwing. Reports progress before each case.
 *
 * workerData: { seedFile, seed, count }. Messages: { at, name } before each case, then
 * { done, loaded, refused, failures: [{ name, problem }] }.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Anteroom } from '../../src/app.js';
import { findProblems } from '../../src/cli/checkFindings.js';
import { describeConfig } from '../../src/cli/configOverview.js';
import { formatConfigError, loadConfigFile, type ConfigError } from '../../src/config/load.js';
import { mutants } from './configFuzz.js';

const { seedFile, seed, count } = workerData as { seedFile: string; seed: number; count: number };
const port = parentPort!;
/** Only the variables a mutant may refer to by name; everything else is unset. */
const ENV = { PORT: '8080', ANTEROOM_SECRET: 'fuzz-secret-0123456789abcdef0123456789' };
const MAX_LINE = 1_000;

const dir = mkdtempSync(join(tmpdir(), 'anteroom-fuzz-'));
const failures: { name: string; problem: string }[] = [];
let loaded = 0;
let refused = 0;
try {
  const all = mutants(readFileSync(seedFile, 'utf8'), seed, count);
  for (const [i, m] of all.entries()) {
    port.postMessage({ at: i, name: m.name });
    const file = join(dir, `mutant-${i}.yaml`);
    writeFileSync(file, m.bytes);
    try {
      const result = loadConfigFile(file, ENV);
      if (result.ok) {
        loaded++;
        findProblems(result.config);
        describeConfig(result.config);
        const app = new Anteroom(result.config, { logger: pino({ level: 'silent' }) });
        await app.rt.close();
      } else {
        refused++;
        const problem = badErrors(result.errors);
        if (problem !== null) failures.push({ name: m.name, problem });
      }
    } catch (err) {
      failures.push({ name: m.name, problem: `threw: ${(err as Error).stack ?? String(err)}` });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
port.postMessage({ done: true, loaded, refused, failures });

/** What is wrong with a refusal's errors, or null when each names where and what. */
function badErrors(errors: ConfigError[]): string | null {
  if (errors.length === 0) return 'refused without an error';
  for (const e of errors) {
    if (typeof e.path !== 'string' || e.path.startsWith('.') || e.path.endsWith('.')) return `error without a key path: ${JSON.stringify(e.path)}`;
    if (typeof e.message !== 'string' || e.message.trim() === '') return `error at ${e.path} without a message`;
    const line = formatConfigError(e);
    if (!line.startsWith(`${e.path === '' ? '(top level)' : e.path}: `)) return `error line does not start with its key path: ${line.slice(0, 200)}`;
    if (line.length > MAX_LINE || line.includes('\n')) return `error line of ${line.length} characters or on several lines: ${line.slice(0, 200)}`;
  }
  return null;
}

/**
 * `anteroom check --config FILE [--strict]`: validates the file, shows what each route does, and
 * reports what is probably wrong, so that traffic that bypasses the room is visible before it matters
 * (incident 003: a misconfigured queue let most traffic around it).
 *
 * Exit code: 1 when the file is invalid or a finding is an error; 2 with --strict when there are
 * warnings; 0 otherwise.
 */
import { formatConfigError, loadConfigFile } from '../config/load.js';
import { findProblems } from './checkFindings.js';
import { describeConfig } from './configOverview.js';
import { count } from './format.js';

export interface CheckOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CheckOptions {
  /** Warnings fail the check too (exit 2). */
  strict?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function check(file: string, options: CheckOptions = {}): CheckOutput {
  const result = loadConfigFile(file, options.env);
  if (!result.ok) {
    const lines = result.errors.map((e) => `  ${formatConfigError(e)}\n`).join('');
    return { code: 1, stdout: '', stderr: `${file}: ${result.errors.length} error(s)\n${lines}` };
  }
  const findings = findProblems(result.config);
  const errors = findings.filter((f) => f.level === 'error').length;
  const warnings = findings.length - errors;
  const summary = findings.length === 0 ? 'ok' : [errors > 0 ? count(errors, 'error') : '', warnings > 0 ? count(warnings, 'warning') : ''].filter((s) => s !== '').join(', ');
  let stdout = `${file}: ${summary}\n\n${describeConfig(result.config)}`;
  if (findings.length > 0) stdout += `\n${findings.map((f) => `${f.level}: ${f.where}: ${f.message}\n`).join('')}`;
  const code = errors > 0 ? 1 : warnings > 0 && options.strict === true ? 2 : 0;
  return { code, stdout, stderr: '' };
}

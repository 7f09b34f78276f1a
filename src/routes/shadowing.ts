/**
 * Finds rules that can never match because an earlier rule matches everything they match: first match
 * wins, so such a rule is dead config, and usually a mistake in order (a `/api/**` rule above the
 * `/api/export/**` bulk rule meant for it). Only cheap, certain cases are detected: no false alarms,
 * some misses (regex header conditions, overlapping globs other than a `/prefix/**`).
 */

/** The match conditions of a rule, as configured (methods upper-case, host and header names lower-case). */
export interface RuleConditions {
  readonly host?: string | undefined;
  readonly methods?: readonly string[] | undefined;
  readonly path?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface Shadowing {
  /** Index of the rule that can never match. */
  readonly index: number;
  /** Index of the earlier rule that takes all its requests. */
  readonly by: number;
}

export function findShadowed(rules: readonly RuleConditions[]): Shadowing[] {
  const found: Shadowing[] = [];
  for (let j = 1; j < rules.length; j++) {
    for (let i = 0; i < j; i++) {
      if (covers(rules[i]!, rules[j]!)) {
        found.push({ index: j, by: i });
        break;
      }
    }
  }
  return found;
}

/** Whether every request that `later` matches is also matched by `earlier`. */
export function covers(earlier: RuleConditions, later: RuleConditions): boolean {
  return (
    methodsCover(earlier.methods, later.methods) &&
    hostCovers(earlier.host, later.host) &&
    pathCovers(earlier.path, later.path) &&
    headersCover(earlier.headers, later.headers)
  );
}

function methodsCover(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined) return true;
  return b !== undefined && b.every((m) => a.includes(m));
}

function hostCovers(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || a === b) return true;
  if (b === undefined || !a.startsWith('*.')) return false;
  // `*.example.com` covers `api.example.com` and `*.eu.example.com`, not `example.com`.
  return b.endsWith(a.slice(1));
}

function pathCovers(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || a === '/**' || a === b) return true;
  if (b === undefined || !a.endsWith('/**')) return false;
  const base = a.slice(0, -3);
  if (base.includes('*')) return false;
  return b === base || b.startsWith(`${base}/`);
}

/** Only an identical condition on the same header is known to hold; regexes are not compared. */
function headersCover(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === undefined) return true;
  return Object.entries(a).every(([name, value]) => b !== undefined && b[name] === value);
}

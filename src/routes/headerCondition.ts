/**
 * A route's header condition: an exact value, or `/regex/flags`. The `g` and `y` flags are refused:
 * they make `RegExp.prototype.test` stateful (it resumes at `lastIndex`), so the same header would
 * match on one request and not on the next.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface HeaderCondition {
  /** Lower-case header name. */
  readonly name: string;
  readonly exact: string | undefined;
  readonly pattern: RegExp | undefined;
}

const REGEX_FORM = /^\/(.*)\/([a-z]*)$/s;

/** The RegExp of a `/regex/flags` value, null for an exact value, or a message saying what is wrong. */
export function headerRegExp(value: string): RegExp | null | string {
  const m = REGEX_FORM.exec(value);
  if (!m) return null;
  const [, source, flags] = m as unknown as [string, string, string];
  if (/[^imsu]/.test(flags)) return `unsupported regex flag in ${value}; use i, m, s or u`;
  try {
    return new RegExp(source, flags);
  } catch (err) {
    return `invalid regex: ${(err as Error).message}`;
  }
}

export function compileHeaderCondition(name: string, value: string): HeaderCondition {
  const re = headerRegExp(value);
  if (typeof re === 'string') throw new Error(`headers.${name}: ${re}`);
  return { name: name.toLowerCase(), exact: re === null ? value : undefined, pattern: re ?? undefined };
}

export function headerMatches(condition: HeaderCondition, headers: IncomingHttpHeaders): boolean {
  const raw = headers[condition.name];
  if (raw === undefined) return false;
  const value = typeof raw === 'string' ? raw : raw.join(', ');
  return condition.pattern === undefined ? value === condition.exact : condition.pattern.test(value);
}

/**
 * Bad admin requests say what is wrong: the field, the value and what is expected, in one message
 * (`kind: expected one of client, session, ip, tenant, route (got "user")`) and as a list.
 */
import type { z } from 'zod';

export interface Problem {
  /** Dotted path of the field in the body (or the path parameter's name); '' for the whole body. */
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
}

/** Thrown by a handler; answered with its status and `{ error, message, problems }`. */
export class AdminError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly problems: readonly Problem[] = [],
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export function describeProblem(p: Problem): string {
  const where = p.path === '' ? 'body' : p.path;
  return `${where}: ${p.message}${p.value === undefined ? '' : ` (got ${JSON.stringify(p.value)})`}`;
}

/** The problems of a failed parse; `known` lists the fields allowed, for unknown-field messages. */
export function problemsOf(error: z.ZodError, known: readonly string[] = []): Problem[] {
  return error.issues.flatMap((issue): Problem[] => {
    const path = issue.path.map(String).join('.');
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: path === '' ? key : `${path}.${key}`, message: `unknown field; expected one of: ${known.join(', ')}` }));
      case 'invalid_type':
        if (input === undefined) return [{ path, message: `is required (expected ${issue.expected})` }];
        return [{ path, value: input, message: `expected ${issue.expected}` }];
      case 'invalid_value':
        if (input === undefined) return [{ path, message: `is required (one of: ${issue.values.map(String).join(', ')})` }];
        return [{ path, value: input, message: `expected one of: ${issue.values.map(String).join(', ')}` }];
      case 'too_small':
        // A message written for the field says it best.
        if (!issue.message.startsWith('Too small')) return [{ path, value: input, message: issue.message }];
        return [{ path, value: input, message: typeof input === 'string' ? (Number(issue.minimum) <= 1 ? 'must not be empty' : `expected at least ${String(issue.minimum)} characters`) : `expected at least ${String(issue.minimum)}` }];
      case 'too_big':
        return [{ path, value: input, message: typeof input === 'string' ? `expected at most ${String(issue.maximum)} characters` : `expected at most ${String(issue.maximum)}` }];
      default:
        return [{ path, value: input, message: issue.message }];
    }
  });
}

/** A path parameter, or a 400 naming it. */
export function parseParam<S extends z.ZodType>(name: string, schema: S, input: string): z.output<S> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = problemsOf(parsed.error).map((p) => ({ ...p, path: name }));
  throw new AdminError(400, problems.map(describeProblem).join('; '), problems);
}

/** Parses `input` with `schema`, or throws a 400 naming every problem. */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown, known: readonly string[] = []): z.output<S> {
  const parsed = schema.safeParse(input ?? undefined, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = problemsOf(parsed.error, known);
  throw new AdminError(400, problems.map(describeProblem).join('; '), problems);
}

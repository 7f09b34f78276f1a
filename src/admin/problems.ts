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
  return `${where}: ${p.message}${p.value === undefined ? '' : ` (got ${p.value instanceof Shown ? p.value.text : shown(p.value)})`}`;
}

/** Longest rendering of a bad value sent back. */
const SHOWN_CHARS = 200;

/**
 * A bad value as JSON, cut short. A body nested thousands deep (well within the size limit) overflowed
 * the stack when it was stringified for the message, and the client got a 500; Infinity (1e400 in the
 * JSON) was shown as null.
 */
function shown(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return TOO_DEEP;
  }
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}... (${text.length} characters)` : text;
}

const TOO_DEEP = '(a value nested too deeply to show)';

/** A bad value too large or deep to send back as it was: its rendering, sent as a string. */
class Shown {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

/** The bad value as it is sent back in `problems`: itself when small, else its rendering cut short. */
function echoed(value: unknown): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'string' && typeof value !== 'number')) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const text = shown(value);
  if (typeof value === 'number' || text === TOO_DEEP || text.length > SHOWN_CHARS) return new Shown(text);
  return value;
}

/** The problems of a failed parse; `known` lists the fields allowed, for unknown-field messages. */
export function problemsOf(error: z.ZodError, known: readonly string[] = []): Problem[] {
  return error.issues.flatMap((issue): Problem[] => {
    const path = issue.path.map(String).join('.');
    const raw = (issue as { input?: unknown }).input;
    const input = echoed(raw);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: path === '' ? key : `${path}.${key}`, message: `unknown field; expected one of: ${known.join(', ')}` }));
      case 'invalid_type':
        if (raw === undefined) return [{ path, message: `is required (expected ${issue.expected})` }];
        return [{ path, value: input, message: `expected ${issue.expected}` }];
      case 'invalid_value':
        if (raw === undefined) return [{ path, message: `is required (one of: ${issue.values.map(String).join(', ')})` }];
        return [{ path, value: input, message: `expected one of: ${issue.values.map(String).join(', ')}` }];
      case 'too_small':
        // A message written for the field says it best.
        if (!issue.message.startsWith('Too small')) return [{ path, value: input, message: issue.message }];
        return [{ path, value: input, message: typeof raw === 'string' ? (Number(issue.minimum) <= 1 ? 'must not be empty' : `expected at least ${String(issue.minimum)} characters`) : `expected at least ${String(issue.minimum)}` }];
      case 'too_big':
        return [{ path, value: input, message: typeof raw === 'string' ? `expected at most ${String(issue.maximum)} characters` : `expected at most ${String(issue.maximum)}` }];
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

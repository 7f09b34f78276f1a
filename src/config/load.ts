/**
 * Loading a config file: YAML, then `${VAR}` / `${VAR:-default}` substitution in string values, then
 * schema validation. Every problem becomes a ConfigError naming the key path, the bad value and what
 * is expected; nothing is applied unless the whole file is valid.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { checkControlUpstreams } from '../control/schema.js';
import { loadJwtKeys } from '../identity/jwtKeys.js';
import { compileWaitingPageTemplate } from '../room/page/index.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigError {
  /** Dotted key path, e.g. `upstreams.app.url`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
}

export type LoadResult = { ok: true; config: Readonly<Config> } | { ok: false; errors: ConfigError[] };

export function formatConfigError(e: ConfigError): string {
  const where = e.path === '' ? '(top level)' : e.path;
  const got = e.value === undefined ? '' : ` (got ${shown(e.value)})`;
  return `${where}: ${e.message}${got}`;
}

/** Longest rendering of a bad value in an error line. */
const SHOWN_CHARS = 120;

/**
 * A bad value as JSON, cut short: a megabyte string must not become a megabyte error line, and a value
 * that refers to itself (a YAML alias inside its own anchor) must not throw.
 */
function shown(value: unknown): string {
  const seen = new WeakSet<object>();
  let text: string;
  try {
    text =
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[recursive]';
          seen.add(v);
        }
        return v;
      }) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}... (${text.length} characters)` : text;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `cannot read config file ${file}: ${(err as Error).message}` }] };
  }
  // Decoded leniently, a stray byte became U+FFFD without a word, inside a secret or a URL.
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, errors: [{ path: '', message: `${file} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)})` }] };
  }
  return parseConfigText(text, env);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  // Grows the valid prefix one byte at a time from the last known good point; files are small.
  let good = 0;
  for (let end = 1; end <= bytes.length; end++) {
    try {
      UTF8.decode(bytes.subarray(good, end));
      good = end;
    } catch {
      // An incomplete sequence may still complete within 3 more bytes.
      if (end - good >= 4) return good;
    }
  }
  return good;
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  // logLevel error: yaml's warnings (a collection used as a key) would go to stderr as process
  // warnings; what they are about is reported as an unknown key anyway.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    // With prettyErrors the first line ends "at line L, column C:" and a code excerpt follows; keep the
    // position, drop the colon that introduced the excerpt.
    const errors: ConfigError[] = doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/:$/, '')}` }));
    // One unbalanced bracket makes the parser report every token after it; the first ones say where.
    const more = doc.errors.length - MAX_YAML_ERRORS;
    if (more > 0) errors.push({ path: '', message: `YAML syntax: ${more} more error(s) after these, most likely caused by them` });
    return { ok: false, errors };
  }
  const errors: ConfigError[] = [];
  substitute(doc.contents, [], env, errors);
  if (errors.length > 0) return { ok: false, errors };
  let raw: unknown;
  try {
    // A few aliases are fine; an alias bomb (billion laughs) is refused before it expands. 100 is the
    // yaml default, set here so that a change of default cannot reopen it.
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    // yaml throws (a ReferenceError) for too many alias expansions and for an alias it cannot resolve.
    return { ok: false, errors: [{ path: '', message: `YAML aliases: ${(err as Error).message}` }] };
  }
  return validateConfig(raw);
}

export function validateConfig(raw: unknown): LoadResult {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.flatMap(toConfigErrors) };
  const config = parsed.data;
  const errors = crossChecks(config);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: deepFreeze(config) };
}

/** Rules that span several keys and so cannot live on one field of the schema. */
function crossChecks(config: Config): ConfigError[] {
  const errors: ConfigError[] = [];
  const names = Object.keys(config.upstreams);
  if (config.defaultUpstream !== undefined && !names.includes(config.defaultUpstream)) {
    errors.push({
      path: 'defaultUpstream',
      value: config.defaultUpstream,
      message: `names no upstream; expected one of: ${names.join(', ')}`,
    });
  }
  // Key files are read here, so a missing or unusable key is a config error before anything is applied.
  if (config.identity.jwt !== undefined) errors.push(...loadJwtKeys(config.identity.jwt).problems);
  config.routes.forEach((route, i) => {
    if (route.upstream !== undefined && !names.includes(route.upstream)) {
      errors.push({ path: `routes.${i}.upstream`, value: route.upstream, message: `names no upstream; expected one of: ${names.join(', ')}` });
    }
  });
  errors.push(...checkControlUpstreams(config.control, names));
  // The listener refuses a headers timeout longer than the request timeout; found here, it names its keys
  // instead of stopping `anteroom start` with a stack trace.
  if (config.listen.headersTimeoutMs > config.listen.requestTimeoutMs) {
    errors.push({
      path: 'listen.headersTimeoutMs',
      value: config.listen.headersTimeoutMs,
      message: `must not be longer than listen.requestTimeoutMs (${config.listen.requestTimeoutMs}): the headers are part of the request`,
    });
  }
  const roomUpstream = config.defaultUpstream ?? names[0];
  for (const [name, c] of Object.entries(config.control.upstreams)) {
    const upstream = config.upstreams[name];
    if (upstream === undefined || c.limit.static !== undefined || c.limit.adaptive !== undefined || upstream.concurrency !== undefined) continue;
    if (name === roomUpstream && config.room.concurrency !== undefined) continue;
    // Engaging the room means admitting against a limit; with none, everyone would be let in at once.
    errors.push({
      path: `control.upstreams.${name}.limit`,
      message: `no in-flight limit to admit against while engaged: set limit.static or limit.adaptive here, upstreams.${name}.concurrency${name === roomUpstream ? ', or room.concurrency' : ''}`,
    });
  }
  const template = config.room.page.template;
  if (template !== undefined) {
    // Read and compiled here for the same reason as the key files: a reload must not get past
    // validation with a page it cannot show.
    try {
      compileWaitingPageTemplate(readFileSync(template, 'utf8'));
    } catch (err) {
      errors.push({ path: 'room.page.template', value: template, message: `unusable waiting page template: ${(err as Error).message}` });
    }
  }
  return errors;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const MAX_ALIAS_COUNT = 100;
const MAX_YAML_ERRORS = 5;

/**
 * Replaces `${VAR}` in string scalars. A scalar that is exactly one reference takes the variable's value
 * as YAML (so `port: ${PORT}` yields a number); a reference inside a longer string is spliced as text.
 * Substituting after parsing means a variable's content can never change the file's structure.
 */
function substitute(node: YamlNode | null | undefined, path: (string | number)[], env: NodeJS.ProcessEnv, errors: ConfigError[]): void {
  if (node == null) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      substitute(pair.value as YamlNode | null, [...path, key], env, errors);
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => substitute(item as YamlNode, [...path, i], env, errors));
    return;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return;
  const source = node.value;
  // A "${" that starts no complete reference (a missing "}", a name that is not one, a reference inside
  // a default) stayed in the value as text: `secret: ${ANTEROOM_SECRET` became a secret anyone can read.
  const leftover = source.replace(VAR, (_m, _name: string, fallback: string | undefined) => (fallback?.includes('${') ? '${' : ''));
  if (leftover.includes('${')) {
    errors.push({
      path: path.join('.'),
      value: source,
      message: 'has a "${" that is not a complete reference; write ${NAME} or ${NAME:-default} (NAME of letters, digits and _, no reference inside a default)',
    });
    return;
  }
  const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(source);
  const lookup = (name: string, fallback: string | undefined): string | undefined => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    errors.push({
      path: path.join('.'),
      value: source,
      message: `environment variable ${name} is not set; set it or write \${${name}:-default}`,
    });
    return undefined;
  };
  if (whole) {
    const value = lookup(whole[1]!, whole[2]);
    if (value === undefined) return;
    node.value = value === '' ? '' : scalarValue(value);
    return;
  }
  node.value = source.replace(VAR, (_m, name: string, fallback: string | undefined) => lookup(name, fallback) ?? '');
}

function scalarValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}

function toConfigErrors(issue: z.core.$ZodIssue): ConfigError[] {
  const path = issue.path.map(String).join('.');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        if (key === '<<') return { path: path === '' ? key : `${path}.${key}`, message: 'YAML merge keys ("<<") are not supported; write the keys out, or use an alias (*name) for the whole value' };
        const known = knownKeys(issue.path);
        const hint = suggest(key, known);
        return {
          path: path === '' ? key : `${path}.${key}`,
          message: `unknown key${hint ? `; did you mean "${hint}"?` : '.'}${known.length ? ` Expected one of: ${known.join(', ')}` : ''}`,
        };
      });
    case 'invalid_type':
      if (input === undefined) return [{ path, message: `is required (expected ${issue.expected})` }];
      return [{ path, value: input, message: `expected ${issue.expected}` }];
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      const disc = (issue as { discriminator?: string }).discriminator;
      if (options && disc) {
        const got = (input as Record<string, unknown> | undefined)?.[disc];
        return [{ path, value: got, message: `expected one of: ${options.map(String).join(', ')}` }];
      }
      return [{ path, value: input, message: issue.message }];
    }
    case 'invalid_key':
      // A record key (an upstream name) failed its own check; its message says what a key must be.
      return [{ path, value: input, message: issue.issues[0]?.message ?? issue.message }];
    case 'invalid_value':
      return [{ path, value: input, message: `expected one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'too_small':
      return [{ path, value: input, message: `expected at least ${String(issue.minimum)}` }];
    case 'too_big':
      return [{ path, value: input, message: `expected at most ${String(issue.maximum)}` }];
    default:
      return [{ path, value: input, message: issue.message }];
  }
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function knownKeys(path: PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (def?.['type'] === 'object') schema = (def['shape'] as Record<string, unknown>)[String(segment)];
    else if (def?.['type'] === 'record') schema = def['valueType'];
    else return [];
  }
  const def = (unwrap(schema) as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.['type'] === 'object' ? Object.keys(def['shape'] as object) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { _zod?: { def?: Record<string, unknown> } } | undefined;
  while (s?._zod?.def && ['default', 'prefault', 'optional', 'pipe'].includes(s._zod.def['type'] as string)) {
    s = (s._zod.def['innerType'] ?? s._zod.def['in']) as typeof s;
  }
  return s;
}

function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * `anteroom admin ...`: thin commands over the admin API, for an operator in the middle of an
 * incident. Each sends one request, prints the answer readably (or as it came with --json), and exits
 * non-zero with the server's own message when the server says no.
 *
 * Where the API is: --admin URL, else the `admin` section of --config FILE, else 127.0.0.1:9180.
 * The token: --token, else ANTEROOM_ADMIN_TOKEN, else the config file's `admin.token`.
 */
import { parseArgs } from 'node:util';
import { formatConfigError, loadConfigFile } from '../config/load.js';
import { formatStatus } from './adminFormat.js';

export const ADMIN_USAGE = `usage: anteroom admin COMMAND [--admin URL | --config FILE] [--token TOKEN] [--json]
  status                             upstreams, tenants, the room and the switches
  blocks                             the blocks in force
  block --client KEY | --session COOKIE | --ip ADDRESS[/BITS] | --tenant ID | --route NAME
        --reason TEXT [--ttl 90s|10m|2h|1d] [--message TEXT] [--websockets-only] [--close-websockets]
  unblock ID
  mode [MODE] [--tenant ID] [--message TEXT] [--reason TEXT] [--clear]
                                     without MODE: show the modes; MODE is auto, open, queue-all,
                                     maintenance or pause; --clear removes the runtime mode
  override --tenant ID | --route NAME [--rate 20/s] [--burst N] [--concurrency N] [--reason TEXT] [--clear]
  reload                             re-read and apply the config file
`;

export interface AdminCliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const OPTIONS = {
  admin: { type: 'string' },
  config: { type: 'string', short: 'c' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  client: { type: 'string' },
  session: { type: 'string' },
  ip: { type: 'string' },
  tenant: { type: 'string' },
  route: { type: 'string' },
  reason: { type: 'string' },
  message: { type: 'string' },
  ttl: { type: 'string' },
  'websockets-only': { type: 'boolean' },
  'close-websockets': { type: 'boolean' },
  clear: { type: 'boolean' },
  rate: { type: 'string' },
  burst: { type: 'string' },
  concurrency: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

export async function adminCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<AdminCliOutput> {
  try {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    const [command, ...rest] = positionals;
    if (command === undefined) throw new UsageError('missing COMMAND');
    const target = resolveTarget(values, env);
    const call = (method: string, path: string, body?: unknown) => request(target, method, path, body);
    const show = (r: Answer, text: (body: Record<string, unknown>) => string): AdminCliOutput =>
      ok(values.json ? `${JSON.stringify(r.body, null, 2)}\n` : text(r.body));
    switch (command) {
      case 'status':
        return show(await call('GET', '/status'), formatStatus);
      case 'blocks':
        return show(await call('GET', '/blocks'), (b) => formatBlocks(b['blocks'] as Record<string, unknown>[]));
      case 'block':
        return show(await call('POST', '/blocks', blockBody(values)), (b) => `blocked: ${blockLine(b['block'] as Record<string, unknown>)}\n${warning(b)}`);
      case 'unblock': {
        const id = rest[0];
        if (id === undefined) throw new UsageError('unblock needs the block id (anteroom admin blocks lists them)');
        return show(await call('DELETE', `/blocks/${encodeURIComponent(id)}`), (b) => `unblocked: ${blockLine(b['removed'] as Record<string, unknown>)}\n${warning(b)}`);
      }
      case 'mode':
        return show(await mode(call, values, rest[0]), formatModes);
      case 'override':
        return show(await override(call, values), (b) => (b['cleared'] ? `cleared: ${overrideLine(b['cleared'] as Record<string, unknown>)}\n` : `override: ${overrideLine(b['override'] as Record<string, unknown>)}\n`) + warning(b));
      case 'reload':
        return show(await call('POST', '/reload'), (b) => `reloaded; changed: ${((b['changed'] as string[] | undefined) ?? []).join(', ') || 'nothing'}\n`);
      default:
        throw new UsageError(`unknown admin command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      return { code: 1, stdout: '', stderr: `anteroom admin: ${(err as Error).message}\n${ADMIN_USAGE}` };
    }
    return { code: 1, stdout: '', stderr: `anteroom admin: ${(err as Error).message}\n` };
  }
}

function ok(stdout: string): AdminCliOutput {
  return { code: 0, stdout, stderr: '' };
}

interface Target {
  url: string;
  token: string;
}

function resolveTarget(values: Values, env: NodeJS.ProcessEnv): Target {
  let url = values.admin;
  let token = values.token ?? env['ANTEROOM_ADMIN_TOKEN'] ?? '';
  if (values.config !== undefined) {
    const loaded = loadConfigFile(values.config, env);
    if (!loaded.ok) throw new Error(`${values.config}: ${loaded.errors.map(formatConfigError).join('; ')}`);
    const a = loaded.config.admin;
    // A listener on every address is reached on loopback from here.
    const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '[::1]' : a.host.includes(':') ? `[${a.host}]` : a.host;
    url ??= `http://${host}:${a.port}`;
    if (token === '') token = String(a.token);
  }
  url ??= 'http://127.0.0.1:9180';
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--admin: expected a URL like http://127.0.0.1:9180 (got ${url})`);
  return { url: url.replace(/\/+$/, ''), token };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function request(t: Target, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (t.token !== '') headers['authorization'] = `Bearer ${t.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the admin API at ${t.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { message: text };
  }
  if (res.status >= 400) {
    const errors = (parsed['errors'] as { path: string; message: string; value?: unknown }[] | undefined) ?? [];
    const detail = errors.map((e) => `\n  ${formatConfigError(e)}`).join('');
    throw new Error(`${res.status} ${String(parsed['message'] ?? parsed['error'] ?? (errors.length > 0 ? 'the config was not applied:' : text))}${detail}`);
  }
  return { status: res.status, body: parsed };
}

const KINDS = ['client', 'session', 'ip', 'tenant', 'route'] as const;

function blockBody(v: Values): Record<string, unknown> {
  const given = KINDS.filter((k) => v[k] !== undefined);
  if (given.length !== 1) throw new UsageError(`block needs exactly one of ${KINDS.map((k) => `--${k}`).join(', ')}`);
  const kind = given[0]!;
  if (v.reason === undefined) throw new UsageError('block needs --reason (say why, for whoever lifts it)');
  return {
    kind,
    value: v[kind],
    reason: v.reason,
    ...(v.message !== undefined ? { message: v.message } : {}),
    ...(v.ttl !== undefined ? { ttlS: parseDuration(v.ttl) } : {}),
    ...(v['websockets-only'] ? { websocketsOnly: true } : {}),
    ...(v['close-websockets'] ? { closeWebsockets: true } : {}),
  };
}

/** `90`, `90s`, `10m`, `2h`, `1d` as seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|min|h|d)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`--ttl: expected a duration like 90s, 10m, 2h or 1d (got ${text})`);
  const unit = m[2] === 'm' || m[2] === 'min' ? 60 : m[2] === 'h' ? 3600 : m[2] === 'd' ? 86_400 : 1;
  return Number(m[1]) * unit;
}

async function mode(call: (m: string, p: string, b?: unknown) => Promise<Answer>, v: Values, value: string | undefined): Promise<Answer> {
  const path = v.tenant === undefined ? '/modes' : `/modes/tenants/${encodeURIComponent(v.tenant)}`;
  if (v.clear) {
    if (value !== undefined) throw new UsageError('mode: give a MODE or --clear, not both');
    await call('DELETE', path);
    return call('GET', '/modes');
  }
  if (value === undefined) return call('GET', '/modes');
  await call('PUT', path, { mode: value, ...(v.message !== undefined ? { message: v.message } : {}), ...(v.reason !== undefined ? { reason: v.reason } : {}) });
  return call('GET', '/modes');
}

async function override(call: (m: string, p: string, b?: unknown) => Promise<Answer>, v: Values): Promise<Answer> {
  if ((v.tenant === undefined) === (v.route === undefined)) throw new UsageError('override needs exactly one of --tenant, --route');
  const path = v.tenant !== undefined ? `/overrides/tenants/${encodeURIComponent(v.tenant)}` : `/overrides/routes/${encodeURIComponent(v.route!)}`;
  if (v.clear) return call('DELETE', path);
  const number = (name: 'burst' | 'concurrency'): number | undefined => {
    const text = v[name];
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new UsageError(`--${name}: expected a whole number (got ${text})`);
    return Number(text);
  };
  const body = { rate: v.rate, burst: number('burst'), concurrency: number('concurrency'), reason: v.reason };
  return call('PUT', path, Object.fromEntries(Object.entries(body).filter(([, x]) => x !== undefined)));
}

function warning(b: Record<string, unknown>): string {
  return typeof b['warning'] === 'string' ? `warning: ${b['warning']}\n` : '';
}

function blockLine(b: Record<string, unknown>): string {
  const until = b['expiresAt'] === null ? 'until lifted' : `until ${String(b['expiresAt'])} (${String(b['expiresInS'])} s)`;
  const what = b['websocketsOnly'] ? 'websocket upgrades of ' : '';
  const closing = b['closeWebsockets'] ? ', open websockets closed' : '';
  return `${String(b['id'])}  ${what}${String(b['kind'])} ${String(b['value'])}  ${until}${closing}  reason: ${String(b['reason'])}`;
}

function formatBlocks(blocks: Record<string, unknown>[]): string {
  if (blocks.length === 0) return 'no blocks\n';
  return blocks.map((b) => `${blockLine(b)}\n`).join('');
}

function formatModes(b: Record<string, unknown>): string {
  const line = (m: Record<string, unknown>): string =>
    `${String(m['mode'])}${m['message'] ? `  message: ${String(m['message'])}` : ''}${m['reason'] ? `  reason: ${String(m['reason'])}` : ''}  (since ${String(m['setAt'])})`;
  const global = b['global'] as Record<string, unknown> | null;
  let out = `config: ${String(b['config'])}\nglobal: ${global === null ? 'none (the config\'s mode is in force)' : line(global)}\n`;
  for (const t of b['tenants'] as Record<string, unknown>[]) out += `tenant ${String(t['tenant'])}: ${line(t)}\n`;
  return out;
}

function overrideLine(o: Record<string, unknown>): string {
  const parts = ['rate', 'burst', 'concurrency'].filter((k) => o[k] !== null).map((k) => `${k} ${String(o[k])}`);
  return `${String(o['scope'])} ${String(o['name'])}: ${parts.join(', ')}${o['reason'] ? `  reason: ${String(o['reason'])}` : ''}`;
}

/**
 * `anteroom explain --config FILE METHOD URL [-H 'name: value' ...] [--ip ADDRESS]`: what the proxy
 * would do with one request (see explainRequest.ts). URL is absolute (`https://shop.example.com/cart`,
 * whose authority is the Host unless -H gives one) or a path with a Host header. `--ip` is the
 * address the request comes from (default 127.0.0.1); behind trusted proxies, add X-Forwarded-For.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { formatConfigError, loadConfigFile } from '../config/load.js';
import type { CheckOutput } from './check.js';
import { explainRequest, type RequestToExplain } from './explainRequest.js';

export interface ExplainArgs {
  method: string;
  url: string;
  /** `name: value`, as given to -H. */
  headers: readonly string[];
  /** The peer address; default 127.0.0.1. */
  ip?: string;
}

export function explain(file: string, args: ExplainArgs, env: NodeJS.ProcessEnv = process.env): CheckOutput {
  const req = parseRequest(args);
  if (typeof req === 'string') return { code: 1, stdout: '', stderr: `${req}\n` };
  const result = loadConfigFile(file, env);
  if (!result.ok) {
    const lines = result.errors.map((e) => `  ${formatConfigError(e)}\n`).join('');
    return { code: 1, stdout: '', stderr: `${file}: ${result.errors.length} error(s)\n${lines}` };
  }
  return { code: 0, stdout: explainRequest(result.config, req), stderr: '' };
}

/** The request as accept would leave it, or what is wrong with the arguments. */
export function parseRequest(args: ExplainArgs): RequestToExplain | string {
  const method = args.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) return `"${args.method}" is not an HTTP method; write one like GET or POST`;
  const peer = args.ip ?? '127.0.0.1';
  if (isIP(peer) === 0) return `--ip "${peer}" is not an IP address`;
  const headers: IncomingHttpHeaders = {};
  for (const line of args.headers) {
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return `-H "${line}" is not a header; write -H 'name: value'`;
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    // Repeated headers are joined as Node joins them: cookies with "; ", the rest with ", ".
    headers[name] = prev === undefined ? value : `${String(prev)}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  let url = args.url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (!/^https?:\/\//i.test(url)) return `"${url}" is neither an http(s) URL nor a path starting with /`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `"${url}" is not a valid URL`;
    }
    headers.host ??= parsed.host;
    // What accept does with an absolute-form target.
    url = parsed.pathname + parsed.search;
  }
  const host = headers.host;
  if (host === undefined || host === '') return `no host: give an absolute URL (https://shop.example.com${url}) or a Host header (-H 'host: shop.example.com')`;
  const q = url.indexOf('?');
  return {
    method,
    target: args.url,
    host: host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':', 1)[0]!,
    path: q === -1 ? url : url.slice(0, q),
    headers,
    peer,
  };
}

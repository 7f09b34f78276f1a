/**
 * Config loading: every kind of mistake produces a message that names the key, the value and the fix,
 * asserted on the exact text an operator reads (formatConfigError).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfigError, loadConfigFile, parseConfigText, validateConfig } from '../../src/config/load.js';
import { configSchema, listenSchema, upstreamSchema } from '../../src/config/schema.js';
import { tempDir } from '../helpers/tempDir.js';

const UPSTREAM = 'upstreams:\n  app: { url: http://127.0.0.1:3000 }\n';

/** The keys the schema allows at each level, as the messages list them. */
const KEYS = {
  top: Object.keys(configSchema.shape).join(', '),
  listen: Object.keys(listenSchema.shape).join(', '),
  upstream: Object.keys(upstreamSchema.shape).join(', '),
};

/** The formatted errors for `text`, or a failure if it was valid. */
function errorsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const r = parseConfigText(text, env);
  if (r.ok) throw new Error('expected the config to be invalid');
  return r.errors.map(formatConfigError);
}

function configOf(text: string, env: NodeJS.ProcessEnv = {}) {
  const r = parseConfigText(text, env);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.errors.map(formatConfigError).join('; ')}`);
  return r.config;
}

describe('config errors', () => {
  it('names an unknown key and suggests the closest known one', () => {
    expect(KEYS.listen).toContain('port');
    expect(KEYS.upstream).toContain('timeoutMs');
    expect(errorsOf(`${UPSTREAM}listen: { prot: 8080 }\n`)).toEqual([
      `listen.prot: unknown key; did you mean "port"? Expected one of: ${KEYS.listen}`,
    ]);
    expect(errorsOf('upstreams:\n  app: { url: http://127.0.0.1:3000, timoutMs: 5 }\n')).toEqual([
      `upstreams.app.timoutMs: unknown key; did you mean "timeoutMs"? Expected one of: ${KEYS.upstream}`,
    ]);
    expect(errorsOf(`${UPSTREAM}listn: {}\n`)).toEqual([
      `listn: unknown key; did you mean "listen"? Expected one of: ${KEYS.top}`,
    ]);
  });

  it('lists the known keys when nothing is close', () => {
    expect(errorsOf('upstreams:\n  app: { url: http://127.0.0.1:3000, probe: { path: /health } }\n')).toEqual([
      `upstreams.app.probe: unknown key. Expected one of: ${KEYS.upstream}`,
    ]);
  });

  it('names a value of the wrong type', () => {
    expect(errorsOf(`${UPSTREAM}listen: { port: eighty }\nlog: { requests: "yes" }\n`)).toEqual([
      'listen.port: expected number (got "eighty")',
      'log.requests: expected boolean (got "yes")',
    ]);
    expect(errorsOf(`${UPSTREAM}listen: 5\n`)).toEqual(['listen: expected object (got 5)']);
    expect(errorsOf(`${UPSTREAM}identity: { trustedProxies: 10.0.0.0/8 }\n`)).toEqual(['identity.trustedProxies: expected array (got "10.0.0.0/8")']);
    expect(errorsOf('upstreams:\n  app: { url: http://127.0.0.1:3000, timeoutMs: 1.5 }\n')).toEqual(['upstreams.app.timeoutMs: expected int (got 1.5)']);
  });

  it('says what is required when a required key is missing', () => {
    expect(errorsOf('listen: { port: 8080 }\n')).toEqual(['upstreams: is required (expected record)']);
    expect(errorsOf('')).toEqual(['upstreams: is required (expected record)']);
  });

  it('lists the allowed values of an enum', () => {
    expect(errorsOf(`${UPSTREAM}log: { level: loud }\n`)).toEqual([
      'log.level: expected one of: "fatal", "error", "warn", "info", "debug", "trace", "silent" (got "loud")',
    ]);
    expect(errorsOf(`${UPSTREAM}store: { kind: mongo }\n`)).toEqual(['store.kind: expected one of: memory, redis (got "mongo")']);
  });

  it('gives the bound of an out-of-range number', () => {
    expect(errorsOf('upstreams:\n  app: { url: http://127.0.0.1:3000, connections: 0 }\nlisten: { port: 70000, maxHeaderBytes: 100 }\n')).toEqual([
      'listen.port: expected at most 65535 (got 70000)',
      'listen.maxHeaderBytes: expected at least 1024 (got 100)',
      'upstreams.app.connections: expected at least 1 (got 0)',
    ]);
  });

  it('rejects URLs that are not http(s)', () => {
    expect(errorsOf('upstreams:\n  a: { url: "ftp://files.example" }\n  b: { url: "not a url" }\n')).toEqual([
      'upstreams.a.url: expected an http:// or https:// URL (got "ftp://files.example")',
      'upstreams.b.url: expected an http:// or https:// URL (got "not a url")',
    ]);
    expect(errorsOf(`${UPSTREAM}store: { kind: redis, url: "http://cache:6379" }\n`)).toEqual([
      'store.url: expected a redis:// or rediss:// URL (got "http://cache:6379")',
    ]);
  });

  it('rejects a trusted proxy that is not an address or CIDR block', () => {
    expect(errorsOf(`${UPSTREAM}identity: { trustedProxies: [10.0.0.0/8, "lb.internal"] }\n`)).toEqual([
      'identity.trustedProxies.1: expected an IP address or CIDR block like 10.0.0.0/8 (got "lb.internal")',
    ]);
  });

  it('says what an upstream name may contain', () => {
    expect(errorsOf('upstreams:\n  "my app": { url: http://127.0.0.1:3000 }\n')).toEqual([
      'upstreams.my app: expected a name of letters, digits, _ and - (got "my app")',
    ]);
    expect(errorsOf('upstreams: {}\n')).toEqual(['upstreams: expected at least one upstream (got {})']);
  });

  it('names a missing environment variable and how to give it a default', () => {
    expect(errorsOf('upstreams:\n  app: { url: "${UPSTREAM_URL}" }\nlisten: { host: "h-${HOST_SUFFIX}" }\n')).toEqual([
      'upstreams.app.url: environment variable UPSTREAM_URL is not set; set it or write ${UPSTREAM_URL:-default} (got "${UPSTREAM_URL}")',
      'listen.host: environment variable HOST_SUFFIX is not set; set it or write ${HOST_SUFFIX:-default} (got "h-${HOST_SUFFIX}")',
    ]);
    // An empty variable counts as unset.
    expect(errorsOf('upstreams:\n  app: { url: "${UPSTREAM_URL}" }\n', { UPSTREAM_URL: '' })).toHaveLength(1);
  });

  it('reports a YAML syntax error with its position', () => {
    expect(errorsOf('upstreams:\n  app:\n    url: http://a\n   timeoutMs: 5\n')).toEqual([
      '(top level): YAML syntax: All mapping items must start at the same column at line 4, column 1',
    ]);
    expect(errorsOf('upstreams:\n  app: { url: http://a }\nupstreams: {}\n')).toEqual(['(top level): YAML syntax: Map keys must be unique at line 3, column 1']);
  });

  it('rejects a defaultUpstream that names no upstream', () => {
    expect(errorsOf(`${UPSTREAM}  web: { url: http://127.0.0.1:3001 }\ndefaultUpstream: ap\n`)).toEqual([
      'defaultUpstream: names no upstream; expected one of: app, web (got "ap")',
    ]);
  });

  it('reports a file it cannot read', () => {
    const r = loadConfigFile('/nonexistent/anteroom.yaml', {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatConfigError(r.errors[0]!)).toMatch(/^\(top level\): cannot read config file \/nonexistent\/anteroom\.yaml: ENOENT/);
  });

  it('reports every error at once, not only the first', () => {
    expect(errorsOf('upstreams:\n  app: { url: "ftp://x" }\nlisten: { port: -1, hots: x }\n')).toHaveLength(3);
  });
});

describe('environment substitution', () => {
  it('takes a whole-scalar variable as a typed YAML value', () => {
    const c = configOf(`${UPSTREAM}listen: { port: "\${PORT}" }\nlog: { requests: "\${REQ_LOGS}" }\n`, { PORT: '9000', REQ_LOGS: 'false' });
    expect(c.listen.port).toBe(9000);
    expect(c.log.requests).toBe(false);
  });

  it('uses ${VAR:-default} when the variable is unset or empty, and the variable when set', () => {
    const text = 'upstreams:\n  app: { url: "${UPSTREAM_URL:-http://127.0.0.1:9}" }\nlisten: { port: "${PORT:-1234}" }\n';
    expect(configOf(text).upstreams['app']!.url).toBe('http://127.0.0.1:9');
    expect(configOf(text).listen.port).toBe(1234);
    expect(configOf(text, { PORT: '' }).listen.port).toBe(1234);
    expect(configOf(text, { UPSTREAM_URL: 'http://app.internal:8000' }).upstreams['app']!.url).toBe('http://app.internal:8000');
    // An empty default is allowed and means the empty string.
    expect(configOf(`${UPSTREAM}secret: "\${ANTEROOM_SECRET:-}"\n`).secret).toBe('');
  });

  it('splices variables inside a longer string as text', () => {
    const c = configOf('upstreams:\n  app: { url: "http://${APP_HOST}:${APP_PORT:-3000}/v1" }\n', { APP_HOST: 'app.internal' });
    expect(c.upstreams['app']!.url).toBe('http://app.internal:3000/v1');
  });

  it("never lets a variable's content change the file's structure", () => {
    const c = configOf(`${UPSTREAM}secret: "\${S}"\n`, { S: 'x\nlisten: { port: 1 }' });
    expect(c.secret).toBe('x\nlisten: { port: 1 }');
    expect(c.listen.port).toBe(8080);
  });
});

describe('valid configs', () => {
  const dir = tempDir('anteroom-config-').path;

  it('loads the shipped default config with the schema defaults', () => {
    const r = loadConfigFile(new URL('../../config/anteroom.yaml', import.meta.url).pathname, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen).toMatchObject({ host: '0.0.0.0', port: 8080, maxBodyBytes: 10 * 1024 * 1024 });
    expect(r.config.upstreams['app']!.url).toBe('http://127.0.0.1:3000');
  });

  it('loads a file from disk and freezes the result', () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, `${UPSTREAM}identity: { trustedProxies: [10.0.0.0/8, "::1"] }\n`);
    const r = loadConfigFile(file, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.identity.trustedProxies).toEqual(['10.0.0.0/8', '::1']);
    expect(Object.isFrozen(r.config.identity.trustedProxies)).toBe(true);
    expect(Object.isFrozen(r.config.upstreams['app'])).toBe(true);
  });

  it('validates an object the same way as a file', () => {
    const r = validateConfig({ upstreams: { app: { url: 'http://127.0.0.1:1' } }, listen: { port: '80' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map(formatConfigError)).toEqual(['listen.port: expected number (got "80")']);
  });
});

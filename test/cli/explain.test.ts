/**
 * `anteroom explain` against fixtures/explain.yaml, compared with exact expected output files
 * (fixtures/explain-CASE.txt). Regenerate after an intended change with UPDATE_GOLDEN=1 and read the
 * diff. Secrets given on the command line (API keys, session cookies) must never appear in the output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explain, type ExplainArgs } from '../../src/cli/explain.js';
import { runCli } from './cli.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CONFIG = fixture('explain.yaml');

const CASES: { name: string; about: string; args: ExplainArgs; secrets?: string[] }[] = [
  {
    name: 'api-critical',
    about: 'an API key client of a tenant taken from the host, on a critical route, under a control section',
    args: { method: 'GET', url: 'https://acme.example.com/inbox/1', headers: ['x-api-key: secret-key-123'] },
    secrets: ['secret-key-123'],
  },
  {
    name: 'bulk-export',
    about: 'a session cookie behind a trusted proxy, a bulk route with its own bucket and cap, shed first',
    args: {
      method: 'post',
      url: '/api/export/run?format=csv',
      headers: ['host: shop.example.com', 'x-tenant-id: globex', 'cookie: session_id=sess-7f3a9c', 'x-forwarded-for: 203.0.113.9, 10.0.0.7'],
      ip: '10.1.2.3',
    },
    secrets: ['sess-7f3a9c'],
  },
  { name: 'bypass', about: 'a bypass route: no limits, never queued', args: { method: 'GET', url: 'http://acme.example.com/static/app.css', headers: [] } },
  {
    name: 'websocket',
    about: 'a websocket upgrade: upgrade buckets and the open-socket cap instead of the HTTP buckets',
    args: { method: 'GET', url: 'https://acme.example.com/live', headers: ['upgrade: websocket', 'connection: Upgrade', 'cookie: theme=dark', 'cookie: session_id=ws-sess-1'] },
    secrets: ['ws-sess-1'],
  },
  {
    name: 'browser',
    about: 'a browser navigation from an IPv6 address, default tenant, default route, a tenant header that is not a tenant id',
    args: { method: 'GET', url: 'https://www.example.org/', headers: ['accept: text/html,*/*;q=0.8', 'x-tenant-id: not a tenant!'], ip: '2001:db8::42' },
  },
  { name: 'own-endpoint', about: "anteroom's own endpoint", args: { method: 'GET', url: '/__anteroom/status?ticket=x', headers: ['host: acme.example.com'] } },
];

describe('anteroom explain: golden output', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.about}`, () => {
      const out = explain(CONFIG, c.args, {});
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      const golden = fixture(`explain-${c.name}.txt`);
      if (process.env['UPDATE_GOLDEN']) writeFileSync(golden, out.stdout);
      expect(out.stdout).toBe(readFileSync(golden, 'utf8'));
      for (const secret of c.secrets ?? []) expect(out.stdout).not.toContain(secret);
    });
  }
});

describe('anteroom explain: the command', () => {
  it('prints the explanation and exits 0', async () => {
    const r = await runCli(['explain', '--config', CONFIG, 'GET', 'https://acme.example.com/inbox/1', '-H', 'x-api-key: secret-key-123']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(fixture('explain-api-critical.txt'), 'utf8'));
  });

  it('exits 1 with a message for bad arguments', async () => {
    const cases: [string[], string][] = [
      [['GET'], 'expected METHOD URL, got "GET"\nusage:'],
      [['GET', '/x'], `no host: give an absolute URL (https://shop.example.com/x) or a Host header (-H 'host: shop.example.com')\n`],
      [['GET', 'ftp://x/y'], '"ftp://x/y" is neither an http(s) URL nor a path starting with /\n'],
      [['G3T', '/x'], '"G3T" is not an HTTP method; write one like GET or POST\n'],
      [['GET', 'http://a/', '-H', 'no colon here'], `-H "no colon here" is not a header; write -H 'name: value'\n`],
      [['GET', 'http://a/', '--ip', 'localhost'], '--ip "localhost" is not an IP address\n'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['explain', '--config', CONFIG, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.startsWith(message), `${args.join(' ')}: ${r.stderr}`).toBe(true);
    }
  });

  it('exits 1 and lists the errors of an invalid config', async () => {
    const r = await runCli(['explain', '--config', fixture('invalid.yaml'), 'GET', 'http://a/']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid\.yaml: 6 error\(s\)\n {2}listen\.port: expected at most 65535/);
  });
});

describe('anteroom explain: the same answers as the proxy', () => {
  it('names the route the route table picks, normalising the path first', () => {
    const out = explain(CONFIG, { method: 'GET', url: 'http://acme.example.com/static/../api/export/x', headers: [] }, {});
    expect(out.stdout).toMatch(/^route {5}routes\[1\] \(name: export\) /m);
  });
});

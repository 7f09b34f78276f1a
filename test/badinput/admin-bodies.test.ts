/**
 * Bad bodies at the admin API (src/admin, its own listener) of a proxy in its own process, while people
 * wait in its room: bodies nested thousands deep, over the 64 KB limit (declared or chunked), of the
 * wrong content type, empty, with a prototype key, with numbers JSON cannot hold, or not objects at all.
 * Each gets a 4xx with a message, nothing is changed, the admin API logs no failure of its own, and the
 * public side keeps its invariant (harness.ts). test/admin/admin-api.test.ts covers bad values field by
 * field; this file covers bodies that are bad as a whole, and many of them at once.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, type RawResponse } from '../helpers/index.js';
import { ADMIN_TOKEN, arenaPerFile, underAttack, type ChildTarget } from './harness.js';

const a = arenaPerFile();

const AUTH = `Authorization: Bearer ${ADMIN_TOKEN}\r\n`;

function request(method: string, path: string, body: string, contentType: string | null = 'application/json'): string {
  const type = contentType === null ? '' : `Content-Type: ${contentType}\r\n`;
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${AUTH}${type}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

async function adminRaw(raw: string): Promise<{ res: RawResponse; body: Record<string, unknown> }> {
  const client = await RawClient.connect((a.target as ChildTarget).adminPort);
  try {
    client.write(raw);
    const res = await client.readResponse();
    return { res, body: JSON.parse(res.body.toString()) as Record<string, unknown> };
  } finally {
    client.close();
  }
}

/** Admin failures the API logged itself (a 500's "admin: request failed"). */
function adminFailures(): Record<string, unknown>[] {
  return a.target.lines().filter((l) => l['component'] === 'admin' && (l['level'] as number) >= 50);
}

async function blocks(): Promise<unknown[]> {
  const { body } = await adminRaw(`GET /blocks HTTP/1.1\r\nHost: localhost\r\n${AUTH}Connection: close\r\n\r\n`);
  return body['blocks'] as unknown[];
}

const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;

describe('bad admin bodies (the admin API)', () => {
  it('a body nested thousands deep gets a 400 naming the body, not a 500 (the value overflowed the stack when it was put in the message)', async () => {
    await underAttack(a, async () => {
      for (const [body, message] of [
        [deep(10_000), /^body: expected object \(got \(a value nested too deeply to show\)\)$/],
        [`{"kind":"tenant","value":"acme","reason":${deep(8_000)}}`, /^reason: expected string \(got \(a value nested too deeply to show\)\)$/],
        [`${'{"a":'.repeat(6_000)}1${'}'.repeat(6_000)}`, /a: unknown field/],
      ] as const) {
        const { res, body: answer } = await adminRaw(request('POST', '/blocks', body));
        expect(res.status, body.slice(0, 30)).toBe(400);
        expect(answer['message']).toMatch(message);
      }
      expect(adminFailures()).toEqual([]);
      expect(await blocks()).toEqual([]);
    });
  });

  it('bodies bad as a whole each get a 4xx that says why, and change nothing', async () => {
    await underAttack(a, async () => {
      const big = JSON.stringify({ kind: 'tenant', value: 'acme', reason: 'x'.repeat(70_000) });
      const cases: [string, string, number, RegExp][] = [
        ['over 64 KB', request('POST', '/blocks', big), 413, /too large/],
        [
          'over 64 KB, chunked',
          `POST /blocks HTTP/1.1\r\nHost: localhost\r\n${AUTH}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${`4000\r\n${'x'.repeat(0x4000)}\r\n`.repeat(6)}0\r\n\r\n`,
          413,
          /too large/,
        ],
        ['no content type', request('POST', '/blocks', '{}', null), 415, /Unsupported Media Type/],
        ['another content type', request('PUT', '/modes', '{"mode":"pause"}', 'application/x-www-form-urlencoded'), 415, /Unsupported Media Type/],
        ['text', request('POST', '/blocks', 'kind=tenant&value=acme', 'text/plain'), 400, /^body: expected object/],
        ['empty', request('POST', '/blocks', ''), 400, /Body cannot be empty/],
        ['not JSON', request('PUT', '/modes', "{'mode': 'pause'}"), 400, /not valid JSON/],
        ['a __proto__ key', request('POST', '/blocks', '{"kind":"tenant","value":"acme","reason":"r","__proto__":{"admin":true}}'), 400, /JSON/],
        ['a constructor.prototype key', request('PUT', '/modes', '{"mode":"pause","constructor":{"prototype":{"admin":true}}}'), 400, /JSON/],
        ['a number JSON cannot hold', request('POST', '/blocks', '{"kind":"tenant","value":"acme","reason":"r","ttlS":1e400}'), 400, /^ttlS: expected number \(got Infinity\)$/],
        ['an array', request('PUT', '/modes', '[{"mode":"pause"}]'), 400, /^body: expected object \(got \[\{"mode":"pause"\}\]\)$/],
        ['null', request('PUT', '/overrides/tenants/acme', 'null'), 400, /^body: is required/],
        ['a string', request('POST', '/blocks', '"block everyone"'), 400, /^body: expected object \(got "block everyone"\)$/],
        ['a value too long to echo', request('POST', '/blocks', JSON.stringify({ kind: 'tenant', value: 'acme', reason: 'y'.repeat(5_000) })), 400, /^reason: expected at most 1000 characters \(got "y{199}\.\.\. \(5002 characters\)\)$/],
      ];
      for (const [name, raw, status, message] of cases) {
        const { res, body } = await adminRaw(raw);
        expect(res.status, name).toBe(status);
        expect(body['message'], name).toMatch(message);
      }
      expect(adminFailures()).toEqual([]);
      expect(await blocks()).toEqual([]);
      expect((await adminRaw(`GET /modes HTTP/1.1\r\nHost: localhost\r\n${AUTH}Connection: close\r\n\r\n`)).body).toMatchObject({ global: null });
    });
  });

  it('200 bad bodies at once from as many connections: every one answered 4xx, the admin API and the proxy unharmed', async () => {
    await underAttack(a, async () => {
      const bodies = [deep(5_000), '{"kind":', '"x"', `{"kind":"planet","value":"${'v'.repeat(3_000)}","reason":"r"}`];
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => adminRaw(request('POST', '/blocks', bodies[i % bodies.length]!))));
      for (const { res } of answers) expect(res.status).toBe(400);
      expect(adminFailures()).toEqual([]);
      expect(await blocks()).toEqual([]);
    });
  });
});

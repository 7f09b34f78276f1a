/**
 * The live dashboard on the admin listener (`GET /dashboard`): served without the token but holding
 * nothing, under a CSP that pins its inline script and style; then in a real headless Chromium against
 * a real proxy with an origin, traffic, waiting tenants and a controller watching a JSON stats
 * endpoint: it asks for the token (and says so when it is wrong), shows the state, the signals and the
 * waiting per tenant as they change, pauses a tenant through its switches (after a confirmation),
 * lifts a block, says when the connection is lost, and shows hostile names from Redis and from blocks
 * as text. Every wait is a poll of the DOM or the API with a deadline.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { stat } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, DASHBOARD_PATH } from '../../src/admin/dashboard/page.js';
import { CHROMIUM_SETUP_TIMEOUT_MS, axeViolations, describeViolations, ensureChromium, saveScreenshot, seriousViolations, withPage } from '../helpers/browser.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { closeServer, listen, startProxy, type Proxy } from '../helpers/index.js';
import { RedisServer } from '../helpers/redisServer.js';
import { countingOrigin, send, SECRET, within, type CountingOrigin, type Sent } from '../room/proxyHelpers.js';
import { admin, adminOk, adminUrl, TOKEN } from './adminClient.js';

const cleanup = cleanupAfterEach({ ignoreErrors: true });

/** An application endpoint serving `{ pool: { active } }` at /stats, the number (or a failure) set by the test. */
async function statsEndpoint(): Promise<{ url: string; value: number; failing: boolean; close(): Promise<void> }> {
  const stats = {
    url: '',
    value: 10,
    /** Answer 503: the poll fails and the signal is unknown. */
    failing: false,
    close: (): Promise<void> => Promise.resolve(),
  };
  const server: Server = createServer((_req, res) => {
    if (stats.failing) {
      res.writeHead(503).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pool: { active: stats.value } }));
  });
  const port = await listen(server);
  stats.url = `http://127.0.0.1:${port}/stats`;
  stats.close = () => closeServer(server);
  return stats;
}

interface Setup {
  proxy: Proxy;
  origin: CountingOrigin;
  stats: Awaited<ReturnType<typeof statsEndpoint>>;
  /** Requests sent into the room; answered (503 with a ticket) when the proxy stops. */
  sent: Sent[];
}

/** A proxy whose upstream takes one request at a time, with a controller on the stats endpoint. */
async function setup(patch: Record<string, unknown> = {}): Promise<Setup> {
  const stats = await statsEndpoint();
  cleanup.push(() => stats.close());
  const origin = await countingOrigin({ hold: (req) => req.url === '/block' });
  cleanup.push(async () => {
    origin.releaseAll();
    await origin.close();
  });
  const proxy = await startProxy(origin.url, {
    secret: SECRET,
    admin: { token: TOKEN },
    identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }] },
    upstreams: { app: { url: origin.url, concurrency: 1 } },
    room: { hold: { apiMs: 120_000 } },
    control: {
      tickMs: 100,
      upstreams: {
        app: {
          slowStart: { onStart: false },
          engage: { dbConnections: { http: { url: stats.url, pointer: '/pool/active', above: 80, everyMs: 100 } }, forS: 0 },
          shed: { dbConnections: { http: 200 }, forS: 0 },
          release: { forS: 0.3 },
        },
      },
    },
    ...patch,
  });
  const sent: Sent[] = [];
  cleanup.push(async () => {
    await proxy.stop();
    await Promise.allSettled(sent.map((s) => s.reply));
  });
  return { proxy, origin, stats, sent };
}

/** One request from `client` of `tenant`, kept so the test can let it go at the end. */
function request(s: Setup, tenant: string, client: string, path = '/page'): Sent {
  const r = send(s.proxy.port, path, { headers: { 'x-tenant-id': tenant, 'x-client-id': client, accept: 'application/json' } });
  r.reply.catch(() => undefined);
  s.sent.push(r);
  return r;
}

/** Waits until `read()` gives `want` (deep equality), polling; a clear failure with the last value. */
async function until<T>(read: () => Promise<T>, want: T, timeout = 20_000): Promise<void> {
  await expect.poll(read, { timeout, interval: 50 }).toEqual(want);
}

/** The rows of a table body as cell texts (browser code as a string: the project has no DOM types). */
function rows(page: Page, tbody: string): Promise<string[][]> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(`${tbody} tr`)})].map((tr) => [...tr.children].map((c) => c.textContent.trim()))`) as Promise<string[][]>;
}

/** The text of the first element matching `selector`, or null when there is none (no waiting). */
function text(page: Page, selector: string): Promise<string | null> {
  return page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent.trim() ?? null`) as Promise<string | null>;
}

function visible(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).first().isVisible();
}

/** The signal row `name` of the (only) upstream: [name, value, engage, shed, state, read, detail]. */
async function signal(page: Page, name: string): Promise<string[] | undefined> {
  return (await rows(page, '#upstreams tbody')).find((r) => r[0] === name);
}

/** tenant -> [mode cell, waiting total] as the page shows them. */
async function tenants(page: Page): Promise<[string, string, string][]> {
  return (await rows(page, '#tenant-rows')).map((r) => [r[0]!, r[1]!, r[2]!]);
}

/** Console errors (a CSP or Trusted Types violation is one) and uncaught exceptions of the page. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/401 \(Unauthorized\)/.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  return problems;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
}

describe('GET /dashboard', () => {
  it('is served without the token, holds no data, and pins its inline script and style by hash', async () => {
    const s = await setup();
    request(s, 'acme', 'c1');
    const res = await fetch(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(DASHBOARD_CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // One inline script and one inline style, each exactly the one the CSP allows.
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(html.match(/<script/g)).toHaveLength(1);
    const hash = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(csp).toContain(`script-src ${hash(scripts[0]!)}`);
    expect(csp).toContain(`style-src ${hash(styles[0]!)}`);
    // Nothing from elsewhere, and nothing of this instance: no token, tenant, upstream or instance id.
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    for (const secret of [TOKEN, 'acme', s.origin.url, s.proxy.app.rt.instanceId]) expect(html).not.toContain(secret);
    // Same bytes for everyone, with a token or without.
    const withToken = await admin(s.proxy, 'GET', DASHBOARD_PATH);
    expect(withToken.text).toBe(html);
    expect((await fetch(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('is the only thing open without the token: its neighbours, other methods and the API still answer 401', async () => {
    const s = await setup();
    for (const [method, path] of [
      ['POST', '/dashboard'],
      ['PUT', '/dashboard'],
      ['GET', '/dashboard/x'],
      ['GET', '/dashboardx'],
      ['GET', '/DASHBOARD'],
      ['GET', '/status'],
      ['GET', '/no/such/endpoint'],
    ] as const) {
      const r = await admin(s.proxy, method, path, undefined, null);
      expect(r.status, `${method} ${path}`).toBe(401);
    }
  });

  it('status signals say how long ago they were read', async () => {
    const s = await setup();
    await until(async () => {
      const st = await adminOk(s.proxy, 'GET', '/status');
      const up = (st['upstreams'] as { signals: { name: string; ageMs: number | null }[] }[])[0]!;
      const http = up.signals.find((x) => x.name === 'db.http');
      return typeof http?.ageMs === 'number' && http.ageMs >= 0 && http.ageMs < 60_000;
    }, true);
  });
});

describe('the dashboard in Chromium', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    await ensureChromium();
  }, CHROMIUM_SETUP_TIMEOUT_MS);

  it('asks for the token, then follows state, signals and waiting live; pauses a tenant after a confirmation; lifts a block', async () => {
    const s = await setup();
    await withPage(async (page) => {
      const problems = watchProblems(page);
      await page.goto(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`);
      await page.evaluate('window.__sameDocument = true');

      // The API wants a token: the form, and nothing else.
      await until(() => visible(page, '#login'), true);
      expect(await visible(page, '#board')).toBe(false);
      expect(await page.evaluate("sessionStorage.getItem('anteroom-admin-token')")).toBe(null);

      // A wrong one is refused with a message that says so, and is not kept.
      await signIn(page, 'not-the-token');
      await until(() => visible(page, '#login-error'), true);
      expect(await text(page, '#login-error')).toContain('The admin API refused the token: wrong token.');
      expect(await visible(page, '#board')).toBe(false);
      expect(await page.evaluate("sessionStorage.getItem('anteroom-admin-token')")).toBe(null);

      await signIn(page, TOKEN);
      await until(() => visible(page, '#board'), true);
      expect(await visible(page, '#login')).toBe(false);
      expect(await text(page, '#conn')).toBe('Live');
      // Kept for this tab only, never in the URL.
      expect(await page.evaluate("sessionStorage.getItem('anteroom-admin-token')")).toBe(TOKEN);
      expect(page.url()).toBe(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`);

      // Open, with the signal under its threshold.
      await until(() => text(page, '#upstreams .badge'), '● OPEN');
      await until(async () => (await signal(page, 'db.http'))?.slice(1, 5), ['10', '80', '200', 'ok']);
      expect((await signal(page, 'db.http'))![5]).toMatch(/ ago$/);
      expect(await text(page, '#alerts')).toContain('Nothing: every upstream is open');

      // The signal goes over: queueing, shown live.
      s.stats.value = 95;
      await until(() => text(page, '#upstreams .badge'), '▲ QUEUEING');
      await until(async () => (await signal(page, 'db.http'))?.slice(1, 5), ['95', '80', '200', 'OVER']);
      expect(await text(page, '#alerts')).toContain('app is QUEUEING: newcomers wait in the room.');

      // Traffic: the upstream's one slot taken, then tenants waiting in the room.
      request(s, 'globex', 'blocker', '/block');
      await expect.poll(() => s.origin.held, { timeout: 10_000 }).toBe(1);
      for (let i = 0; i < 3; i++) request(s, 'acme', `a${i}`);
      request(s, 'globex', 'g0');
      await until(() => tenants(page), [
        ['acme', 'auto(config)', '3'],
        ['globex', 'auto(config)', '1'],
      ]);
      await until(() => text(page, '#room-waiting'), '4');
      // Ordered by waiting: globex overtakes acme as its queue grows.
      for (let i = 1; i < 4; i++) request(s, 'globex', `g${i}`);
      await until(async () => (await tenants(page)).map((t) => t[0] + ':' + t[2]), ['globex:4', 'acme:3']);
      // ...and by name when that column is chosen.
      await page.getByRole('button', { name: 'Tenant', exact: true }).click();
      expect((await tenants(page)).map((t) => t[0])).toEqual(['acme', 'globex']);
      expect(await page.locator('#tenants th[data-sort="tenant"]').getAttribute('aria-sort')).toBe('ascending');
      await page.getByRole('button', { name: 'Waiting', exact: true }).click();
      expect((await tenants(page)).map((t) => t[0])).toEqual(['globex', 'acme']);

      // Pause acme through the page. Cancelling the confirmation changes nothing.
      await page.getByRole('button', { name: 'Set mode for tenant acme' }).click();
      expect(await page.locator('#mode-tenant').inputValue()).toBe('acme');
      await page.getByRole('radio', { name: /^pause/ }).check();
      await page.getByRole('button', { name: 'Apply mode' }).click();
      const dialog = page.getByRole('dialog');
      await until(() => dialog.isVisible(), true);
      expect(await text(page, '#confirm-h')).toBe('Pause admission for tenant acme?');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await until(() => text(page, '#mode-result'), 'Nothing changed.');
      expect((await adminOk(s.proxy, 'GET', '/modes'))['tenants']).toEqual([]);

      await page.getByRole('button', { name: 'Apply mode' }).click();
      await page.getByRole('button', { name: 'Pause tenant acme' }).click();
      await until(() => text(page, '#mode-result'), 'Tenant acme: pause is in force.');
      const modes = await adminOk(s.proxy, 'GET', '/modes');
      expect(modes['tenants']).toMatchObject([{ tenant: 'acme', mode: 'pause' }]);
      expect(s.proxy.app.rt.controls.roomMode('acme', 'auto')).toBe('pause');
      await until(async () => (await tenants(page)).find((t) => t[0] === 'acme')?.[1], 'pause(own)');
      expect(await text(page, '#alerts')).toContain('Tenant acme is PAUSED');
      expect(await text(page, '#modes-list')).toContain('Tenant acme');

      // A block made elsewhere appears; lifted from the page.
      await adminOk(s.proxy, 'POST', '/blocks', { kind: 'tenant', value: 'initech', reason: 'reconnect storm, INC-42', ttlS: 900, closeWebsockets: true });
      await until(async () => (await rows(page, '#block-rows')).map((r) => r.slice(0, 4)), [['tenant', 'initech', 'reconnect storm, INC-42', 'all requests; open websockets closed']]);
      expect(await visible(page, '#blocks-none')).toBe(false);
      // Its refusals show on the tenant's row, by code.
      expect((await request(s, 'initech', 'i0').reply).status).toBe(403);
      await until(async () => (await rows(page, '#tenant-rows')).find((r) => r[0] === 'initech')?.[9], '1ANT_BLOCKED 1');

      const shot = await saveScreenshot(page, 'dashboard');
      expect((await stat(shot)).size).toBeGreaterThan(10_000);
      const serious = seriousViolations(await axeViolations(page));
      expect(serious, describeViolations(serious)).toEqual([]);

      await page.getByRole('button', { name: 'Unblock tenant initech' }).click();
      await until(() => text(page, '#block-result'), 'Lifted the block on tenant initech.');
      expect((await adminOk(s.proxy, 'GET', '/blocks'))['blocks']).toEqual([]);
      await until(() => visible(page, '#blocks-none'), true);
      expect(await rows(page, '#block-rows')).toEqual([]);

      // The signal falls back: open again, live; the tenant stays paused.
      s.stats.value = 10;
      await until(() => text(page, '#upstreams .badge'), '● OPEN');
      await until(async () => (await signal(page, 'db.http'))?.[4], 'ok');
      expect((await tenants(page)).find((t) => t[0] === 'acme')).toEqual(['acme', 'pause(own)', '3']);

      // The stats endpoint stops answering: the signal is unknown, marked as such, never read as fine.
      s.stats.failing = true;
      await until(async () => (await signal(page, 'db.http'))?.slice(1, 5), ['—', '80', '200', 'UNKNOWN']);
      const unknown = (await signal(page, 'db.http'))!;
      expect(unknown[5]).toMatch(/ ago$/); // when it was last read
      expect(unknown[6]).toContain('answered 503');
      expect(await page.locator('#upstreams tbody tr.l-unknown').count()).toBe(1);
      expect(await text(page, '#alerts')).toMatch(/app: signal db\.http is UNKNOWN \(.*answered 503\)/);
      await saveScreenshot(page, 'dashboard-unknown-signal');
      s.stats.failing = false;
      await until(async () => (await signal(page, 'db.http'))?.[4], 'ok');

      // All of it without leaving the page, and without a CSP or script error.
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      expect(problems).toEqual([]);

      // "Forget token": the form again, nothing kept.
      await page.getByRole('button', { name: 'Forget token' }).click();
      await until(() => visible(page, '#login'), true);
      expect(await visible(page, '#board')).toBe(false);
      expect(await page.evaluate("sessionStorage.getItem('anteroom-admin-token')")).toBe(null);
    });
  });

  it('without a token configured (loopback) shows the figures at once, switches maintenance for everyone; when the listener goes away it says the connection is lost', async () => {
    const s = await setup({ admin: { token: '' } });
    await withPage(
      async (page) => {
        const problems = watchProblems(page);
        await page.goto(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`);
        await until(() => visible(page, '#board'), true);
        expect(await visible(page, '#login')).toBe(false);
        await until(() => text(page, '#conn'), 'Live');
        await until(() => text(page, '#upstreams .badge'), '● OPEN');
        await expect.poll(() => text(page, '#updated'), { timeout: 20_000 }).toMatch(/^updated \d+\.\d s ago \(\d\d:\d\d:\d\d\)$/);
        await saveScreenshot(page, 'dashboard-dark');
        const serious = seriousViolations(await axeViolations(page));
        expect(serious, describeViolations(serious)).toEqual([]);

        // Maintenance for everyone, with a message, after a confirmation; then cleared from the list.
        await page.getByRole('radio', { name: /^maintenance/ }).check();
        await page.getByLabel('Message on the maintenance page (maintenance only)').fill('Back at 14:00 UTC');
        await page.getByLabel('Reason, for the log and the other operators').fill('database upgrade');
        await page.getByRole('button', { name: 'Apply mode' }).click();
        expect(await text(page, '#confirm-text')).toContain('with your message');
        await page.getByRole('button', { name: 'Start maintenance for everyone' }).click();
        await until(() => text(page, '#mode-result'), 'Everyone: maintenance is in force.');
        expect((await admin(s.proxy, 'GET', '/modes', undefined, null)).json()['global']).toMatchObject({ mode: 'maintenance', message: 'Back at 14:00 UTC', reason: 'database upgrade' });
        await until(async () => (await text(page, '#alerts'))?.includes('Global mode MAINTENANCE'), true);
        expect(await text(page, '#modes-list')).toContain('Message: Back at 14:00 UTC');
        expect(await text(page, '#room-mode')).toBe('maintenance (set at runtime; the config says auto)');
        await page.getByRole('button', { name: 'Clear the runtime mode of everyone' }).click();
        await until(() => text(page, '#mode-result'), 'Everyone: the runtime mode is cleared.');
        expect((await admin(s.proxy, 'GET', '/modes', undefined, null)).json()['global']).toBe(null);
        await until(() => visible(page, '#modes-none'), true);
        expect(problems).toEqual([]);

        // A browser polling the admin listener keeps connections open; they must not hold the
        // shutdown for their keep-alive timeout (72 s). The deadline is generous, not a measurement.
        await within(s.proxy.stop(), 15_000, 'the proxy stopping while the dashboard polls');
        await until(() => text(page, '#conn'), 'Connection lost');
        await until(() => visible(page, '#stale'), true);
        expect(await text(page, '#stale')).toMatch(/^Connection lost: no answer from the admin listener .*The figures below are from \d\d:\d\d:\d\d and may be out of date; retrying (in \d|now)/);
        expect(await page.evaluate("document.body.classList.contains('stale')")).toBe(true);
        // The last figures stay on screen, greyed out.
        expect(await text(page, '#upstreams .badge')).toBe('● OPEN');
        await saveScreenshot(page, 'dashboard-connection-lost');
      },
      { colorScheme: 'dark' },
    );
  });

  it('shows hostile names as text: a tenant from Redis, a block’s value, reason and message', async () => {
    const redis = await RedisServer.start();
    cleanup.push(() => redis.stop());
    const s = await setup({ store: { kind: 'redis', url: redis.url } });
    const hostile = '<img src=x onerror=window.__pwned=1>';
    // A mode entry no admin request could make (not a tenant id), as a bad writer to Redis would.
    const r = new Redis(redis.url);
    try {
      const entry = { type: 'mode', tenant: hostile, mode: 'pause', message: '<script>window.__pwned=2</script>', reason: '<b>bold</b>', setAt: Date.now() };
      await r.hset('anteroom:{anteroom-controls}:entries', `m:t:${hostile}`, JSON.stringify(entry));
      const version = await r.incr('anteroom:{anteroom-controls}:version');
      await r.publish('anteroom:{anteroom-controls}:changed', String(version));
    } finally {
      r.disconnect();
    }
    await until(async () => ((await adminOk(s.proxy, 'GET', '/modes'))['tenants'] as { tenant: string }[]).map((t) => t.tenant), [hostile]);
    await adminOk(s.proxy, 'POST', '/blocks', { kind: 'client', value: '<img src=x onerror=window.__pwned=3>', reason: '<script>window.__pwned=4</script>', message: '<i>go away</i>' });

    await withPage(async (page) => {
      const problems = watchProblems(page);
      await page.goto(`${adminUrl(s.proxy)}${DASHBOARD_PATH}`);
      await signIn(page, TOKEN);
      await until(async () => (await tenants(page)).map((t) => t[0]), [hostile]);
      await until(async () => (await rows(page, '#block-rows')).map((row) => row.slice(0, 3)), [['client', '<img src=x onerror=window.__pwned=3>', '<script>window.__pwned=4</script>The client is told: <i>go away</i>']]);
      expect(await text(page, '#modes-list')).toContain(`Tenant ${hostile}`);
      expect(await text(page, '#modes-list')).toContain('<b>bold</b>');
      expect(await text(page, '#alerts')).toContain(`Tenant ${hostile} is PAUSED`);
      // Text, not markup: no element was made from any of it, and nothing ran.
      expect(await page.evaluate("document.querySelectorAll('img, #board script, #board i, #alerts li *, #tenant-rows b, #modes-list b, #block-rows b').length")).toBe(0);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      // Not a tenant id: no mode switch is offered for it, but its mode can be cleared.
      expect((await rows(page, '#tenant-rows'))[0]!.at(-1)).toBe('—');
      await page.getByRole('button', { name: `Clear the runtime mode of tenant ${hostile}` }).click();
      await until(async () => (await adminOk(s.proxy, 'GET', '/modes'))['tenants'], []);
      await until(() => text(page, '#mode-result'), `Tenant ${hostile}: the runtime mode is cleared.`);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(problems).toEqual([]);
    });
  });
});

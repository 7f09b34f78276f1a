/**
 * The waiting room end to end in a real headless Chromium: a real Anteroom in front of a real origin
 * whose one slot (`room.concurrency: 1`) is kept busy by slow requests the test holds. The page is
 * queued behind them, shows its position, moves up as the test lets them finish, and lands on the
 * application page the origin serves once admitted. A full room shows the "full" page, which keeps
 * trying and lets the person in once there is room again.
 */
import { stat } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_SETUP_TIMEOUT_MS, axeViolations, describeViolations, ensureChromium, saveScreenshot, seriousViolations, withPage } from '../helpers/browser.js';
import { countingOrigin, harness, occupy, send, until, type Harness, type Sent } from './proxyHelpers.js';

const APP_PAGE = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>The shop</title><link rel="icon" href="data:,"></head><body><main><h1>Welcome to the shop</h1></main></body></html>';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function setup(room: Record<string, unknown> = {}): Promise<Harness> {
  const origin = await countingOrigin({
    // Slow requests stay at the origin until the test lets them go.
    hold: (req) => req.url === '/block' || (req.url ?? '').startsWith('/busy/'),
    answer: (req, res) => {
      if (req.url === '/shop') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(APP_PAGE);
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
    },
  });
  h = await harness(origin, { room: { concurrency: 1, hold: { apiMs: 60_000 }, ...room } });
  return h;
}

/** Queues a slow API request and waits until it is in the room. */
async function queueBusy(h: Harness, i: number): Promise<Sent> {
  const before = h.room.waiting;
  const sent = send(h.proxy.port, `/busy/${i}`);
  sent.reply.catch(() => undefined);
  await until(() => h.room.waiting === before + 1, `/busy/${i} waiting`);
  return sent;
}

function liveText(page: Page, want: string, timeout = 8_000): Promise<void> {
  return expect.poll(() => page.locator('#anteroom-position').textContent(), { timeout, interval: 25 }).toBe(want);
}

describe('the waiting room in Chromium', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    await ensureChromium();
  }, CHROMIUM_SETUP_TIMEOUT_MS);

  it('a queued page shows its place, moves up as slots free, and lands on the application page when admitted', async () => {
    const h = await setup();
    await occupy(h);
    const busy = [await queueBusy(h, 1), await queueBusy(h, 2)];
    await withPage(async (page) => {
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      const first = await page.goto(`${h.proxy.url}/shop`);
      expect(first?.status()).toBe(503);
      expect(await page.locator('h1').textContent()).toBe('You are in line');
      await liveText(page, 'You are number 3 in line.');
      expect(h.room.waiting).toBe(3);
      const shot = await saveScreenshot(page, 'room-queued-page');
      expect((await stat(shot)).size).toBeGreaterThan(1000);
      const serious = seriousViolations(await axeViolations(page));
      expect(serious, describeViolations(serious)).toEqual([]);

      // The slow request at the origin finishes: the first held request takes the slot.
      h.origin.release('/block');
      await until(() => h.origin.held === 1 && h.room.waiting === 2, '/busy/1 at the origin');
      await liveText(page, 'You are number 2 in line.');
      h.origin.release('/busy/1');
      await until(() => h.origin.arrived.length === 3 && h.room.waiting === 1, '/busy/2 at the origin');
      await liveText(page, 'You are next in line.');
      h.origin.release('/busy/2');

      await expect.poll(() => page.locator('h1').textContent(), { timeout: 8_000, interval: 25 }).toBe('Welcome to the shop');
      expect(page.url()).toBe(`${h.proxy.url}/shop`);
      expect(await page.title()).toBe('The shop');
      await saveScreenshot(page, 'room-admitted-app-page');
      // The application page came from the origin, once, after the three slow requests, in order.
      expect(h.origin.arrived.map((a) => a.path)).toEqual(['/block', '/busy/1', '/busy/2', '/shop']);
      expect(h.origin.maxInFlight).toBe(1);
      // The browser now holds a session: its next navigation goes straight through.
      const cookies = await page.context().cookies(h.proxy.url);
      expect(cookies.map((c) => c.name)).toContain('anteroom_session');
      expect(cookies.find((c) => c.name === 'anteroom_ticket')).toBeUndefined();
      expect(problems).toEqual([]);
    });
    expect((await Promise.all(busy.map((b) => b.reply))).map((r) => r.status)).toEqual([200, 200]);
  });

  it('a full room shows the "full" page, which keeps trying and lets the person in when there is room', async () => {
    // A short grace makes the page poll every 2 s (its interval stays well inside the grace).
    const h = await setup({ maxPerTenant: 1, graceS: 5 });
    await occupy(h);
    const busy = await queueBusy(h, 1);
    await withPage(async (page) => {
      const first = await page.goto(`${h.proxy.url}/shop`);
      expect(first?.status()).toBe(503);
      const full = 'The waiting room is full at the moment. Please keep this page open; we keep trying.';
      await liveText(page, full);
      await saveScreenshot(page, 'room-full-page');
      const serious = seriousViolations(await axeViolations(page));
      expect(serious, describeViolations(serious)).toEqual([]);
      // It polls and, while the room stays full, keeps saying so (not "your place was lost").
      const polls: string[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/__anteroom/status')) void r.text().then((t) => polls.push(t), () => undefined);
      });
      await until(() => polls.length >= 2, 'two status polls', 10_000);
      expect(polls.map((p) => (JSON.parse(p) as { state: string }).state)).toEqual(['full', 'full']);
      expect(await page.locator('#anteroom-position').textContent()).toBe(full);
      expect(h.room.waiting).toBe(1);

      // Room frees up: the page gets a place, then in.
      h.origin.release('/block');
      await until(() => h.origin.arrived.length === 2, '/busy/1 at the origin');
      h.origin.release('/busy/1');
      await expect.poll(() => page.locator('h1').textContent(), { timeout: 10_000, interval: 25 }).toBe('Welcome to the shop');
      expect(h.origin.arrived.map((a) => a.path)).toEqual(['/block', '/busy/1', '/shop']);
    });
    expect((await busy.reply).status).toBe(200);
  });
});

/**
 * The waiting page: the renderer's promises (weight, escaping, languages, no reload loop, no external
 * assets) as unit tests, then the page in a real headless Chromium against a real HTTP server that plays
 * the proxy: a queued visitor moves up 3 -> 2 -> 1 -> admitted and lands on the application page.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  DEFAULT_TEMPLATE,
  MAX_MESSAGE_LENGTH,
  PAGE_LANGUAGES,
  PAGE_STRINGS,
  STATUS_PATH,
  TEMPLATE_VARIABLES,
  TemplateError,
  WAITING_PAGE_CSP,
  formatEta,
  formatPosition,
  jsonForScript,
  localPath,
  nextPollDelay,
  pickLanguage,
  renderWaitingPage,
  type RoomStatus,
  type WaitingPageVars,
} from '../../src/room/page/index.js';
import { PAGE_SCRIPT } from '../../src/room/page/script.js';
import {
  CHROMIUM_SETUP_TIMEOUT_MS,
  axeViolations,
  describeViolations,
  ensureChromium,
  saveScreenshot,
  seriousViolations,
  withPage,
} from '../helpers/browser.js';

const en = PAGE_STRINGS.en!;
const de = PAGE_STRINGS.de!;

function vars(over: Partial<WaitingPageVars> = {}): WaitingPageVars {
  return {
    position: 3,
    etaSeconds: { low: 120, high: 240 },
    ticket: 'tk_abc.123-XYZ',
    originalUrl: '/shop/checkout?item=42&qty=1',
    pollAfterMs: 5000,
    message: 'Tickets go on sale at noon.',
    ...over,
  };
}

/** Text of the first element with this id (the page's markup is ours, so a regex is enough). */
function byId(html: string, id: string): string | undefined {
  return new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
}

describe('renderWaitingPage', () => {
  test('weighs under 30 KB, also with the longest message and URL it keeps', () => {
    const typical = renderWaitingPage(vars());
    expect(Buffer.byteLength(typical, 'utf8')).toBeLessThan(12_000);

    const worst = renderWaitingPage(
      vars({
        // Every character escapes to its longest entity; the URL is the longest one kept.
        message: '"'.repeat(MAX_MESSAGE_LENGTH * 3),
        originalUrl: `/${'a&'.repeat(1023)}`,
        ticket: 'T'.repeat(512),
        acceptLanguage: 'fr',
      }),
    );
    expect(worst).toContain('&quot;'.repeat(MAX_MESSAGE_LENGTH - 1));
    expect(worst).toContain(`/${'a&amp;'.repeat(1023)}`);
    expect(Buffer.byteLength(worst, 'utf8')).toBeLessThan(30_000);
  });

  test('is semantic HTML with a polite live region holding the position', () => {
    const html = renderWaitingPage(vars());
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).toContain('<main>');
    expect(html).toContain(`<h1>${en.heading}</h1>`);
    expect(html).toMatch(/<div role="status" aria-live="polite">\s*<p id="anteroom-position"[^>]*>You are number 3 in line\.<\/p>/);
    expect(byId(html, 'anteroom-eta')).toBe('about 2–4 minutes');
    expect(html).toContain('a:focus-visible{outline:3px solid');
    expect(html).toMatch(/@media \(prefers-reduced-motion:reduce\)\{\*\{animation:none!important/);
  });

  test('has no timed reload: no meta refresh, and the script never reloads or assigns the location', () => {
    const html = renderWaitingPage(vars());
    expect(html).not.toMatch(/http-equiv/i);
    expect(html).not.toMatch(/refresh/i);
    expect(PAGE_SCRIPT).not.toMatch(/reload|setInterval|location\.href\s*=|location\s*=|location\.assign/);
    expect(PAGE_SCRIPT).toContain('location.replace(data.originalUrl)');
  });

  test('loads nothing from elsewhere: the only URLs are the check link and an inline icon', () => {
    const html = renderWaitingPage(vars());
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '');
    const urls = [...markup.matchAll(/\b(?:src|href|action|poster|srcset|data)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]);
    expect(urls.sort()).toEqual(['/shop/checkout?item=42&amp;qty=1', 'data:,'].sort());
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/url\(|@import|@font-face/i);
    expect(html.match(/<script\b/g)).toHaveLength(2);
    expect(html).toContain('<script type="application/json" id="anteroom-data">');
  });

  test('escapes a hostile tenant message as text', () => {
    const message = '</p><script>alert(1)</script><img src=x onerror=alert(2)> & "quotes" \'too\'';
    const html = renderWaitingPage(vars({ message }));
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(byId(html, 'anteroom-message')).toBe(
      '&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quotes&quot; &#39;too&#39;',
    );
  });

  test('keeps a hostile original URL and ticket inside their attribute and their JSON', () => {
    const originalUrl = '/p?q="><script>alert(1)</script><!--';
    const ticket = 'x</script><script>alert(3)</script>';
    const html = renderWaitingPage(vars({ originalUrl, ticket }));
    // Exactly the page's own two script elements open and close: nothing broke out.
    expect(html.match(/<script\b/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).toContain('href="/p?q=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--"');
    const data = JSON.parse(/id="anteroom-data">([^<]*)<\/script>/.exec(html)![1]!) as Record<string, unknown>;
    expect(data.originalUrl).toBe(originalUrl);
    expect(data.ticket).toBe(ticket);
  });

  test('jsonForScript round-trips and leaves no character that can end a script or a line', () => {
    const value = { a: '</script><!-- & \u2028\u2029 "q"', n: 3, z: null };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
    expect(jsonForScript(undefined)).toBe('null');
  });

  test.each([
    ['javascript:alert(1)'],
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['/\t/evil.example'],
    ['https://evil.example/'],
    [' /x'],
    [''],
    [`/${'a'.repeat(2048)}`],
  ])('sends a visitor to / instead of the unsafe original URL %j', (originalUrl) => {
    expect(localPath(originalUrl)).toBe('/');
    const html = renderWaitingPage(vars({ originalUrl }));
    expect(html).toContain('<a class="check" href="/">');
    expect(html).toContain('"originalUrl":"/"');
  });

  test('says "unknown" when the wait cannot be estimated, in the page language', () => {
    expect(byId(renderWaitingPage(vars({ etaSeconds: null })), 'anteroom-eta')).toBe('unknown');
    expect(byId(renderWaitingPage(vars({ etaSeconds: null, acceptLanguage: 'de' })), 'anteroom-eta')).toBe('unbekannt');
    expect(byId(renderWaitingPage(vars({ etaSeconds: null, acceptLanguage: 'fr' })), 'anteroom-eta')).toBe('inconnue');
    expect(byId(renderWaitingPage(vars({ etaSeconds: { low: Number.NaN, high: 5 } })), 'anteroom-eta')).toBe('unknown');
  });

  test.each([
    ['de-CH, fr;q=0.5', 'de', 'Sie sind Nummer 3 in der Warteschlange.'],
    ['fr-CA,fr;q=0.9,en;q=0.8', 'fr', 'Vous êtes numéro 3 dans la file.'],
    ['en;q=0.2, es-MX;q=0.9', 'es', 'Es el número 3 en la fila.'],
    ['ja, zh;q=0.8', 'en', 'You are number 3 in line.'],
    [undefined, 'en', 'You are number 3 in line.'],
  ])('speaks the language Accept-Language %j asks for', (acceptLanguage, lang, sentence) => {
    const html = renderWaitingPage(vars({ acceptLanguage }));
    expect(html).toContain(`<html lang="${lang}">`);
    expect(html).toContain(`<title>${PAGE_STRINGS[lang]!.title}</title>`);
    expect(byId(html, 'anteroom-position')).toBe(sentence);
    const data = JSON.parse(/id="anteroom-data">([^<]*)<\/script>/.exec(html)![1]!) as { strings: Record<string, string> };
    expect(data.strings.position).toBe(PAGE_STRINGS[lang]!.position);
  });

  test('full and maintenance replace the position sentence; no message means no message section', () => {
    expect(byId(renderWaitingPage(vars({ state: 'full' })), 'anteroom-position')).toBe(en.full);
    expect(byId(renderWaitingPage(vars({ state: 'maintenance' })), 'anteroom-position')).toBe(en.maintenance);
    const html = renderWaitingPage(vars({ message: undefined }));
    const markup = html.slice(0, html.indexOf('<script'));
    expect(markup).not.toContain('anteroom-message');
    expect(markup).not.toContain(en.messageHeading);
  });

  test('cuts a message longer than the limit', () => {
    const html = renderWaitingPage(vars({ message: 'x'.repeat(MAX_MESSAGE_LENGTH + 50) }));
    expect(byId(html, 'anteroom-message')).toBe(`${'x'.repeat(MAX_MESSAGE_LENGTH - 1)}…`);
  });
});

describe('pickLanguage', () => {
  const available = ['en', 'de', 'fr', 'es'];
  test.each([
    ['de', 'de'],
    ['fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5', 'fr'],
    ['en;q=0.5, de', 'de'],
    ['de;q=0.3, es;q=0.9', 'es'],
    ['es;q=0.3, de;q=0.3', 'es'], // ties keep header order
    ['ES-mx', 'es'],
    ['xx, yy', 'en'],
    ['', 'en'],
    ['de;q=0', 'en'],
    ['en;q=0, *', 'de'],
    ['en;q=0', 'de'], // English refused by name: the next language, not the refused default
    ['de;q=abc, fr', 'fr'], // a malformed q-value disqualifies its entry
    ['de;q=1.5, es', 'es'],
    ['*', 'en'],
    ['it, *;q=0.1', 'en'],
    [' de-AT ; q=0.8 , fr ; q=0.7', 'de'],
  ])('%j -> %s', (header, lang) => {
    expect(pickLanguage(header, available)).toBe(lang);
  });

  test('undefined header or nothing available', () => {
    expect(pickLanguage(undefined, available)).toBe('en');
    expect(pickLanguage('de', [])).toBe('en');
  });

  test('a bare range takes a regional tag, and the result is spelled as available', () => {
    expect(pickLanguage('fr', ['en-GB', 'fr-CA'])).toBe('fr-CA');
    expect(pickLanguage('pt', ['en-GB', 'fr-CA'])).toBe('en-GB');
  });

  test('the page speaks English and at least two more languages, with every string', () => {
    expect(PAGE_LANGUAGES[0]).toBe('en');
    expect(PAGE_LANGUAGES.length).toBeGreaterThanOrEqual(3);
    for (const lang of PAGE_LANGUAGES) {
      for (const [key, text] of Object.entries(PAGE_STRINGS[lang]!)) {
        expect(text.trim(), `${lang}.${key}`).not.toBe('');
        if (lang !== 'en') expect(text, `${lang}.${key} is still English`).not.toBe(en[key as keyof typeof en]);
      }
    }
  });
});

describe('formatEta, formatPosition and nextPollDelay', () => {
  test.each([
    [null, 'unknown'],
    [{ low: 10, high: 50 }, 'less than a minute'],
    [{ low: 30, high: 60 }, 'about 1 minute'],
    [{ low: 120, high: 240 }, 'about 2–4 minutes'],
    [{ low: 90, high: 230 }, 'about 2–4 minutes'],
    [{ low: 240, high: 120 }, 'about 2–4 minutes'],
    [{ low: 300, high: 300 }, 'about 5 minutes'],
    [{ low: 3000, high: 7200 }, 'about 1–2 hours'],
    [{ low: 7200, high: 7200 }, 'about 2 hours'],
    [{ low: 3600, high: 5400 }, 'about 60–90 minutes'],
    [{ low: 3600, high: 5500 }, 'about 1–2 hours'],
    [{ low: -5, high: -1 }, 'unknown'],
    [{ low: 0, high: Number.POSITIVE_INFINITY }, 'unknown'],
  ])('%j -> %s', (eta, text) => {
    expect(formatEta(eta, en)).toBe(text);
  });

  test('positions', () => {
    expect(formatPosition(null, en, 'en')).toBe('You have a place in line.');
    expect(formatPosition(1, en, 'en')).toBe('You are next in line.');
    expect(formatPosition(2, en, 'en')).toBe('You are number 2 in line.');
    expect(formatPosition(12345, en, 'en')).toBe('You are number 12,345 in line.');
    expect(formatPosition(12345, de, 'de')).toBe('Sie sind Nummer 12.345 in der Warteschlange.');
  });

  test('the server interval with ±20% jitter, clamped, doubling per failure up to a minute', () => {
    expect(nextPollDelay(5000, 0, 0)).toBe(4000);
    expect(nextPollDelay(5000, 0, 0.5)).toBe(5000);
    expect(nextPollDelay(5000, 0, 0.999999)).toBe(6000);
    expect(nextPollDelay(0, 0, 0.5)).toBe(100);
    expect(nextPollDelay(Number.NaN, 0, 0.5)).toBe(5000);
    expect(nextPollDelay(10 * 60_000, 0, 0.5)).toBe(300_000);
    expect([1, 2, 3, 4, 10].map((f) => nextPollDelay(5000, f, 0.5))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(nextPollDelay(120_000, 3, 0.5)).toBe(120_000); // backoff never polls sooner than the server asked
  });
});

describe('operator templates', () => {
  test.each([
    ['<p>{{positon}}</p>', /unknown variable \{\{positon\}\} at line 1/],
    ['<style>p{color:{{message}}}</style>', /not allowed in <style>/],
    ['<a href={{checkUrl}}>x</a>', /quoted attribute value/],
    ['<div {{message}}>x</div>', /quoted attribute value/],
    ['<p>{{strings}}</p>', /inside <script> only/],
    ['{{#message}}<p>x</p>', /never closed/],
    ['<p>x</p>{{/message}}', /closes no open section/],
    ['{{#message}}{{#ticket}}{{/ticket}}{{/message}}', /do not nest/],
    ['{{> footer}}', /unknown partial/],
    ['<p title="{{> style}}">x</p>', /must stand in text/],
    ['<script>var a = 1;', /ends inside a <script>/],
  ])('refuses %j', (template, message) => {
    expect(() => renderWaitingPage(vars(), template)).toThrow(TemplateError);
    expect(() => renderWaitingPage(vars(), template)).toThrow(message);
  });

  test('a variable inside a script is a JSON literal that cannot close the script', () => {
    const template = '<p title="{{message}}">{{position}}</p><script>var m = {{message}}, p = {{position}}, e = {{etaSeconds}};</script>';
    const html = renderWaitingPage(vars({ message: '</script><script>alert(1)//', position: null, etaSeconds: null }), template);
    expect(html).toBe(
      '<p title="&lt;/script&gt;&lt;script&gt;alert(1)//"></p>' +
        '<script>var m = "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)//", p = null, e = null;</script>',
    );
  });

  test('sections show their inside only when the variable is set; partials insert style and script', () => {
    const template = '{{#message}}<aside>{{message}}</aside>{{/message}}<main>{{strings.heading}}</main>{{> style}}{{> script}}';
    expect(renderWaitingPage(vars({ message: '' }), template)).not.toContain('<aside>');
    const html = renderWaitingPage(vars({ message: 'hi' }), template);
    expect(html).toContain('<aside>hi</aside><main>You are in line</main><style>');
    expect(html).toContain(`<script>${PAGE_SCRIPT}</script>`);
  });

  test('every variable is listed in TEMPLATE_VARIABLES and documented in the template module', async () => {
    const names = new Set(TEMPLATE_VARIABLES.map((v) => v.name));
    for (const m of DEFAULT_TEMPLATE.matchAll(/\{\{\s*[#/]?\s*([\w.]+)\s*\}\}/g)) expect(names).toContain(m[1]);
    const source = await readFile(new URL('../../src/room/page/template.ts', import.meta.url), 'utf8');
    const doc = source.slice(0, source.indexOf('*/'));
    for (const v of TEMPLATE_VARIABLES) {
      if (v.name.startsWith('strings.')) expect(doc).toContain(v.name.slice('strings.'.length));
      else expect(doc).toContain(`{{${v.name}}}`);
    }
  });

  test('the CSP pins the inline script and style by hash and allows polling only its own origin', () => {
    expect(WAITING_PAGE_CSP).toMatch(/script-src 'sha256-[A-Za-z0-9+/]{43}='/);
    expect(WAITING_PAGE_CSP).toMatch(/style-src 'sha256-[A-Za-z0-9+/]{43}='/);
    expect(WAITING_PAGE_CSP).toContain("connect-src 'self'");
    expect(WAITING_PAGE_CSP).not.toContain('unsafe-inline');
  });
});

// ---------------------------------------------------------------------------------------------------
// In a real browser.

const TICKET = 'tk_visitor.1';
const ADMIT_COOKIE = 'anteroom_admit=granted';
const ORIGINAL = '/app/page?ref=queue&step=1';
const POLL_MS = 200;

interface Poll {
  at: number;
  ticket: string | null;
  ok: boolean;
}

/** What the test proxy serves and has seen; tests move `position` and flip `failing`. */
interface Room {
  ticket: string;
  position: number | 'admitted';
  failing: boolean;
  csp: boolean;
  message: string;
  polls: Poll[];
  waitingPageViews: number;
  appViews: number;
  /** Every request path the browser made, in order. */
  paths: string[];
}

function freshRoom(): Room {
  return {
    ticket: TICKET,
    position: 3,
    failing: false,
    csp: true,
    message: 'Thanks for waiting. <b>Not bold</b>',
    polls: [],
    waitingPageViews: 0,
    appViews: 0,
    paths: [],
  };
}

const etaFor = (position: number) => ({ low: position * 40, high: position * 80 });

function cookies(req: IncomingMessage): Set<string> {
  return new Set((req.headers.cookie ?? '').split(/;\s*/).filter(Boolean));
}

/**
 * Plays the proxy for one queued visitor: the original URL answers with the waiting page until the
 * ticket is admitted (cookie-carried ticket, as the no-JavaScript link relies on), and with the
 * application once the admission cookie is there; the status endpoint answers RoomStatus JSON.
 */
function handle(room: Room, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  room.paths.push(url.pathname + url.search);
  const jar = cookies(req);

  if (url.pathname === STATUS_PATH) {
    const ticket = url.searchParams.get('ticket');
    if (room.failing) {
      room.polls.push({ at: Date.now(), ticket, ok: false });
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"upstream store unavailable"}');
      return;
    }
    room.polls.push({ at: Date.now(), ticket, ok: true });
    let status: RoomStatus;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (ticket !== room.ticket) status = { state: 'unknown', position: null, etaSeconds: null, pollAfterMs: POLL_MS };
    else if (room.position === 'admitted') {
      status = { state: 'admitted', position: null, etaSeconds: null, pollAfterMs: POLL_MS };
      headers['set-cookie'] = `${ADMIT_COOKIE}; Path=/; HttpOnly; SameSite=Lax`;
    } else status = { state: 'waiting', position: room.position, etaSeconds: etaFor(room.position), pollAfterMs: POLL_MS };
    res.writeHead(200, headers).end(JSON.stringify(status));
    return;
  }

  if (url.pathname === '/app/page') {
    const admitted = jar.has(ADMIT_COOKIE) || (jar.has(`anteroom_ticket=${room.ticket}`) && room.position === 'admitted');
    if (admitted) {
      room.appViews++;
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': `${ADMIT_COOKIE}; Path=/; HttpOnly` })
        .end('<!DOCTYPE html><html lang="en"><head><title>Application</title><link rel="icon" href="data:,"></head><body><main><h1>Welcome to the application</h1></main></body></html>');
      return;
    }
    room.waitingPageViews++;
    const position = room.position as number;
    const html = renderWaitingPage({
      position,
      etaSeconds: etaFor(position),
      ticket: room.ticket,
      originalUrl: url.pathname + url.search,
      pollAfterMs: POLL_MS,
      message: room.message,
      acceptLanguage: req.headers['accept-language'],
    });
    const headers: Record<string, string> = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'set-cookie': `anteroom_ticket=${room.ticket}; Path=/; HttpOnly; SameSite=Lax`,
    };
    if (room.csp) headers['content-security-policy'] = WAITING_PAGE_CSP;
    res.writeHead(200, headers).end(html);
    return;
  }

  if (url.pathname === '/inaccessible') {
    // A page axe must object to: the proof that the accessibility check can fail.
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!DOCTYPE html><html><head><title>x</title></head><body><img src="data:,"><p style="color:#bbb;background:#fff">faint</p></body></html>');
    return;
  }
  res.writeHead(404).end();
}

/** Waits until `read()` returns `want` (polling, as a person watching the page would see it). */
async function until<T>(read: () => Promise<T>, want: T, timeout = 5000): Promise<void> {
  await expect.poll(read, { timeout, interval: 25 }).toEqual(want);
}

// A browser per test: generous time on a loaded two-core CI machine; the tests themselves take seconds.
describe('the waiting page in Chromium', { timeout: 90_000 }, () => {
  let server: Server;
  let base: string;
  let room: Room;

  beforeAll(async () => {
    await ensureChromium();
    server = createServer((req, res) => handle(room, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, CHROMIUM_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    room = freshRoom();
  });

  test('follows its place 3 -> 2 -> 1 in the live region, then lands on the application page', async () => {
    await withPage(async (page) => {
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });

      await page.goto(base + ORIGINAL);
      const live = page.locator('#anteroom-position');
      expect(await page.locator('[role="status"][aria-live="polite"] #anteroom-position').count()).toBe(1);
      expect(await live.textContent()).toBe('You are number 3 in line.');
      expect(await page.locator('h1').textContent()).toBe('You are in line');
      expect(await page.locator('#anteroom-eta').textContent()).toBe('about 2–4 minutes');
      // The tenant's markup is shown as text, not interpreted.
      expect(await page.locator('#anteroom-message').textContent()).toBe('Thanks for waiting. <b>Not bold</b>');
      expect(await page.locator('#anteroom-message b').count()).toBe(0);
      expect(await page.getByText(en.noScript).isVisible()).toBe(false); // the script runs, so no hint
      expect(await page.getByText(en.keepOpen).isVisible()).toBe(true);
      // The progress animation runs for people who have not asked for reduced motion.
      expect(await page.evaluate("getComputedStyle(document.querySelector('.progress span')).animationName")).toBe('anteroom-slide');

      const shot = await saveScreenshot(page, 'waiting-page');
      expect((await stat(shot)).size).toBeGreaterThan(1000);
      const serious = seriousViolations(await axeViolations(page));
      expect(serious, describeViolations(serious)).toEqual([]);
      // Keyboard focus lands on "Check my place" and is visible.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.textContent')).toBe(en.checkLink);
      expect(await page.evaluate("[getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]")).toEqual(['solid', '3px']);
      await saveScreenshot(page, 'waiting-page-focus');
      await page.keyboard.press('Shift+Tab');

      // Record what the live region says each time it changes, and keep the node to prove it stays.
      await page.evaluate(`(() => {
        const region = document.querySelector('[role="status"]');
        window.__live = { node: document.getElementById('anteroom-position'), log: [] };
        new MutationObserver(() => window.__live.log.push(window.__live.node.textContent))
          .observe(region, { subtree: true, childList: true, characterData: true });
      })()`);
      const historyLength = await page.evaluate('history.length');

      await until(() => Promise.resolve(room.polls.length > 0), true);
      room.position = 2;
      await until(() => live.textContent(), 'You are number 2 in line.');
      expect(await page.locator('#anteroom-eta').textContent()).toBe(formatEta(etaFor(2), en));
      room.position = 1;
      await until(() => live.textContent(), 'You are next in line.');
      expect(await page.locator('#anteroom-eta').textContent()).toBe(formatEta(etaFor(1), en));
      // Updated in place (so a screen reader announces it), once per change, not once per poll.
      expect(await page.evaluate("window.__live.node === document.getElementById('anteroom-position')")).toBe(true);
      expect(await page.evaluate('window.__live.log')).toEqual(['You are number 2 in line.', 'You are next in line.']);

      room.position = 'admitted';
      await until(() => page.locator('h1').textContent(), 'Welcome to the application');
      expect(page.url()).toBe(base + ORIGINAL);
      // No history entry for the waiting page, so Back does not return to it. (Chromium also replaces on a
      // same-URL navigation, so it is the unit test on the script that pins location.replace.)
      expect(await page.evaluate('history.length')).toBe(historyLength);

      expect(room.waitingPageViews).toBe(1); // never reloaded itself
      expect(room.appViews).toBe(1);
      expect(room.polls.length).toBeGreaterThanOrEqual(3);
      expect(room.polls.every((p) => p.ticket === room.ticket && p.ok)).toBe(true);
      const gaps = room.polls.slice(1).map((p, i) => p.at - room.polls[i]!.at);
      expect(Math.min(...gaps), `gaps between polls: ${gaps.join(', ')}`).toBeGreaterThanOrEqual(POLL_MS * 0.8 - 15);
      // Nothing but the page, its polls and the application: no favicon, fonts or other assets.
      const others = room.paths.filter((p) => p !== ORIGINAL && !p.startsWith(`${STATUS_PATH}?ticket=`));
      expect(others).toEqual([]);
      expect(problems).toEqual([]);
    });
  });

  test('keeps its place and backs off while polls fail, without reloading', async () => {
    await withPage(async (page) => {
      await page.goto(base + ORIGINAL);
      await until(() => Promise.resolve(room.polls.length > 0), true);
      room.failing = true;
      const note = page.locator('#anteroom-note');
      await until(() => note.isVisible(), true);
      expect(await note.textContent()).toBe(en.retrying);
      await until(() => Promise.resolve(room.polls.filter((p) => !p.ok).length >= 3), true);
      room.failing = false;
      expect(await page.locator('#anteroom-position').textContent()).toBe('You are number 3 in line.');

      // After the 1st and 2nd failure the page waits 2x and 4x the server's interval, each -20% at worst.
      // The server sees a gap no shorter than the page's timer (the next poll is timed from the answer),
      // so these lower bounds hold on a loaded machine; polling at the normal rate would break both.
      const failed = room.polls.filter((p) => !p.ok);
      const gaps = [failed[1]!.at - failed[0]!.at, failed[2]!.at - failed[1]!.at];
      expect(gaps[0], `gaps ${gaps.join(', ')}`).toBeGreaterThanOrEqual(POLL_MS * 2 * 0.8 - 10);
      expect(gaps[1], `gaps ${gaps.join(', ')}`).toBeGreaterThanOrEqual(POLL_MS * 4 * 0.8 - 10);

      room.position = 2;
      await until(() => page.locator('#anteroom-position').textContent(), 'You are number 2 in line.', 8000);
      expect(await note.isVisible()).toBe(false);
      expect(room.waitingPageViews).toBe(1);
    });
  });

  test('without JavaScript, "Check my place" shows the updated place and then lets the person in', async () => {
    await withPage(
      async (page) => {
        await page.goto(base + ORIGINAL);
        expect(await page.locator('#anteroom-position').textContent()).toBe('You are number 3 in line.');
        // Shown unless the script runs and hides it: also when a script is blocked, not only for <noscript>.
        expect(await page.getByText(en.noScript).isVisible()).toBe(true);
        expect(await page.getByText(en.keepOpen).isVisible()).toBe(false); // it would not update by itself
        const link = page.getByRole('link', { name: en.checkLink });
        expect(await link.getAttribute('href')).toBe(ORIGINAL);
        await saveScreenshot(page, 'waiting-page-no-js');

        room.position = 2;
        await link.click();
        await page.waitForLoadState();
        expect(await page.locator('#anteroom-position').textContent()).toBe('You are number 2 in line.');

        room.position = 'admitted';
        await page.getByRole('link', { name: en.checkLink }).click();
        await until(() => page.locator('h1').textContent(), 'Welcome to the application');
        expect(room.polls).toEqual([]); // JavaScript really was off
        expect(room.waitingPageViews).toBe(2);
      },
      { javaScriptEnabled: false },
    );
  });

  test('speaks German to a German browser, updates in German, and stills the animation for reduced motion', async () => {
    await withPage(
      async (page) => {
        await page.goto(base + ORIGINAL);
        expect(await page.getAttribute('html', 'lang')).toBe('de');
        expect(await page.locator('h1').textContent()).toBe(de.heading);
        expect(await page.locator('#anteroom-position').textContent()).toBe('Sie sind Nummer 3 in der Warteschlange.');
        expect(await page.evaluate("getComputedStyle(document.querySelector('.progress span')).animationName")).toBe('none');
        await saveScreenshot(page, 'waiting-page-de-dark');
        const serious = seriousViolations(await axeViolations(page));
        expect(serious, describeViolations(serious)).toEqual([]);

        room.position = 2;
        await until(() => page.locator('#anteroom-position').textContent(), formatPosition(2, de, 'de'));
        expect(await page.locator('#anteroom-eta').textContent()).toBe(formatEta(etaFor(2), de));
      },
      { locale: 'de-DE', reducedMotion: 'reduce', colorScheme: 'dark' },
    );
  });

  test('hostile message, original URL and ticket stay text even without the CSP', async () => {
    room.csp = false;
    // The browser percent-encodes the URL it sends, so the ticket is what carries </script> into the JSON.
    room.ticket = 't</script><script>window.__pwned=4</script>';
    room.message = '</p><script>window.__pwned = 1</script><img src="data:," onerror="window.__pwned = 2">';
    const hostile = `${ORIGINAL}&x="><script>window.__pwned=3</script>`;
    await withPage(async (page) => {
      await page.goto(base + hostile);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(await page.locator('#anteroom-message').textContent()).toBe(room.message);
      expect(await page.locator('script').count()).toBe(2);
      await until(() => Promise.resolve(room.polls.length > 0), true);
      expect(room.polls[0]!.ticket).toBe(room.ticket); // the page read its ticket back intact
      room.position = 'admitted';
      await until(() => page.locator('h1').textContent(), 'Welcome to the application');
      // The browser percent-encodes what it sends; the page went back to exactly that URL.
      expect(room.paths.at(-1)).toBe(room.paths[0]);
    });
  });

  test('the accessibility check can fail: axe flags a page with an unlabelled image and faint text', async () => {
    await withPage(async (page) => {
      await page.goto(`${base}/inaccessible`);
      const ids = seriousViolations(await axeViolations(page)).map((v) => v.id);
      expect(ids).toEqual(expect.arrayContaining(['image-alt', 'color-contrast', 'html-has-lang']));
    });
  });
});

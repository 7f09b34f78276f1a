/**
 * `GET /dashboard` on the admin listener: one self-contained HTML page (no external assets) that polls
 * the admin API and holds the room-mode switches. How it authenticates is described in script.ts.
 *
 * It is the only admin path served without the token: the page is a constant (the same bytes for
 * everyone, built once here), holds no data and no secret, and can do nothing without the token its
 * script asks for. Its Content-Security-Policy allows only its own inline style and script (pinned by
 * hash), fetches to its own origin, no framing, no form submission, and Trusted Types, so that even a
 * mistake that handed an API string to an HTML sink would throw instead of running it.
 */
import { createHash } from 'node:crypto';
import { dashboardHtml } from './markup.js';
import { DASHBOARD_SCRIPT } from './script.js';
import { DASHBOARD_STYLE } from './style.js';

export const DASHBOARD_PATH = '/dashboard';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const DASHBOARD_HTML = dashboardHtml(DASHBOARD_STYLE, DASHBOARD_SCRIPT);

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** The headers the page is served with. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

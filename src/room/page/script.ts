/**
 * The waiting page's script, inlined by the `{{> script}}` partial after the page's data block.
 *
 * It follows the person's place by polling the status endpoint at the interval the server chose, with
 * jitter; updates the live region in place (a screen reader announces the change; replacing the element
 * would not); and, once admitted, leaves with `location.replace` so that Back does not return to the
 * waiting page. When a poll fails it backs off and says the place is kept; it never reloads the page,
 * because a crowd reloading a queued site is the storm the room exists to prevent (incident 000).
 *
 * DOM it uses, all optional: `#anteroom-data` (JSON, required), `#anteroom-position` (the live text),
 * `#anteroom-eta`, `#anteroom-note` (shown only while polls fail), `#anteroom-message`, `#anteroom-js`,
 * which it shows ("this page updates by itself"), and `#anteroom-nojs`, which it hides: the hint is in the markup rather than in <noscript> so that it also
 * shows when the script is blocked or fails, and so that it shows to a browser that has scripting on
 * but script execution off.
 *
 * The text is constant, so a Content-Security-Policy can allow it by hash (see `WAITING_PAGE_CSP`).
 */
import { formatEta, formatPosition, nextPollDelay } from './format.js';
import type { PageStrings } from './strings.js';

/** The strings the script speaks; only these travel in the page's data block (the rest is in the HTML). */
export const SCRIPT_STRING_KEYS = Object.freeze([
  'position',
  'positionNext',
  'positionUnknown',
  'etaUnknown',
  'etaUnderMinute',
  'etaOneMinute',
  'etaMinutes',
  'etaMinuteRange',
  'etaOneHour',
  'etaHours',
  'etaHourRange',
  'admitted',
  'full',
  'maintenance',
  'lost',
  'retrying',
] as const satisfies readonly (keyof PageStrings)[]);

export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var dataEl = document.getElementById('anteroom-data');
  if (!dataEl || !window.fetch) return;
  var data = JSON.parse(dataEl.textContent || 'null');
  var s = data.strings;
  ${formatPosition.toString()}
  ${formatEta.toString()}
  ${nextPollDelay.toString()}
  var positionEl = document.getElementById('anteroom-position');
  var etaEl = document.getElementById('anteroom-eta');
  var noteEl = document.getElementById('anteroom-note');
  var messageEl = document.getElementById('anteroom-message');
  var noJsEl = document.getElementById('anteroom-nojs');
  var jsEl = document.getElementById('anteroom-js');
  if (noJsEl) noJsEl.hidden = true;
  if (jsEl) jsEl.hidden = false;
  var ticket = data.ticket;
  var pollAfterMs = data.pollAfterMs;
  var failures = 0;

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }
  function showNote(text) {
    if (!noteEl) return;
    setText(noteEl, text);
    noteEl.hidden = !text;
  }
  function schedule(atLeastMs) {
    var delay = nextPollDelay(pollAfterMs, failures, Math.random());
    setTimeout(poll, Math.max(delay, Math.min(atLeastMs, 300000)));
  }
  // Retry-After in seconds; the HTTP-date form is rare on 503s and falls back to our own backoff.
  function retryAfterMs(res) {
    var n = Number(res.headers.get('retry-after'));
    return res.headers.get('retry-after') !== null && n >= 0 ? n * 1000 : 0;
  }
  // Returns whether to keep polling.
  function apply(st) {
    if (!st || typeof st !== 'object') throw new Error('bad status');
    if (typeof st.pollAfterMs === 'number') pollAfterMs = st.pollAfterMs;
    if (typeof st.ticket === 'string' && st.ticket) ticket = st.ticket;
    if (typeof st.message === 'string') setText(messageEl, st.message);
    showNote('');
    switch (st.state) {
      case 'admitted':
        setText(positionEl, s.admitted);
        location.replace(data.originalUrl);
        return false;
      case 'waiting':
        setText(positionEl, formatPosition(st.position, s, data.lang));
        break;
      case 'full':
        setText(positionEl, s.full);
        break;
      case 'maintenance':
        setText(positionEl, s.maintenance);
        break;
      default:
        setText(positionEl, s.lost);
        return false;
    }
    setText(etaEl, formatEta(st.etaSeconds, s));
    return true;
  }
  function poll() {
    var sep = data.statusPath.indexOf('?') < 0 ? '?' : '&';
    var url = data.statusPath + sep + 'ticket=' + encodeURIComponent(ticket);
    fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) {
          var err = new Error('status ' + res.status);
          err.retryAfterMs = retryAfterMs(res);
          throw err;
        }
        return res.json();
      })
      .then(function (st) {
        var keepPolling = apply(st);
        failures = 0;
        if (keepPolling) schedule(0);
      })
      .catch(function (err) {
        failures++;
        showNote(s.retrying);
        schedule((err && err.retryAfterMs) || 0);
      });
  }
  schedule(0);
})();
`;

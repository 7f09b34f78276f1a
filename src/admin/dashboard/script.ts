/**
 * The dashboard's script: asks for the admin token when the API wants one, polls the admin API, says
 * whether the figures are live, and hands each answer to the views (views.ts) and the switches
 * (actions.ts). The three parts share one function scope; the text is constant, so the CSP pins it
 * by hash.
 *
 * Authentication: the page is served without the token (a browser cannot add a header to a
 * navigation), and it holds no data. Its script asks for the token, keeps it in `sessionStorage` (this
 * tab only, gone when the tab closes; never in a URL, which ends up in logs and history, and never in
 * a cookie, which the browser would attach to requests other sites make), and sends it in the
 * `Authorization` header of every fetch. Another site cannot make the browser send that header, so the
 * API needs no CSRF defence of its own. When no token is configured (loopback only) the first poll
 * simply succeeds and no form is shown. A refused token is forgotten and the form says why.
 *
 * Polling: `GET /status`, `/blocks` and `/modes` together every second (every 10 s while the tab is
 * hidden), one round at a time; after failures the interval doubles up to 30 s, the header says
 * "connection lost" with the last good time, and the figures are greyed out until an answer comes.
 * The page never reloads itself.
 */
import { compareTenants, formatAge, formatNumber, formatSignalValue, isTenantId, pollDelay, refusalTotal, signalLevel, signalLevelText, stateText } from './format.js';
import { ACTIONS_SCRIPT } from './actions.js';
import { VIEWS_SCRIPT } from './views.js';

const CORE_SCRIPT = `
  var TOKEN_KEY = 'anteroom-admin-token';
  var POLL_MS = 1000;
  var HIDDEN_POLL_MS = 10000;
  var REQUEST_TIMEOUT_MS = 10000;

  var token = readToken();
  var locked = false;
  var data = null;
  var failures = 0;
  var timer = null;
  var busy = false;
  var again = false;
  var lastOkAt = null;
  var lastError = '';
  var nextAt = null;
  var connected = null;

  function $(id) { return document.getElementById(id); }
  function setText(node, text) {
    var t = text === null || text === undefined ? '' : String(text);
    if (node.textContent !== t) node.textContent = t;
  }
  function setClass(node, name) {
    if (node.className !== name) node.className = name;
  }
  // Every element the page adds is made here and filled with textContent: names, reasons and
  // messages come from users and from Redis, and are never parsed as HTML.
  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clock(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '?';
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  // One element per key, in the order of items; only what is out of place moves, so focus, hover
  // and text selection survive an update.
  var keyed = new WeakMap();
  var parts = new WeakMap();
  function sync(parent, items, keyOf, create, update) {
    var nodes = keyed.get(parent);
    if (!nodes) { nodes = new Map(); keyed.set(parent, nodes); }
    var seen = new Set();
    var pos = 0;
    for (var i = 0; i < items.length; i++) {
      var key = keyOf(items[i]);
      if (seen.has(key)) continue;
      seen.add(key);
      var node = nodes.get(key);
      if (!node) { node = create(items[i]); nodes.set(key, node); }
      update(node, items[i]);
      var here = parent.children[pos];
      if (here !== node) parent.insertBefore(node, here || null);
      pos++;
    }
    nodes.forEach(function (node, key) {
      if (!seen.has(key)) { node.remove(); nodes.delete(key); }
    });
  }

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function storeToken(value) {
    token = value;
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // Storage switched off: the token lives in this page only.
    }
    $('signout').hidden = !value;
  }

  function messageOf(r) {
    return r.body && typeof r.body.message === 'string' ? r.body.message : 'HTTP ' + r.status;
  }
  // Resolves with { status, body } for any HTTP answer; rejects when there is none.
  function request(method, path, body) {
    var headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var abort = new AbortController();
    init.signal = abort.signal;
    var timeout = setTimeout(function () { abort.abort(); }, REQUEST_TIMEOUT_MS);
    return fetch(path, init)
      .then(function (res) {
        return res.text().then(function (text) {
          var json = null;
          try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
          return { status: res.status, body: json };
        });
      })
      .catch(function (err) {
        if (abort.signal.aborted) throw new Error('no answer within ' + REQUEST_TIMEOUT_MS / 1000 + ' s');
        throw new Error('no answer from the admin listener (' + (err && err.message ? err.message : err) + ')');
      })
      .finally(function () { clearTimeout(timeout); });
  }

  function setConn(kind, text) {
    setClass($('conn'), 'conn ' + kind);
    setText($('conn'), text);
  }
  function setConnected(ok) {
    if (ok !== connected) {
      connected = ok;
      setConn(ok ? 'ok' : 'lost', ok ? 'Live' : 'Connection lost');
    }
    document.body.classList.toggle('stale', !ok);
    tick();
  }
  // The "updated … ago" line, every second; not a live region, so a screen reader is told only of
  // the changes of #conn (live, lost).
  function tick() {
    var now = Date.now();
    var stale = $('stale');
    if (locked || connected === null) { setText($('updated'), ''); stale.hidden = true; return; }
    var last = lastOkAt === null ? 'no figures yet' : 'updated ' + formatAge(now - lastOkAt) + ' ago (' + clock(lastOkAt) + ')';
    if (connected) {
      setText($('updated'), last);
      stale.hidden = true;
      return;
    }
    var retry = nextAt === null ? '' : nextAt - now < 100 ? '; retrying now' : '; retrying in ' + formatAge(nextAt - now);
    setText($('updated'), last + retry);
    setText(stale, 'Connection lost: ' + lastError + '. ' + (lastOkAt === null ? 'No figures yet' : 'The figures below are from ' + clock(lastOkAt) + ' and may be out of date') + retry + '.');
    stale.hidden = lastOkAt === null;
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (locked) return;
    var delay = pollDelay(document.hidden ? HIDDEN_POLL_MS : POLL_MS, failures);
    nextAt = Date.now() + delay;
    timer = setTimeout(poll, delay);
  }
  // One round at a time: a poll asked for during a round runs right after it.
  function poll() {
    clearTimeout(timer);
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    Promise.all([request('GET', '/status'), request('GET', '/blocks'), request('GET', '/modes')])
      .then(function (rs) {
        for (var i = 0; i < rs.length; i++) {
          if (rs[i].status === 401) { needToken(rs[i]); return; }
        }
        for (var j = 0; j < rs.length; j++) {
          if (rs[j].status !== 200 || !rs[j].body) throw new Error('the admin API answered ' + rs[j].status + ': ' + messageOf(rs[j]));
        }
        data = { status: rs[0].body, blocks: rs[1].body.blocks || [], modes: rs[2].body };
        failures = 0;
        lastOkAt = Date.now();
        lastError = '';
        render();
        setConnected(true);
      })
      .catch(function (err) {
        failures++;
        lastError = err && err.message ? err.message : String(err);
        setConnected(false);
      })
      .then(function () {
        busy = false;
        if (again && !locked) poll(); else schedule();
      });
  }

  // The API wants a token (none given, or the one given was refused): stop polling and ask.
  function needToken(r) {
    var had = token !== '';
    storeToken('');
    locked = true;
    connected = null;
    data = null;
    clearTimeout(timer);
    document.body.classList.remove('stale');
    $('board').hidden = true;
    $('login').hidden = false;
    setConn('wait', 'Token needed');
    var err = $('login-error');
    if (had) {
      setText(err, 'The admin API refused the token: ' + messageOf(r) + '. Enter the admin token in force (a reload may have rotated it).');
      err.hidden = false;
    } else {
      err.hidden = true;
    }
    tick();
    $('token').focus();
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = $('token');
    var value = input.value.trim();
    var err = $('login-error');
    if (!value) {
      setText(err, 'Enter the admin token.');
      err.hidden = false;
      input.focus();
      return;
    }
    input.value = '';
    storeToken(value);
    locked = false;
    err.hidden = true;
    setConn('wait', 'Checking the token…');
    poll();
  });
  $('signout').addEventListener('click', function () {
    needToken({ status: 401, body: null });
    $('login-error').hidden = true;
  });
  $('refresh').addEventListener('click', function () {
    if (!locked) poll();
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && !locked) poll();
  });
`;

const START_SCRIPT = `
  $('nojs').hidden = true;
  $('signout').hidden = !token;
  setInterval(tick, 1000);
  poll();
`;

export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  ${formatAge.toString()}
  ${formatNumber.toString()}
  ${formatSignalValue.toString()}
  ${signalLevel.toString()}
  ${signalLevelText.toString()}
  ${stateText.toString()}
  ${refusalTotal.toString()}
  ${compareTenants.toString()}
  ${pollDelay.toString()}
  ${isTenantId.toString()}
${CORE_SCRIPT}
${VIEWS_SCRIPT}
${ACTIONS_SCRIPT}
${START_SCRIPT}
})();
`;

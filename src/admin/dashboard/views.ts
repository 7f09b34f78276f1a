/**
 * The part of the dashboard's script that shows an answer: what needs attention, each upstream with
 * its state, limit, ramp and signals, the room, this instance, the tenants (sorted, filtered, at
 * most MAX_TENANT_ROWS rows), the runtime modes and the blocks. Runs in the scope of script.ts
 * (`data`, `sync`, `make`, `setText`, the format functions) and is updated in place, element by
 * element, so that a poll never rebuilds what the operator is looking at.
 */
export const VIEWS_SCRIPT = `
  var MAX_TENANT_ROWS = 200;
  var sortKey = 'waiting';
  var sortDir = 'desc';

  function render() {
    var st = data.status;
    var serverNow = Date.parse(st.time);
    if (!isFinite(serverNow)) serverNow = Date.now();
    $('login').hidden = true;
    $('board').hidden = false;
    setText($('instance'), 'instance ' + st.instance + ' · up ' + formatAge(st.uptimeS * 1000));
    renderAlerts(st, data.modes);
    sync($('upstreams'), st.upstreams || [], function (u) { return u.name; }, createUpstream, function (card, u) { updateUpstream(card, u, serverNow); });
    renderRoom(st);
    renderTenants();
    renderModes();
    renderBlocks();
  }

  function renderAlerts(st, modes) {
    var list = [];
    function add(level, text) { list.push({ level: level, text: text }); }
    if (st.draining) add('bad', 'This instance is shutting down (draining).');
    var g = modes.global;
    if (g && g.mode === 'pause') add('bad', 'Global mode PAUSE: nobody is let in; places are kept.');
    else if (g && g.mode === 'maintenance') add('bad', 'Global mode MAINTENANCE: everyone gets the maintenance page; the upstream gets nothing.');
    else if (g) add('warn', 'Global mode ' + g.mode.toUpperCase() + ', set at runtime (the config says ' + modes.config + ').');
    (modes.tenants || []).forEach(function (t) {
      if (t.mode === 'pause') add('warn', 'Tenant ' + t.tenant + ' is PAUSED: none of its waiting are let in.');
      else if (t.mode === 'maintenance') add('warn', 'Tenant ' + t.tenant + ' is in MAINTENANCE: it gets the maintenance page.');
    });
    (st.upstreams || []).forEach(function (u) {
      if (u.state === 'shedding') add('bad', u.name + ' is SHEDDING: bulk requests are refused and the rest waits in the room.');
      else if (u.state === 'queueing') add('warn', u.name + ' is QUEUEING: newcomers wait in the room.');
      (u.signals || []).forEach(function (s) {
        if (signalLevel(s) === 'unknown') add('warn', u.name + ': signal ' + s.name + ' is UNKNOWN (' + s.detail + ').');
      });
    });
    if (st.store && st.store.degraded) add('bad', 'The shared store (Redis) is unreachable: limits are decided on this instance alone.');
    if (st.room && st.room.queue === 'local-fallback') add('bad', 'The shared queue (Redis) is unreachable: this instance queues on its own.');
    if (st.controls && st.controls.backend === 'redis' && !st.controls.synced) add('warn', 'The switches are not in sync with Redis: this instance applies the last state it knows.');
    if (list.length === 0) add('calm', 'Nothing: every upstream is open and no runtime mode stops admission.');
    sync($('alerts'), list, function (a) { return a.level + ' ' + a.text; }, function () { return make('li'); }, function (li, a) {
      setClass(li, a.level);
      setText(li, a.text);
    });
  }

  function fact(dl, label) {
    var div = make('div');
    div.appendChild(make('dt', null, label));
    var dd = make('dd');
    div.appendChild(dd);
    dl.appendChild(div);
    return dd;
  }
  function limitSourceText(source) {
    if (source === 'adaptive') return 'adaptive, while engaged';
    if (source === 'static') return 'static';
    if (source === 'config') return 'configured concurrency';
    return source;
  }

  function createUpstream(u) {
    var card = make('article', 'upstream');
    var head = make('div', 'up-head');
    head.appendChild(make('h3', 'id', u.name));
    var p = { badge: make('span', 'badge'), since: make('span', 'muted') };
    head.appendChild(p.badge);
    head.appendChild(p.since);
    card.appendChild(head);
    p.url = make('p', 'url muted');
    card.appendChild(p.url);
    var dl = make('dl', 'facts');
    card.appendChild(dl);
    p.limit = fact(dl, 'Limit in force');
    p.inflight = fact(dl, 'In flight');
    p.meter = make('div', 'meter');
    p.meter.setAttribute('aria-hidden', 'true');
    p.fill = make('span');
    p.meter.appendChild(p.fill);
    p.inflight.parentNode.appendChild(p.meter);
    p.ramp = fact(dl, 'Slow-start ramp');
    p.adaptive = fact(dl, 'Adaptive limiter');
    p.last = fact(dl, 'Last change');
    p.none = make('p', 'muted', 'No controller runs for this upstream: it is always open and admits against its configured concurrency.');
    card.appendChild(p.none);
    p.wrap = make('div', 'wrap');
    var table = make('table', 'signals');
    table.appendChild(make('caption', null, 'Signals of ' + u.name));
    var thead = make('thead');
    var tr = make('tr');
    [['Signal', ''], ['Value', 'n'], ['Engages above', 'n'], ['Sheds above', 'n'], ['State', ''], ['Read', 'n'], ['Detail', '']].forEach(function (h) {
      var th = make('th', h[1], h[0]);
      th.scope = 'col';
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    table.appendChild(thead);
    p.rows = make('tbody');
    table.appendChild(p.rows);
    p.wrap.appendChild(table);
    card.appendChild(p.wrap);
    parts.set(card, p);
    return card;
  }

  function updateUpstream(card, u, serverNow) {
    var p = parts.get(card);
    var c = u.control;
    setClass(p.badge, 'badge s-' + (u.state === 'open' || u.state === 'queueing' || u.state === 'shedding' ? u.state : 'none'));
    setText(p.badge, stateText(u.state));
    setText(p.since, c ? 'for ' + formatAge(serverNow - c.since) : '');
    setText(p.url, u.url);
    setText(p.limit, u.limit === null ? 'none' : formatNumber(u.limit) + ' (' + limitSourceText(u.limitSource) + ')');
    setText(p.inflight, formatNumber(u.inFlight) + (u.limit === null ? '' : ' of ' + formatNumber(u.limit)));
    var ratio = u.limit ? Math.min(1, u.inFlight / u.limit) : 0;
    p.fill.style.width = Math.round(ratio * 100) + '%';
    setClass(p.meter, ratio >= 1 ? 'meter full' : 'meter');
    p.meter.hidden = u.limit === null;
    setText(p.ramp, c && c.ramp ? Math.round(c.ramp.factor * 100) + '% of the full limit, ' + formatAge(c.ramp.remainingMs) + ' to go' : 'none running');
    var a = c && c.adaptive;
    setText(p.adaptive, a ? 'limit ' + formatNumber(a.limit) + ', gradient ' + formatNumber(a.gradient) + ', RTT ' + formatNumber(a.shortRttMs) + ' / ' + formatNumber(a.longRttMs) + ' ms' : 'off');
    var t = c && c.lastTransition;
    setText(p.last, t ? t.from + ' → ' + t.to + ', ' + formatAge(serverNow - t.at) + ' ago: ' + t.reason : 'none since start');
    p.ramp.parentNode.hidden = !c;
    p.adaptive.parentNode.hidden = !c;
    p.last.parentNode.hidden = !c;
    p.none.hidden = !!c;
    p.wrap.hidden = !c;
    sync(p.rows, u.signals || [], function (s) { return s.name; }, createSignal, function (row, s) { updateSignal(row, s, serverNow); });
  }

  function createSignal(s) {
    var row = make('tr');
    var name = make('th', 'sig', s.name);
    name.scope = 'row';
    row.appendChild(name);
    var p = { value: make('td', 'n'), engage: make('td', 'n'), shed: make('td', 'n'), state: make('td'), age: make('td', 'n'), detail: make('td', 'detail') };
    p.level = make('span', 'lvl');
    p.state.appendChild(p.level);
    [p.value, p.engage, p.shed, p.state, p.age, p.detail].forEach(function (td) { row.appendChild(td); });
    parts.set(row, p);
    return row;
  }

  function updateSignal(row, s, serverNow) {
    var p = parts.get(row);
    var level = signalLevel(s);
    setClass(row, 'l-' + level);
    setText(p.value, formatSignalValue(s.name, s.value));
    setText(p.engage, s.threshold === null ? '—' : formatSignalValue(s.name, s.threshold));
    setText(p.shed, typeof s.shedThreshold === 'number' ? formatSignalValue(s.name, s.shedThreshold) : '—');
    setText(p.level, signalLevelText(level));
    var age = typeof s.ageMs === 'number' ? s.ageMs : typeof s.updatedAt === 'number' ? serverNow - s.updatedAt : null;
    setText(p.age, age === null ? 'never' : formatAge(age) + ' ago');
    setText(p.detail, s.detail || '');
  }

  function renderRoom(st) {
    var r = st.room || {};
    setText($('room-waiting'), formatNumber(r.waiting));
    setText($('room-admitted'), formatNumber(r.admitted));
    setText($('room-limit'), r.limit === null ? 'none' : formatNumber(r.limit));
    setText($('room-upstream'), r.upstream);
    setText($('room-queue'), r.queue === 'shared' ? 'shared (Redis)' : r.queue === 'local-fallback' ? 'LOCAL FALLBACK: Redis unreachable' : r.queue === 'local' ? 'local (this instance)' : r.queue);
    var m = r.mode || {};
    setText($('room-mode'), m.global ? m.global + ' (set at runtime; the config says ' + m.config + ')' : m.config + ' (from the config)');
    var store = st.store || {};
    setText($('store'), store.kind + (store.degraded ? ': DEGRADED, Redis unreachable, local limits in use' : ', healthy'));
    var c = st.controls || {};
    setText($('controls'), c.backend + (c.backend === 'redis' ? (c.synced ? ', in sync' : ', NOT in sync') : '') + '; ' + formatNumber(c.blocks) + ' blocks, ' + formatNumber(c.tenantModes) + ' tenant modes, ' + formatNumber(c.overrides) + ' limit overrides');
    setText($('websockets'), formatNumber(st.websockets));
    setText($('draining'), st.draining ? 'DRAINING: shutting down' : 'yes');
  }

  function ownModes() {
    var own = new Map();
    (data.modes.tenants || []).forEach(function (t) { own.set(t.tenant, t); });
    return own;
  }

  function renderTenants() {
    var all = data.status.tenants || [];
    var filter = $('tenant-filter').value.trim().toLowerCase();
    var rows = filter ? all.filter(function (t) { return t.tenant.toLowerCase().indexOf(filter) >= 0; }) : all.slice();
    rows.sort(function (a, b) { return compareTenants(a, b, sortKey, sortDir); });
    var total = rows.length;
    if (rows.length > MAX_TENANT_ROWS) rows = rows.slice(0, MAX_TENANT_ROWS);
    var own = ownModes();
    var global = data.modes.global;
    sync($('tenant-rows'), rows, function (t) { return t.tenant; }, createTenant, function (row, t) { updateTenant(row, t, own.get(t.tenant), global); });
    var what = filter ? ' tenants matching the filter' : ' tenants';
    setText($('tenants-count'), total === 0 ? (filter ? 'No tenant matches the filter.' : 'No tenant seen yet.')
      : 'Showing ' + formatNumber(rows.length) + ' of ' + formatNumber(total) + what + (total > rows.length ? '; filter to find the others.' : '.'));
    Array.prototype.forEach.call(document.querySelectorAll('#tenants th[data-sort]'), function (th) {
      var key = th.getAttribute('data-sort');
      th.setAttribute('aria-sort', key === sortKey ? (sortDir === 'asc' ? 'ascending' : 'descending') : 'none');
    });
    var ids = all.filter(function (t) { return isTenantId(t.tenant); }).slice(0, 1000);
    sync($('tenant-ids'), ids, function (t) { return t.tenant; }, function () { return make('option'); }, function (o, t) {
      if (o.value !== t.tenant) o.value = t.tenant;
    });
  }

  function createTenant(t) {
    var row = make('tr');
    var name = make('th', 'id', t.tenant);
    name.scope = 'row';
    row.appendChild(name);
    var p = { modeCell: make('td'), mode: make('span', 'mode'), source: make('span', 'src') };
    p.modeCell.appendChild(p.mode);
    p.modeCell.appendChild(p.source);
    row.appendChild(p.modeCell);
    ['waiting', 'critical', 'normal', 'bulk', 'sessions', 'inFlight', 'websockets'].forEach(function (k) {
      p[k] = make('td', 'n');
      row.appendChild(p[k]);
    });
    var refusals = make('td', 'n');
    p.refusals = make('span');
    p.codes = make('span', 'sub');
    refusals.appendChild(p.refusals);
    refusals.appendChild(p.codes);
    row.appendChild(refusals);
    var act = make('td');
    if (isTenantId(t.tenant)) {
      var button = make('button', null, 'Set mode');
      button.type = 'button';
      button.setAttribute('aria-label', 'Set mode for tenant ' + t.tenant);
      button.addEventListener('click', function () { chooseTenant(t.tenant); });
      act.appendChild(button);
    } else {
      act.appendChild(make('span', 'muted', '—'));
    }
    row.appendChild(act);
    parts.set(row, p);
    return row;
  }

  function updateTenant(row, t, own, global) {
    var p = parts.get(row);
    setText(p.mode, t.mode);
    setClass(p.mode, 'mode m-' + t.mode);
    setText(p.source, own ? '(own)' : global ? '(global)' : '(config)');
    var w = t.waiting || {};
    setText(p.waiting, formatNumber(w.total));
    setText(p.critical, formatNumber(w.critical));
    setText(p.normal, formatNumber(w.normal));
    setText(p.bulk, formatNumber(w.bulk));
    setText(p.sessions, formatNumber(t.admittedSessions));
    setText(p.inFlight, formatNumber(t.inFlight));
    setText(p.websockets, formatNumber(t.websockets));
    var codes = t.refusals || {};
    setText(p.refusals, formatNumber(refusalTotal(codes)));
    setText(p.codes, Object.keys(codes).sort().map(function (k) { return k + ' ' + formatNumber(codes[k]); }).join(', '));
  }

  function renderModes() {
    var m = data.modes;
    var items = (m.global ? [m.global] : []).concat(m.tenants || []);
    var none = $('modes-none');
    setText(none, 'No runtime mode is set: the config’s room.mode (' + m.config + ') applies to everyone.');
    none.hidden = items.length > 0;
    sync($('modes-list'), items, function (e) { return e.tenant === null ? '*' : 't:' + e.tenant; }, createModeEntry, updateModeEntry);
    describeModeNow();
  }

  function createModeEntry(e) {
    var li = make('li');
    var p = { who: make('strong'), mode: make('span', 'mode'), info: make('span', 'muted'), message: make('span', 'detail') };
    p.clear = make('button', null, 'Clear');
    p.clear.type = 'button';
    p.clear.setAttribute('aria-label', 'Clear the runtime mode of ' + (e.tenant === null ? 'everyone' : 'tenant ' + e.tenant));
    p.clear.addEventListener('click', function () {
      clearMode({ tenant: e.tenant, label: e.tenant === null ? 'everyone' : 'tenant ' + e.tenant, path: modePath(e.tenant) }, p.clear);
    });
    [p.who, p.mode, p.info, p.message, p.clear].forEach(function (n) { li.appendChild(n); });
    parts.set(li, p);
    return li;
  }

  function updateModeEntry(li, e) {
    var p = parts.get(li);
    setText(p.who, e.tenant === null ? 'Everyone' : 'Tenant ' + e.tenant);
    setText(p.mode, e.mode);
    setClass(p.mode, 'mode m-' + e.mode);
    setText(p.info, 'since ' + clock(Date.parse(e.setAt)) + (e.reason ? ': ' + e.reason : ''));
    setText(p.message, e.message ? 'Message: ' + e.message : '');
  }

  function renderBlocks() {
    var blocks = data.blocks;
    $('blocks').hidden = blocks.length === 0;
    $('blocks-none').hidden = blocks.length > 0;
    sync($('block-rows'), blocks, function (b) { return b.id; }, createBlock, updateBlock);
  }

  function createBlock(b) {
    var row = make('tr');
    var p = { kind: make('td'), value: make('th', 'id'), reasonCell: make('td', 'id'), reason: make('span'), message: make('span', 'sub'), applies: make('td'), lifts: make('td'), block: b };
    p.value.scope = 'row';
    p.reasonCell.appendChild(p.reason);
    p.reasonCell.appendChild(p.message);
    var act = make('td');
    p.button = make('button', null, 'Unblock');
    p.button.type = 'button';
    p.button.addEventListener('click', function () { unblock(p.block, p.button); });
    act.appendChild(p.button);
    [p.kind, p.value, p.reasonCell, p.applies, p.lifts, act].forEach(function (n) { row.appendChild(n); });
    parts.set(row, p);
    return row;
  }

  function updateBlock(row, b) {
    var p = parts.get(row);
    p.block = b;
    setText(p.kind, b.kind);
    setText(p.value, b.value);
    setText(p.reason, b.reason);
    setText(p.message, b.message ? 'The client is told: ' + b.message : '');
    setText(p.applies, (b.websocketsOnly ? 'websocket upgrades' : 'all requests') + (b.closeWebsockets ? '; open websockets closed' : ''));
    setText(p.lifts, (b.expiresInS === null ? 'when lifted' : 'in ' + formatAge(b.expiresInS * 1000)) + '; since ' + clock(Date.parse(b.createdAt)));
    var label = 'Unblock ' + b.kind + ' ' + b.value;
    if (p.button.getAttribute('aria-label') !== label) p.button.setAttribute('aria-label', label);
  }
`;

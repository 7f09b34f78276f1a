/**
 * The part of the dashboard's script that changes things: the room-mode switches (global or one
 * tenant; a confirmation step before `pause` and `maintenance`, which stop admission), clearing a
 * runtime mode, lifting a block, and the tenant table's sort and filter. Each change is one request
 * to the admin API; its answer (or the server's message when it refuses) is shown next to the control,
 * and a poll follows at once so the page shows what is now in force.
 */
export const ACTIONS_SCRIPT = `
  var pendingMode = null;

  function modePath(tenant) {
    return tenant === null ? '/modes' : '/modes/tenants/' + encodeURIComponent(tenant);
  }
  function scopeChoice() {
    var checked = document.querySelector('#mode-form input[name=scope]:checked');
    return checked ? checked.value : 'global';
  }
  function modeRadios() {
    return Array.prototype.slice.call(document.querySelectorAll('#mode-form input[name=mode]'));
  }
  function chosenMode() {
    var checked = modeRadios().filter(function (r) { return r.checked; })[0];
    return checked ? checked.value : '';
  }
  function say(where, kind, text) {
    var box = $(where);
    while (box.firstChild) box.removeChild(box.firstChild);
    if (text) box.appendChild(make('p', 'msg ' + kind, text));
  }
  function capital(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // What the form would change, or null (and why) when it cannot.
  function modeTarget() {
    if (scopeChoice() === 'global') return { tenant: null, label: 'everyone', path: modePath(null) };
    var tenant = $('mode-tenant').value.trim();
    if (!tenant) {
      say('mode-result', 'bad', 'Enter the id of the tenant the mode is for.');
      $('mode-tenant').focus();
      return null;
    }
    if (!isTenantId(tenant)) {
      say('mode-result', 'bad', 'That is not a tenant id: letters, digits, _ . - (at most 64, starting with a letter or digit).');
      $('mode-tenant').focus();
      return null;
    }
    return { tenant: tenant, label: 'tenant ' + tenant, path: modePath(tenant) };
  }

  // The line under the scope: what is in force for it now.
  function describeModeNow() {
    if (!data) return;
    var m = data.modes;
    var text;
    if (scopeChoice() === 'global') {
      text = m.global ? 'Now: ' + m.global.mode + ' for everyone, set at runtime.' : 'Now: no global runtime mode; the config’s room.mode (' + m.config + ') applies.';
    } else {
      var tenant = $('mode-tenant').value.trim();
      var own = ownModes().get(tenant);
      if (!tenant) text = 'Type a tenant id, or use “Set mode” in the tenant table.';
      else if (own) text = 'Now: tenant ' + tenant + ' has its own mode, ' + own.mode + '.';
      else text = 'Now: tenant ' + tenant + ' follows ' + (m.global ? 'the global mode, ' + m.global.mode : 'the config’s room.mode, ' + m.config) + '.';
    }
    setText($('mode-now'), text);
  }

  // From a tenant row: the form set to that tenant and its mode in force, with focus on the choice.
  function chooseTenant(tenant) {
    document.querySelector('#mode-form input[name=scope][value=tenant]').checked = true;
    $('mode-tenant').value = tenant;
    var row = (data ? data.status.tenants || [] : []).filter(function (t) { return t.tenant === tenant; })[0];
    var radios = modeRadios();
    radios.forEach(function (r) { r.checked = !!row && r.value === row.mode; });
    say('mode-result', '', '');
    describeModeNow();
    $('mode-form').scrollIntoView({ block: 'start' });
    (radios.filter(function (r) { return r.checked; })[0] || radios[0]).focus();
  }

  function sendMode(target, body) {
    var button = $('mode-apply');
    button.disabled = true;
    request('PUT', target.path, body)
      .then(function (r) {
        if (r.status === 401) return needToken(r);
        if (r.status !== 200) return say('mode-result', 'bad', 'Not changed: ' + messageOf(r));
        var local = r.body && r.body.shared === false;
        say('mode-result', local ? 'warn' : 'good', capital(target.label) + ': ' + body.mode + ' is in force.' + (local ? ' ' + r.body.warning : ''));
        poll();
      }, function (err) {
        say('mode-result', 'bad', 'Not changed: ' + err.message);
      })
      .then(function () { button.disabled = false; });
  }

  function clearMode(target, button) {
    button.disabled = true;
    request('DELETE', target.path)
      .then(function (r) {
        if (r.status === 401) return needToken(r);
        if (r.status === 404) return say('mode-result', 'warn', 'Nothing to clear: ' + messageOf(r));
        if (r.status !== 200) return say('mode-result', 'bad', 'Not cleared: ' + messageOf(r));
        var local = r.body && r.body.shared === false;
        say('mode-result', local ? 'warn' : 'good', capital(target.label) + ': the runtime mode is cleared.' + (local ? ' ' + r.body.warning : ''));
        poll();
      }, function (err) {
        say('mode-result', 'bad', 'Not cleared: ' + err.message);
      })
      .then(function () { button.disabled = false; });
  }

  // Pause and maintenance stop admission: they go through a dialog that says so, Cancel focused.
  function confirmMode(target, body) {
    pendingMode = { target: target, body: body };
    var pause = body.mode === 'pause';
    setText($('confirm-h'), pause ? 'Pause admission for ' + target.label + '?' : 'Maintenance for ' + target.label + '?');
    setText($('confirm-text'), pause
      ? 'Nobody waiting will be let in until the mode is changed back. Places in line are kept; admitted sessions go on.'
      : 'Newcomers get the maintenance page' + (body.message ? ' with your message' : ', without a message') + ', and admitted sessions are stopped too: the upstream gets nothing. Places in line are kept.');
    setText($('confirm-yes'), pause ? 'Pause ' + target.label : 'Start maintenance for ' + target.label);
    $('confirm').showModal();
    $('confirm-no').focus();
  }
  $('confirm-yes').addEventListener('click', function () {
    var p = pendingMode;
    pendingMode = null;
    $('confirm').close();
    if (p) sendMode(p.target, p.body);
  });
  $('confirm-no').addEventListener('click', function () {
    $('confirm').close();
  });
  $('confirm').addEventListener('close', function () {
    if (pendingMode) say('mode-result', '', 'Nothing changed.');
    pendingMode = null;
  });

  $('mode-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var target = modeTarget();
    if (!target) return;
    var mode = chosenMode();
    if (!mode) return say('mode-result', 'bad', 'Choose a mode.');
    var body = { mode: mode };
    var message = $('mode-message').value.trim();
    var reason = $('mode-reason').value.trim();
    if (mode === 'maintenance' && message) body.message = message;
    if (reason) body.reason = reason;
    if (mode === 'pause' || mode === 'maintenance') confirmMode(target, body);
    else sendMode(target, body);
  });
  $('mode-clear').addEventListener('click', function () {
    var target = modeTarget();
    if (target) clearMode(target, $('mode-clear'));
  });
  Array.prototype.forEach.call(document.querySelectorAll('#mode-form input[name=scope]'), function (r) {
    r.addEventListener('change', describeModeNow);
  });
  $('mode-tenant').addEventListener('input', function () {
    document.querySelector('#mode-form input[name=scope][value=tenant]').checked = true;
    describeModeNow();
  });

  function unblock(block, button) {
    button.disabled = true;
    var label = block.kind + ' ' + block.value;
    request('DELETE', '/blocks/' + encodeURIComponent(block.id))
      .then(function (r) {
        if (r.status === 401) return needToken(r);
        if (r.status === 404) say('block-result', 'warn', 'The block on ' + label + ' was already lifted.');
        else if (r.status !== 200) say('block-result', 'bad', 'Not lifted: ' + messageOf(r));
        else {
          var local = r.body && r.body.shared === false;
          say('block-result', local ? 'warn' : 'good', 'Lifted the block on ' + label + '.' + (local ? ' ' + r.body.warning : ''));
        }
        poll();
      }, function (err) {
        say('block-result', 'bad', 'Not lifted: ' + err.message);
      })
      .then(function () { button.disabled = false; });
  }

  Array.prototype.forEach.call(document.querySelectorAll('#tenants th[data-sort] button'), function (button) {
    button.addEventListener('click', function () {
      var key = button.parentNode.getAttribute('data-sort');
      if (key === sortKey) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
      else {
        sortKey = key;
        sortDir = key === 'tenant' || key === 'mode' ? 'asc' : 'desc';
      }
      if (data) renderTenants();
    });
  });
  $('tenant-filter').addEventListener('input', function () {
    if (data) renderTenants();
  });
`;

/**
 * The dashboard's HTML around its style and script. Static: the same bytes for everyone, no data and
 * no secret in it; everything shown comes from the admin API at run time and is written as text.
 */

/** The room modes the switches offer, with what each does (README, "Operators' levers"). */
export const MODE_CHOICES: readonly { mode: string; effect: string }[] = [
  { mode: 'auto', effect: 'newcomers wait only when the upstream is at its limit' },
  { mode: 'open', effect: 'newcomers go straight on (concurrency caps still hold)' },
  { mode: 'queue-all', effect: 'every newcomer waits and is let in at the room’s outflow' },
  { mode: 'pause', effect: 'stops admission: nobody is let in; places are kept' },
  { mode: 'maintenance', effect: 'stops admission and sessions: the maintenance page; the upstream gets nothing' },
];

const modeChoices = MODE_CHOICES.map(
  (c) => `<label><input type="radio" name="mode" value="${c.mode}"> <b>${c.mode}</b> — ${c.effect}</label>`,
).join('\n');

export function dashboardHtml(style: string, script: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>anteroom dashboard</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
<header class="top">
  <h1>anteroom</h1>
  <span id="instance" class="muted"></span>
  <span class="grow"></span>
  <p id="conn" class="conn wait" role="status">Connecting…</p>
  <span id="updated" class="muted"></span>
  <button type="button" id="refresh">Refresh now</button>
  <button type="button" id="signout" hidden>Forget token</button>
</header>
<main>
<p id="nojs" class="msg bad">This dashboard needs JavaScript. The admin API serves the same figures as JSON: see README.md, “Admin API”.</p>

<section id="login" class="login" aria-labelledby="login-h" hidden>
  <h2 id="login-h">Admin token</h2>
  <p>This admin listener requires its bearer token (<code>admin.token</code> or <code>ANTEROOM_ADMIN_TOKEN</code>).
  The dashboard keeps it in this tab only and sends it in the <code>Authorization</code> header of its
  requests; it is never put in a URL or a cookie. Closing the tab forgets it.</p>
  <p id="login-error" class="msg bad" role="alert" hidden></p>
  <form id="login-form" class="row" novalidate>
    <label for="token">Token</label>
    <input type="password" id="token" autocomplete="off" spellcheck="false" autocapitalize="off" size="40">
    <button type="submit" class="primary">Open dashboard</button>
  </form>
</section>

<div id="board" hidden>
<p id="stale" class="stale-note" hidden></p>
<div class="data">
<section aria-labelledby="alerts-h">
  <h2 id="alerts-h">Needs attention</h2>
  <ul id="alerts" class="alerts"></ul>
</section>

<section aria-labelledby="upstreams-h">
  <h2 id="upstreams-h">Upstreams</h2>
  <div id="upstreams" class="upstreams"></div>
</section>

<div class="cols">
<section aria-labelledby="room-h">
  <h2 id="room-h">Waiting room</h2>
  <dl class="facts">
    <div><dt>Waiting</dt><dd id="room-waiting" class="big"></dd></div>
    <div><dt>Let in since start</dt><dd id="room-admitted"></dd></div>
    <div><dt>Limit the room admits against</dt><dd id="room-limit"></dd></div>
    <div><dt>Room upstream</dt><dd id="room-upstream"></dd></div>
    <div><dt>Queue</dt><dd id="room-queue"></dd></div>
    <div><dt>Mode for everyone</dt><dd id="room-mode"></dd></div>
  </dl>
</section>
<section aria-labelledby="instance-h">
  <h2 id="instance-h">This instance</h2>
  <dl class="facts">
    <div><dt>Limits store</dt><dd id="store"></dd></div>
    <div><dt>Switches</dt><dd id="controls"></dd></div>
    <div><dt>Open websockets</dt><dd id="websockets"></dd></div>
    <div><dt>Serving</dt><dd id="draining"></dd></div>
  </dl>
</section>
</div>

<section aria-labelledby="tenants-h">
  <h2 id="tenants-h">Tenants</h2>
  <div class="toolbar">
    <div><label for="tenant-filter">Filter by tenant id</label><br><input type="search" id="tenant-filter" autocomplete="off" spellcheck="false"></div>
    <p id="tenants-count" class="muted"></p>
  </div>
  <div class="wrap">
  <table id="tenants">
    <caption class="muted">Per tenant on this instance; refusals since start. Sort by a column heading.</caption>
    <thead><tr>
      <th scope="col" data-sort="tenant"><button type="button">Tenant</button></th>
      <th scope="col" data-sort="mode"><button type="button">Mode</button></th>
      <th scope="col" class="n" data-sort="waiting"><button type="button">Waiting</button></th>
      <th scope="col" class="n">critical</th>
      <th scope="col" class="n">normal</th>
      <th scope="col" class="n">bulk</th>
      <th scope="col" class="n" data-sort="sessions"><button type="button">Sessions</button></th>
      <th scope="col" class="n" data-sort="inFlight"><button type="button">In flight</button></th>
      <th scope="col" class="n">Websockets</th>
      <th scope="col" class="n" data-sort="refusals"><button type="button">Refusals</button></th>
      <th scope="col"><span class="muted">Switch</span></th>
    </tr></thead>
    <tbody id="tenant-rows"></tbody>
  </table>
  </div>
</section>

<div class="cols">
<section aria-labelledby="modes-h">
  <h2 id="modes-h">Room modes</h2>
  <p id="modes-none" class="muted"></p>
  <ul id="modes-list" class="modes-list"></ul>
  <form id="mode-form" novalidate>
    <fieldset>
      <legend>Applies to</legend>
      <div class="choices">
        <label><input type="radio" name="scope" value="global" checked> everyone (the global mode)</label>
        <label><input type="radio" name="scope" value="tenant"> one tenant:</label>
      </div>
      <div class="field"><label for="mode-tenant">Tenant id</label>
      <input type="text" id="mode-tenant" list="tenant-ids" autocomplete="off" spellcheck="false" size="30"></div>
      <datalist id="tenant-ids"></datalist>
      <p id="mode-now" class="muted"></p>
    </fieldset>
    <fieldset>
      <legend>Mode</legend>
      <div class="choices">
${modeChoices}
      </div>
    </fieldset>
    <div class="field"><label for="mode-message">Message on the maintenance page (maintenance only)</label>
    <textarea id="mode-message" maxlength="1000"></textarea></div>
    <div class="field"><label for="mode-reason">Reason, for the log and the other operators</label>
    <input type="text" id="mode-reason" maxlength="1000" size="40"></div>
    <div class="row">
      <button type="submit" class="primary" id="mode-apply">Apply mode</button>
      <button type="button" id="mode-clear">Clear the runtime mode</button>
    </div>
    <div id="mode-result" role="status"></div>
  </form>
</section>

<section aria-labelledby="blocks-h">
  <h2 id="blocks-h">Blocks</h2>
  <p id="blocks-none" class="muted">No blocks are in force.</p>
  <div class="wrap">
  <table id="blocks" hidden>
    <caption class="muted">Refused before any limit or the room; lift one to let its traffic back.</caption>
    <thead><tr><th scope="col">Kind</th><th scope="col">Value</th><th scope="col">Reason</th><th scope="col">Applies to</th><th scope="col">Lifts</th><th scope="col"><span class="muted">Lift</span></th></tr></thead>
    <tbody id="block-rows"></tbody>
  </table>
  </div>
  <div id="block-result" role="status"></div>
</section>
</div>
</div>
</div>

<dialog id="confirm" aria-labelledby="confirm-h" aria-describedby="confirm-text">
  <h2 id="confirm-h"></h2>
  <p id="confirm-text"></p>
  <div class="row">
    <button type="button" id="confirm-yes" class="danger"></button>
    <button type="button" id="confirm-no">Cancel</button>
  </div>
</dialog>
</main>
<script>${script}</script>
</body>
</html>
`;
}

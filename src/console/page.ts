/**
 * The dashboard: one HTML page with its CSS and script inline (no build step,
 * nothing fetched from elsewhere), fed by the `events` stream. Every value is put
 * in the page as text, never as HTML.
 *
 * @module
 */

/** What the page is rendered with. */
export interface PageOptions {
  /** The page's title. */
  title: string;
  /** Whether the viewer may use operator actions (a token is configured and was given). */
  operator: boolean;
  /** The nonce of the inline script and style (Content-Security-Policy). */
  nonce: string;
}

/** The `Content-Security-Policy` of the page: only its own inline code and same-origin requests. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The dashboard's HTML. */
export function renderPage(options: PageOptions): string {
  const title = escapeHtml(options.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style nonce="${options.nonce}">${STYLE}</style>
</head>
<body data-operator="${options.operator ? '1' : '0'}">
<header>
  <h1>${title}</h1>
  <div id="status" class="status">connecting…</div>
</header>
<main>
  <section class="cards">
    <div class="card"><div class="label">epoch</div><div class="value" id="epoch">–</div><div class="sub" id="countdown"></div></div>
    <div class="card"><div class="label">clients</div><div class="value" id="clients-count">–</div><div class="sub" id="connections-count"></div></div>
    <div class="card"><div class="label">pairs</div><div class="value" id="pairs-count">–</div></div>
    <div class="card"><div class="label">relayed</div><div class="value" id="relayed-count">–</div><div class="sub" id="relayed-rate"></div></div>
  </section>
  <section id="grading-section" hidden>
    <h2>Grading <small id="grading-peers"></small></h2>
    <p class="links"><a href="rounds.ndjson" download>round log (NDJSON)</a> · <a href="report.txt" download>report (text)</a> · <a href="report.json" download>report (JSON)</a></p>
    <div class="scroll"><table id="grading">
      <thead><tr><th>student</th><th class="n" data-short="rnd">rounds</th><th class="n">ok</th><th class="n" data-short="fail">failed</th><th class="n" data-short="inc">incomplete</th><th class="n" data-short="drop">dropped</th><th class="n" data-short="ref">refused</th><th>notes</th></tr></thead>
      <tbody></tbody><tfoot></tfoot>
    </table></div>
  </section>
  <section>
    <h2>Relayed messages per second</h2>
    <svg id="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="relayed messages per second"></svg>
    <div class="sub" id="chart-label"></div>
  </section>
  <section>
    <h2>Clients <small id="clients-note"></small></h2>
    <div class="scroll"><table id="clients">
      <thead><tr><th>uco</th><th class="opt">session</th><th class="opt">address</th><th class="n">connected</th><th class="n">last pong</th><th>peer</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="two">
    <div>
      <h2>Pairs</h2>
      <ul id="pairs" class="list"></ul>
    </div>
    <div>
      <h2>Errors by kind</h2>
      <table id="errors"><tbody></tbody></table>
    </div>
  </section>
  <section>
    <h2>Recent exits</h2>
    <ul id="exits" class="list"></ul>
  </section>
  <section id="operator" hidden>
    <h2>Operator</h2>
    <div class="actions">
      <button type="button" id="act-epoch">New epoch now</button>
      <span class="group"><input id="act-uco" placeholder="uco" autocomplete="off"><button type="button" id="act-disconnect">Disconnect</button></span>
      <span class="group"><input id="act-a" placeholder="uco A" autocomplete="off"><input id="act-b" placeholder="uco B" autocomplete="off"><button type="button" id="act-pair">Pair</button></span>
    </div>
    <div class="sub" id="act-result"></div>
  </section>
</main>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1c2330; --muted: #667085; --card: #fff; --line: #dde1e7; --accent: #2563eb; --ok: #15803d; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --bg: #111418; --fg: #e6e9ee; --muted: #98a2b3; --card: #1b2027; --line: #2c333d; --accent: #60a5fa; --ok: #4ade80; --bad: #f87171; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 1.15rem; margin: 0; }
h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
h2 small { color: var(--muted); font-weight: normal; }
main { padding: 0 1rem 2rem; max-width: 1200px; margin: 0 auto; }
.status { color: var(--muted); font-size: .9rem; }
.status.live { color: var(--ok); }
.status.down { color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: .75rem; margin-top: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.label, .sub { color: var(--muted); font-size: .85rem; }
.value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.wrap { white-space: normal; min-width: 14rem; }
th { font-weight: 600; font-size: .85rem; color: var(--muted); }
.n { text-align: right; }
tfoot td { font-weight: 600; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .late { color: #b45309; }
#errors { background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 0 1.5rem; }
.list { list-style: none; margin: 0; padding: 0; max-height: 16rem; overflow-y: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.list li { padding: .3rem .6rem; border-bottom: 1px solid var(--line); }
.list li:last-child, tbody tr:last-child td { border-bottom: none; }
.list .empty, .empty { color: var(--muted); }
#chart { width: 100%; height: 120px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; display: block; }
#chart polyline { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
#chart line { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.links a { color: var(--accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.group { display: inline-flex; gap: .25rem; }
input { width: 7rem; padding: .35rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
button { padding: .35rem .7rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
@media (max-width: 520px) {
  .opt { display: none; }
  #grading { font-size: .85rem; }
  #grading tr { display: grid; grid-template-columns: 4.6rem repeat(6, 1fr); border-bottom: 1px solid var(--line); }
  #grading th[data-short] { font-size: 0; }
  #grading th[data-short]::before { content: attr(data-short); font-size: .75rem; }
  #grading th, #grading td { border-bottom: none; }
  #grading th:last-child { display: none; }
  #grading td.wrap { grid-column: 1 / -1; min-width: 0; padding-top: 0; color: var(--muted); }
  #grading td.wrap:empty { display: none; }
  main { padding: 0 .5rem 2rem; } th, td { padding: .3rem .4rem; } .value { font-size: 1.3rem; } }
`;

const SCRIPT = `
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var operator = document.body.getAttribute('data-operator') === '1';
  var state = null, receivedAt = 0;

  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function row(cells) { var tr = document.createElement('tr'); cells.forEach(function (c) { tr.appendChild(c); }); return tr; }
  function td(text, cls) { return el('td', text, cls); }
  function replace(node, children) { while (node.firstChild) node.removeChild(node.firstChild); children.forEach(function (c) { node.appendChild(c); }); }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  function ago(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60); if (m < 60) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function since() { return Date.now() - receivedAt; }

  function render() {
    var v = state; if (!v) return;
    $('epoch').textContent = num(v.epoch);
    $('clients-count').textContent = num(v.counts.clients);
    $('connections-count').textContent = num(v.counts.connections) + ' connections';
    $('pairs-count').textContent = num(v.counts.pairs);
    $('relayed-count').textContent = num(v.counts.relayedMessages);
    var rates = v.relayRate.perSecond;
    $('relayed-rate').textContent = (rates.length ? rates[rates.length - 1] : 0) + ' /s now';
    renderChart(v.relayRate);
    var extra = v.counts.clients - v.clients.length;
    $('clients-note').textContent = extra > 0 ? '(first ' + num(v.clients.length) + ' of ' + num(v.counts.clients) + ')' : '';
    replace(document.querySelector('#clients tbody'), v.clients.length === 0 ? [row([td('no clients yet', 'empty')])] : v.clients.map(function (c) {
      var tr = row([td(c.uco), td(c.session, 'opt'), td(c.address || '', 'opt'), td(ago(c.connectedMs), 'n connected'), td(ago(c.lastPongMs), 'n pong'), td(c.peer || '–')]);
      tr.dataset.uco = c.uco; tr.dataset.c = c.connectedMs; tr.dataset.p = c.lastPongMs;
      return tr;
    }));
    replace($('pairs'), v.pairs.length === 0 ? [el('li', 'no pairs', 'empty')] : v.pairs.map(function (p) { return el('li', p[0] + ' ⇄ ' + p[1]); }));
    var kinds = Object.keys(v.errors).filter(function (k) { return v.errors[k] > 0; });
    replace(document.querySelector('#errors tbody'), kinds.length === 0 ? [row([td('no errors', 'empty')])] : kinds.map(function (k) { return row([td(k), td(num(v.errors[k]), 'n')]); }));
    replace($('exits'), v.exits.length === 0 ? [el('li', 'none yet', 'empty')] : v.exits.map(function (e) {
      var li = el('li', e.uco + ': ' + e.reason + ' '); li.appendChild(el('span', ago(e.agoMs) + ' ago', 'sub')); return li;
    }));
    renderGrading(v.grading);
    tick();
  }

  function renderGrading(g) {
    $('grading-section').hidden = !g;
    if (!g) return;
    $('grading-peers').textContent = '(reference peer ' + g.peers.join(', ') + ')';
    replace(document.querySelector('#grading tbody'), g.students.length === 0 ? [row([td('no rounds yet', 'empty')])] : g.students.map(function (s) {
      var tr = row([td(s.uco), td(s.rounds, 'n'), td(s.successful, s.successful > 0 ? 'n ok' : 'n'), td(s.failed, s.failed > 0 ? 'n bad' : 'n'), td(s.incomplete, 'n'),
        td(s.dropped || 0, 'n'), td(s.refused || 0, 'n'), notes(s)]);
      tr.dataset.uco = s.uco; return tr;
    }));
    var t = g.totals;
    replace(document.querySelector('#grading tfoot'), [row([td('total'), td(t.rounds, 'n'), td(t.successful, 'n'), td(t.failed, 'n'), td(t.incomplete, 'n'),
      td(t.dropped || 0, 'n'), td(t.refused || 0, 'n'), td('')])]);
  }

  // As chat-roulette report's notes: the last failure, incomplete round, drop and refusal.
  function notes(s) {
    var cell = el('td', null, 'wrap');
    var end = function (e) { return e.step + ': ' + e.reason + ' (' + e.peer + ' round ' + e.round + ')'; };
    var add = function (label, text, cls) { var d = el('div', null, cls); d.appendChild(el('span', label + ' ', 'sub')); d.appendChild(document.createTextNode(text)); cell.appendChild(d); };
    if (s.lastFailure) add('last failure', end(s.lastFailure), 'bad');
    if (s.lastIncomplete) add('last incomplete', end(s.lastIncomplete));
    if (s.lastDrop) add('dropped', s.lastDrop.reason + ' (' + s.lastDrop.peer + ')');
    if (s.lastRefusal) add('refused', s.lastRefusal.reason + ' (' + s.lastRefusal.peer + ')');
    return cell;
  }

  function renderChart(r) {
    var svg = $('chart'), pts = r.perSecond, max = 1;
    pts.forEach(function (p) { if (p > max) max = p; });
    var ns = 'http://www.w3.org/2000/svg', w = 600, h = 120, n = Math.max(pts.length - 1, 1);
    var line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts.map(function (p, i) { return (i * w / n).toFixed(1) + ',' + (h - 4 - p / max * (h - 8)).toFixed(1); }).join(' '));
    var base = document.createElementNS(ns, 'line');
    base.setAttribute('x1', '0'); base.setAttribute('x2', String(w)); base.setAttribute('y1', String(h - 4)); base.setAttribute('y2', String(h - 4));
    replace(svg, [base, line]);
    $('chart-label').textContent = 'last ' + ago(pts.length * r.sampleMs) + ', peak ' + num(max) + ' /s';
  }

  // Ages and the countdown move between updates.
  function tick() {
    var v = state; if (!v) return;
    var d = since();
    $('countdown').textContent = v.nextEpochInMs === null ? 'stopped' : 'next in ' + ago(Math.max(0, v.nextEpochInMs - d));
    document.querySelectorAll('#clients tbody tr').forEach(function (tr) {
      if (!tr.dataset.uco) return;
      var pong = Number(tr.dataset.p) + d;
      tr.querySelector('.connected').textContent = ago(Number(tr.dataset.c) + d);
      var cell = tr.querySelector('.pong');
      cell.textContent = ago(pong);
      // Not answering pings: late after two missed pings, red near the timeout.
      cell.className = 'n pong' + (pong > v.deadAfterMs / 2 ? ' bad' : pong > 2 * v.pingIntervalMs ? ' late' : '');
    });
  }
  setInterval(tick, 1000);

  function connect() {
    var source = new EventSource('events');
    source.addEventListener('state', function (e) {
      state = JSON.parse(e.data); receivedAt = Date.now();
      var s = $('status'); s.textContent = state.running ? 'live' : 'server stopped'; s.className = 'status ' + (state.running ? 'live' : 'down');
      render();
    });
    source.addEventListener('shutdown', function () { var s = $('status'); s.textContent = 'server shutting down'; s.className = 'status down'; source.close(); });
    source.onerror = function () { var s = $('status'); s.textContent = 'reconnecting…'; s.className = 'status down'; };
  }
  connect();

  if (operator) {
    $('operator').hidden = false;
    var act = function (path, body) {
      fetch('api/' + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' })
        .then(function (r) { return r.json().then(function (j) { $('act-result').textContent = (r.ok ? 'done: ' : 'refused: ') + (j.message || ''); }); })
        .catch(function (e) { $('act-result').textContent = 'failed: ' + e.message; });
    };
    $('act-epoch').onclick = function () { act('epoch', {}); };
    $('act-disconnect').onclick = function () { act('disconnect', { uco: $('act-uco').value.trim() }); };
    $('act-pair').onclick = function () { act('pair', { a: $('act-a').value.trim(), b: $('act-b').value.trim() }); };
  }
})();
`;

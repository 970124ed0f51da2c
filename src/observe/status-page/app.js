// kubegate status page: polls status.json (relative, so the page also works behind a path prefix)
// once a second and re-renders. Plain browser script, no build step; text goes in with
// textContent only, since error messages, paths and user names come from clients.
'use strict';

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 3000;
const MAX_ERROR_ROWS = 20;

const $ = (id) => document.getElementById(id);
/** Cluster sections by cluster name, kept across polls so a re-render does not rebuild them. */
const sections = new Map();

function fixed(n, digits) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function count(n) {
  return typeof n === 'number' && Number.isFinite(n) ? String(n) : '–';
}

function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return (d ? `${d}d ` : '') + (d || h ? `${h}h ` : '') + (d || h || m ? `${m}m ` : '') + `${s}s`;
}

/** A cell; `field` names it for tests and styles, `num` right-aligns it. */
function cell(text, field, opts = {}) {
  const td = document.createElement(opts.header ? 'th' : 'td');
  if (opts.header) td.scope = 'row';
  td.dataset.field = field;
  if (opts.num) td.className = 'num';
  if (opts.title) td.title = opts.title;
  td.textContent = text;
  return td;
}

function badge(text, tone) {
  const span = document.createElement('span');
  span.className = `badge ${tone}`;
  span.textContent = text;
  return span;
}

function endpointRow(ep) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'endpoint';
  tr.dataset.endpoint = ep.name;
  tr.dataset.healthy = String(ep.healthy === true);
  const health = cell('', 'health');
  health.append(badge(ep.healthy ? 'healthy' : 'unhealthy', ep.healthy ? 'ok' : 'bad'));
  if (ep.ejectedFor) {
    const why = document.createElement('span');
    why.className = 'muted why';
    why.textContent = ep.ejectedFor;
    health.append(' ', why);
  }
  tr.append(
    cell(ep.name, 'name', { header: true }),
    cell(ep.url ?? '', 'url'),
    health,
    cell(count(ep.inflight), 'inflight', { num: true }),
    cell(fixed(ep.ratePerSecond, 1), 'rate', { num: true }),
    cell(count(ep.longRunning), 'watches', { num: true }),
    cell(count(ep.sessions), 'sessions', { num: true }),
  );
  return tr;
}

function ruleRow(rule) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'rule';
  tr.dataset.rule = rule.name;
  const rejecting = rule.rejectionsPerSecond > 0;
  if (rejecting) tr.className = 'rejecting';
  tr.append(
    cell(rule.name, 'name', { header: true }),
    cell(rule.action ?? '', 'action'),
    cell(fixed(rule.ratePerSecond, 1), 'rate', { num: true }),
    cell(fixed(rule.rejectionsPerSecond, 1), 'rejections-rate', { num: true }),
    cell(count(rule.rejectionsTotal), 'rejections-total', { num: true }),
    cell(count(rule.inflight), 'inflight', { num: true }),
    cell(count(rule.queued), 'queued', { num: true }),
  );
  return tr;
}

function emptyRow(columns, text) {
  const tr = document.createElement('tr');
  const td = document.createElement('td');
  td.colSpan = columns;
  td.className = 'muted';
  td.textContent = text;
  tr.append(td);
  return tr;
}

function clusterSection(name) {
  let section = sections.get(name);
  if (!section) {
    section = $('cluster-template').content.firstElementChild.cloneNode(true);
    section.dataset.cluster = name;
    section.id = `cluster-${name}`;
    sections.set(name, section);
  }
  return section;
}

function renderCluster(c) {
  const section = clusterSection(c.name);
  const field = (f) => section.querySelector(`[data-part="${f}"]`);
  field('name').textContent = c.name;
  field('origin').textContent = c.origin ?? '';
  const breaker = field('breaker');
  breaker.textContent = `breaker ${c.breaker}`;
  breaker.dataset.state = c.breaker;
  breaker.className = `badge ${c.breaker === 'closed' ? 'ok' : c.breaker === 'open' ? 'bad' : 'warn'}`;
  const endpoints = c.endpoints ?? [];
  const healthy = endpoints.filter((e) => e.healthy).length;
  field('summary').textContent = `${healthy}/${endpoints.length} endpoints healthy`;
  section.dataset.healthy = String(healthy);

  const epBody = section.querySelector('table.endpoints tbody');
  epBody.replaceChildren(...(endpoints.length ? endpoints.map(endpointRow) : [emptyRow(7, 'No endpoints.')]));
  const rules = c.rules ?? [];
  const ruleBody = section.querySelector('table.rules tbody');
  ruleBody.replaceChildren(...(rules.length ? rules.map(ruleRow) : [emptyRow(7, 'No rules.')]));
  return section;
}

/**
 * Errors newest first, the same error repeated (same cluster, rule, status, code, message, path and
 * user) folded into one row with its count and latest time: a denied client retrying in a loop
 * would otherwise fill the table with one line.
 */
function foldErrors(errors) {
  const groups = new Map();
  const sorted = [...errors].sort((a, b) => String(b.time).localeCompare(String(a.time)));
  for (const e of sorted) {
    const key = JSON.stringify([e.cluster, e.rule, e.status, e.code, e.message, e.path, e.user]);
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { ...e, count: 1 });
  }
  return [...groups.values()].slice(0, MAX_ERROR_ROWS);
}

function errorRow(e) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'error';
  const time = cell('', 'time');
  const t = document.createElement('time');
  t.dateTime = e.time;
  t.textContent = new Date(e.time).toLocaleTimeString();
  time.append(t);
  tr.append(
    time,
    cell(String(e.count), 'count', { num: true }),
    cell(e.cluster ?? '', 'cluster'),
    cell(e.rule ?? '', 'rule'),
    cell(count(e.status), 'status', { num: true }),
    cell(e.code ?? '', 'code'),
    cell(e.message ?? '', 'message', { title: e.message }),
    cell(e.path ?? '', 'path', { title: e.path }),
    cell(e.user ?? '', 'user'),
  );
  return tr;
}

function renderErrors(errors) {
  const rows = foldErrors(errors).map(errorRow);
  const table = $('recent-errors');
  table.querySelector('tbody').replaceChildren(...rows);
  table.hidden = rows.length === 0;
  $('no-errors').hidden = rows.length > 0;
}

function render(status) {
  $('config-version').textContent = status.version || '–';
  $('uptime').textContent = duration(status.uptimeSeconds);
  const updated = $('last-update');
  updated.dateTime = status.generatedAt;
  updated.textContent = new Date(status.generatedAt).toLocaleTimeString();

  const clusters = status.clusters ?? [];
  const names = new Set(clusters.map((c) => c.name));
  for (const [name, section] of sections) {
    if (!names.has(name)) {
      section.remove();
      sections.delete(name);
    }
  }
  // Appending an attached node moves it, so this also follows a change in cluster order.
  $('clusters').append(...clusters.map(renderCluster));
  $('no-clusters').hidden = clusters.length > 0;
  renderErrors(status.recentErrors ?? []);
}

function feed(state, text) {
  const el = $('connection');
  el.dataset.state = state;
  el.textContent = text;
  document.body.dataset.feed = state;
}

let polls = 0;

async function poll() {
  try {
    const res = await fetch('status.json', {
      cache: 'no-store',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`status.json answered ${res.status}`);
    const status = await res.json();
    render(status);
    polls += 1;
    document.body.dataset.polls = String(polls);
    feed('live', status.draining ? 'live, draining' : 'live');
  } catch (err) {
    // Keep the last good figures on screen, marked stale, and keep trying.
    feed('stale', `stale: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();

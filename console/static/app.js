// earshot console: plain ES module, no build step. Every value from the
// server reaches the page through textContent, never as HTML.
import uPlot from './vendor/uplot/uPlot.esm.js';

const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element: h('div', {class: 'x', onclick: f}, child, 'text', …).
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts });
  const body = res.headers.get('Content-Type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.error || body || res.statusText);
  return body;
}

function post(path, data) {
  return api(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Earshot-Console': '1' },
    body: JSON.stringify(data),
  });
}

function toast(msg) {
  const t = $('#toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 3500);
}

function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  const two = (a, ua, b, ub) => (b ? `${a}${ua} ${b}${ub}` : `${a}${ua}`);
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

const fmtN = (n) => Number(n).toLocaleString('en');
const fmtTime = (t) => new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

function segs(list) {
  return (list || []).map((s) => (s.hit ? h('mark', {}, s.t) : s.t));
}

function sentimentChip(m) {
  const label = m.label || 'unscored';
  return h('span', { class: `chip ${label}`, title: `sentiment score ${Number(m.sentiment).toFixed(2)}` }, label);
}

// mentionBody renders a mention's author line, text with matched words
// marked, and its link.
function mentionBody(m) {
  return [
    h('div', { class: 'meta' },
      h('span', { class: 'author' }, m.author ? '@' + m.author : (m.author_name || 'unknown author')),
      m.followers ? h('span', { title: 'followers' }, `${fmtN(m.followers)} followers`) : null,
      h('span', {}, m.platform),
      m.lang ? h('span', {}, m.lang) : null,
      h('span', {}, fmtTime(m.created_at)),
      sentimentChip(m),
      ...(m.topics || []).map((t) => h('span', { class: 'chip' }, t)),
      m.url ? h('a', { class: 'post', href: m.url, target: '_blank', rel: 'noopener noreferrer' }, 'open post ↗') : null),
    h('div', { class: 'text' },
      m.title && m.title.length ? h('span', { class: 'title' }, segs(m.title)) : null,
      segs(m.text)),
  ];
}

// ---------- state shared by the views ----------
const state = { meta: null, view: 'queue' };

function options(values, selected, allLabel) {
  return [allLabel !== undefined ? h('option', { value: '' }, allLabel) : null,
    ...values.map((v) => h('option', { value: v, selected: v === selected }, v))];
}

function select(name, values, allLabel, value, onchange) {
  return h('label', {}, name, h('select', { 'data-filter': name.toLowerCase(), onchange }, options(values, value, allLabel)));
}

// ---------- queue ----------
const queue = { topic: '', platform: '', lang: '', order: 'newest', state: 'open' };

function renderQueueBar(root) {
  const m = state.meta;
  const re = () => loadQueue();
  const bar = h('div', { class: 'bar' },
    select('Topic', m.topics, 'all topics', queue.topic, (e) => { queue.topic = e.target.value; re(); }),
    select('Platform', m.platforms, 'all platforms', queue.platform, (e) => { queue.platform = e.target.value; re(); }),
    select('Language', m.languages, 'all languages', queue.lang, (e) => { queue.lang = e.target.value; re(); }),
    h('label', {}, 'Order', h('select', { 'data-filter': 'order', onchange: (e) => { queue.order = e.target.value; re(); } },
      h('option', { value: 'newest' }, 'newest first'), h('option', { value: 'oldest' }, 'oldest first'))),
    h('label', {}, 'Show', h('select', { 'data-filter': 'state', onchange: (e) => { queue.state = e.target.value; re(); } },
      h('option', { value: 'open' }, 'waiting'), h('option', { value: 'done' }, 'answered and dismissed'))),
    m.auth === 'loopback' ? h('label', {}, 'Your name', h('input', {
      type: 'text', id: 'me', value: localStorage.getItem('earshot.me') || '', placeholder: 'shown on your claims',
      onchange: (e) => localStorage.setItem('earshot.me', e.target.value.trim()),
    })) : h('span', { class: 'note' }, `signed in as ${m.user}`));
  root.append(bar, h('div', { class: 'summary', id: 'queue-summary' }), h('div', { id: 'queue-list' }));
}

// queueLoads numbers the queue's loads: a filter change, an action and a
// live update can each start one, and only the newest may draw, so a slow
// answer for the old filter never replaces the list of the new one.
let queueLoads = 0;

async function loadQueue() {
  const p = new URLSearchParams({ order: queue.order, state: queue.state });
  for (const k of ['topic', 'platform', 'lang']) if (queue[k]) p.set(k, queue[k]);
  const list = $('#queue-list');
  const mine = ++queueLoads;
  try {
    const data = await api('/api/queue?' + p);
    if (mine !== queueLoads) return;
    const target = ago(data.target_seconds);
    $('#queue-summary').replaceChildren(queue.state === 'open'
      ? h('span', {}, `${fmtN(data.total)} waiting for a response · `, h('b', { class: 'overdue' }, `${fmtN(data.overdue)} past the ${target} target`))
      : h('span', {}, `${fmtN(data.total)} answered or dismissed`));
    if (queue.state === 'open') $('#queue-count').textContent = data.overdue ? fmtN(data.overdue) : '';
    list.replaceChildren(...(data.items.length ? data.items.map(queueRow) : [h('div', { class: 'empty' }, 'Nothing waiting. 🎉')]));
  } catch (e) {
    if (mine !== queueLoads) return;
    list.replaceChildren(h('div', { class: 'empty' }, 'Could not load the queue: ' + e.message));
  }
}

function queueRow(it) {
  const late = it.overdue;
  const card = h('div', { class: 'card' + (late ? ' overdue' : ''), 'data-id': it.id, 'data-state': it.state });
  const waited = h('span', { class: 'chip waited' + (late ? ' late' : ''), title: late ? 'past the response target' : 'waiting' },
    (it.responded_at ? 'answered after ' : 'waiting ') + ago(it.waited_seconds));
  const st = h('span', { class: `chip state-${it.state}`, 'data-role': 'state' },
    it.state + (it.actor && it.state !== 'open' ? ` by ${it.actor}` : ''));
  const note = h('textarea', { placeholder: 'note (optional): what was answered, where', 'data-role': 'note' });
  const act = (action) => async () => {
    try {
      await post('/api/queue/' + action, { id: it.id, note: note.value, as: $('#me')?.value || '' });
      toast(`${action === 'claim' ? 'Claimed' : action === 'answer' ? 'Marked answered' : action === 'dismiss' ? 'Dismissed' : 'Reopened'}`);
      loadQueue();
    } catch (e) { toast(e.message); }
  };
  const buttons = it.state === 'answered' || it.state === 'dismissed'
    ? [h('button', { 'data-action': 'reopen', onclick: act('reopen') }, 'Reopen'), it.note ? h('span', { class: 'note' }, `“${it.note}”`) : null]
    : [it.state === 'open' ? h('button', { 'data-action': 'claim', onclick: act('claim') }, 'Claim') : null,
      note,
      h('button', { class: 'primary', 'data-action': 'answer', onclick: act('answer') }, 'Mark answered'),
      h('button', { 'data-action': 'dismiss', onclick: act('dismiss') }, 'Dismiss')];
  card.append(h('div', { class: 'meta' }, waited, st), ...mentionBody(it), h('div', { class: 'actions' }, buttons));
  return card;
}

// ---------- alerts ----------
// openSamples remembers, by alert id, the sample mentions a person opened:
// a live alert redraws the list, and what they were reading stays open.
const openSamples = new Map();
let alertLoads = 0;

async function loadAlerts() {
  const root = $('#view-alerts');
  const mine = ++alertLoads;
  try {
    const data = await api('/api/alerts');
    if (mine !== alertLoads) return;
    const open = data.alerts.filter((a) => !a.resolved).length;
    $('#alert-count').textContent = open ? fmtN(open) : '';
    root.replaceChildren(
      h('div', { class: 'summary' }, `${data.alerts.length} alert${data.alerts.length === 1 ? '' : 's'} in the last 30 days`,
        data.columns.status ? ' · resolved ones are greyed' : ''),
      ...(data.alerts.length ? data.alerts.map(alertCard) : [h('div', { class: 'empty' }, 'No alerts in the last 30 days.')]));
  } catch (e) {
    if (mine !== alertLoads) return;
    root.replaceChildren(h('div', { class: 'empty' }, 'Could not load alerts: ' + e.message));
  }
}

function alertCard(a) {
  const ex = a.explanation || {};
  const samples = h('div', { class: 'samples', 'data-role': 'samples' });
  // The panel drawn is the one of the card now on the page: the list may
  // have been redrawn while the mentions loaded.
  const panel = () => document.querySelector(`[data-alert="${CSS.escape(a.id)}"] [data-role=samples]`) || samples;
  const draw = (o, into = panel()) => {
    const kids = o.error ? [h('div', { class: 'note' }, o.error)]
      : !o.mentions ? [h('div', { class: 'note' }, 'no sample mentions')]
        : [h('div', { class: 'note' }, o.label), ...o.mentions.map((m) => h('div', { class: 'card', 'data-id': m.id }, ...mentionBody(m)))];
    into.replaceChildren(...kids);
  };
  const showSamples = async (ids, label) => {
    if (!ids || !ids.length) { openSamples.set(a.id, {}); draw({}); return; }
    openSamples.set(a.id, { label });
    try {
      const data = await api('/api/mentions?' + ids.slice(0, 20).map((id) => 'id=' + encodeURIComponent(id)).join('&'));
      const o = { label, mentions: data.mentions };
      openSamples.set(a.id, o);
      draw(o);
    } catch (e) { draw({ error: e.message }); }
  };
  const open = openSamples.get(a.id);
  if (open && (open.mentions || !open.label)) draw(open, samples); // this card is not on the page yet
  const movers = (ex.top || []).map((mv) => h('tr', { onclick: () => showSamples(mv.samples, `mentions with ${mv.field} “${mv.value}”`) },
    h('td', {}, mv.field), h('td', {}, mv.value), h('td', { class: 'n' }, fmtN(mv.window)), h('td', { class: 'n' }, fmtN(mv.baseline)),
    h('td', { class: 'n' }, `×${Number(mv.ratio).toFixed(1)}`)));
  return h('div', { class: 'card alert' + (a.resolved ? ' resolved' : ''), 'data-alert': a.id },
    h('div', { class: 'meta' },
      h('span', { class: 'chip kind' + (a.kind === 'negative_surge' || a.kind === 'drop' ? ' negative' : '') }, a.kind.replace('_', ' ')),
      h('span', { class: 'author' }, a.topic === '_all' ? 'all topics' : a.topic),
      h('span', {}, a.platform || 'all platforms'),
      h('span', {}, `from ${fmtTime(a.started_at)} for ${ago(a.window_seconds)}`),
      a.severity ? h('span', { class: 'chip' }, a.severity) : null,
      a.resolved ? h('span', { class: 'chip' }, 'resolved') : null),
    h('div', { class: 'text' },
      `${fmtN(Math.round(a.observed))} mentions against ${Number(a.baseline).toFixed(1)} expected`,
      a.peak ? ` (peak ${fmtN(a.peak)})` : '',
      ` · score ${Number(a.score).toFixed(2)} · ${Math.round(a.negative_share * 100)}% negative`),
    movers.length ? h('table', { class: 'movers' },
      h('thead', {}, h('tr', {}, h('th', {}, 'what moved'), h('th', {}, 'value'), h('th', { class: 'n' }, 'in window'),
        h('th', { class: 'n' }, 'in baseline'), h('th', { class: 'n' }, 'ratio'))),
      h('tbody', {}, movers)) : h('div', { class: 'note' }, 'no explanation recorded'),
    h('div', { class: 'actions' }, h('button', { 'data-action': 'samples', onclick: () => showSamples(a.sample_ids, 'sample mentions') },
      `Show ${a.sample_ids.length} sample mentions`)),
    samples);
}

// ---------- topics ----------
const topicsState = { topic: '', range: '30d' };
const charts = [];

function windowNote(w) {
  return h('div', { class: 'note' }, `${fmtTime(w.from)} → ${fmtTime(w.to)}, one point per ${ago(w.bucket_seconds)}`,
    w.anchored ? ' — nothing was stored in this range up to now, so it ends at the newest stored mention' : '');
}

function rangeAndTopic(st, reload) {
  return [
    select('Topic', state.meta.topics, 'all mentions', st.topic, (e) => { st.topic = e.target.value; reload(); }),
    h('label', {}, 'Range', h('select', { 'data-filter': 'range', onchange: (e) => { st.range = e.target.value; reload(); } },
      state.meta.ranges.map((r) => h('option', { value: r, selected: r === st.range }, r)))),
  ];
}

function countTable(rows, label, extraLabel) {
  if (!rows.length) return h('div', { class: 'note' }, 'none');
  const top = Math.max(...rows.map((r) => r.n));
  return h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, label), h('th', { class: 'n' }, 'mentions'), extraLabel ? h('th', { class: 'n' }, extraLabel) : null)),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', { class: 'barcell' }, h('div', { class: 'barfill', style: `width:${(100 * r.n) / top}%` }), h('span', {}, r.key)),
      h('td', { class: 'n' }, fmtN(r.n)), extraLabel ? h('td', { class: 'n' }, fmtN(r.extra)) : null))));
}

function chart(el, title, series, data, opts = {}) {
  const u = new uPlot({
    title, width: Math.max(300, el.clientWidth - 10), height: 220, series: [{}, ...series],
    axes: [{}, { size: 50 }], scales: { x: { time: true }, ...(opts.scales || {}) }, legend: { live: false },
  }, data, el);
  charts.push(u);
  return u;
}

async function loadTopics() {
  const root = $('#view-topics');
  const bar = h('div', { class: 'bar' }, rangeAndTopic(topicsState, loadTopics));
  try {
    const p = new URLSearchParams({ range: topicsState.range });
    if (topicsState.topic) p.set('topic', topicsState.topic);
    const d = await api('/api/topic?' + p);
    charts.splice(0).forEach((c) => c.destroy());
    const vol = h('div', { class: 'panel wide', id: 'chart-volume' }, h('h3', {}, 'Volume against baseline'));
    const sent = h('div', { class: 'panel wide', id: 'chart-sentiment' }, h('h3', {}, 'Sentiment share'));
    const total = d.share_of_voice.reduce((s, r) => s + r.n, 0) || 1;
    const voice = d.share_of_voice.map((r) => ({ ...r, key: `${r.key} — ${Math.round((100 * r.n) / total)}%` }));
    const clusters = d.clusters.length ? h('table', {}, h('tbody', {}, d.clusters.map((c) => h('tr', {},
      h('td', { class: 'n' }, `${c.copies}×`), h('td', {}, c.example), h('td', { class: 'n' }, `${c.platforms} platform${c.platforms > 1 ? 's' : ''}`))))) : h('div', { class: 'note' }, 'no near-duplicate clusters');
    root.replaceChildren(bar, windowNote(d.window), h('div', { class: 'grid' },
      vol, sent,
      h('div', { class: 'panel' }, h('h3', {}, 'Share of voice'), countTable(voice, 'topic', 'negative')),
      h('div', { class: 'panel' }, h('h3', {}, 'Top hashtags'), countTable(d.hashtags.map((r) => ({ ...r, key: '#' + r.key })), 'hashtag')),
      h('div', { class: 'panel' }, h('h3', {}, 'Top domains'), countTable(d.domains, 'domain')),
      h('div', { class: 'panel' }, h('h3', {}, 'Top authors'), countTable(d.authors.map((r) => ({ ...r, key: '@' + r.key })), 'author', 'followers')),
      h('div', { class: 'panel wide' }, h('h3', {}, 'Biggest near-duplicate clusters'), clusters)));
    const xs = d.series.map((p) => p.t);
    chart(vol, '', [
      { label: 'mentions', stroke: '#2f5bea', fill: 'rgba(47,91,234,.12)', width: 2 },
      { label: `baseline (median of previous ${d.baseline_buckets})`, stroke: '#b86e00', dash: [6, 4], width: 1.5 },
    ], [xs, d.series.map((p) => p.volume), d.series.map((p) => p.baseline)]);
    const share = (k) => d.series.map((p) => (p.volume ? (100 * p[k]) / p.volume : null));
    chart(sent, '', [
      { label: '% positive', stroke: '#1e9e5a', width: 2, spanGaps: true },
      { label: '% negative', stroke: '#d64545', width: 2, spanGaps: true },
      { label: '% neutral', stroke: '#8a93a6', width: 1, spanGaps: true },
    ], [xs, share('positive'), share('negative'), share('neutral')], { scales: { y: { range: [0, 100] } } });
  } catch (e) {
    root.replaceChildren(bar, h('div', { class: 'empty' }, 'Could not load the topic: ' + e.message));
  }
}

// ---------- people ----------
const peopleState = { topic: '', range: '30d' };

function peopleTable(rows, kind) {
  if (!rows.length) return h('div', { class: 'note' }, `no ${kind} in this range`);
  return h('table', { 'data-people': kind }, h('thead', {}, h('tr', {}, h('th', {}, 'author'), h('th', { class: 'n' }, 'followers'),
    h('th', { class: 'n' }, 'mentions'), h('th', { class: 'n' }, '+ / −'), h('th', { class: 'n' }, 'mean sentiment'))),
  h('tbody', {}, rows.map((p) => h('tr', {}, h('td', {}, '@' + p.handle, p.name && p.name !== '@' + p.handle ? h('span', { class: 'note' }, ` ${p.name}`) : null),
    h('td', { class: 'n' }, fmtN(p.followers)), h('td', { class: 'n' }, fmtN(p.mentions)),
    h('td', { class: 'n' }, `${p.positive} / ${p.negative}`), h('td', { class: 'n' }, Number(p.sentiment).toFixed(2))))));
}

async function loadPeople() {
  const root = $('#view-people');
  const bar = h('div', { class: 'bar' }, rangeAndTopic(peopleState, loadPeople));
  try {
    const p = new URLSearchParams({ range: peopleState.range });
    if (peopleState.topic) p.set('topic', peopleState.topic);
    const d = await api('/api/people?' + p);
    root.replaceChildren(bar, windowNote(d.window), h('div', { class: 'grid' },
      h('div', { class: 'panel' }, h('h3', {}, 'Advocates: frequent, positive, high reach'), peopleTable(d.advocates, 'advocates')),
      h('div', { class: 'panel' }, h('h3', {}, 'Detractors: frequent, negative, high reach'), peopleTable(d.detractors, 'detractors'))));
  } catch (e) {
    root.replaceChildren(bar, h('div', { class: 'empty' }, 'Could not load people: ' + e.message));
  }
}

// ---------- search ----------
const searchState = { range: '30d' };

function renderSearch() {
  const root = $('#view-search');
  const q = h('input', { type: 'text', id: 'q', placeholder: 'acme AND (refund* OR broken) NOT job', autocomplete: 'off', spellcheck: 'false' });
  const lint = h('div', { class: 'lint', id: 'lint' });
  const out = h('div', { id: 'search-results' });
  const csv = h('a', { class: 'post', id: 'csv', href: '#' }, 'Export CSV');
  let timer;
  const doLint = async () => {
    if (!q.value.trim()) { lint.replaceChildren(); return; }
    try {
      const d = await api('/api/lint?' + new URLSearchParams({ q: q.value }));
      lint.replaceChildren(...(d.problems.length ? d.problems.map((p) => h('div', { class: p.severity },
        `col ${p.col}: ${p.severity}: ${p.msg}`, p.hint ? ` (${p.hint})` : '')) : [h('div', { class: 'ok' }, '✓ query is valid')]));
    } catch (e) { lint.replaceChildren(h('div', { class: 'error' }, e.message)); }
  };
  const run = async () => {
    const p = new URLSearchParams({ q: q.value, range: searchState.range });
    csv.href = '/api/search?' + p + '&format=csv';
    out.replaceChildren(h('div', { class: 'note' }, 'searching…'));
    try {
      const d = await api('/api/search?' + p);
      out.replaceChildren(windowNote(d.window),
        h('div', { class: 'summary', id: 'search-summary', 'data-total': d.total },
          `${fmtN(d.total)} matches among ${fmtN(d.scanned)} mentions`, d.truncated ? ' (the range holds more: narrow it)' : '',
          d.total > d.mentions.length ? ` — showing the newest ${d.mentions.length}` : ''),
        ...d.mentions.map((m) => h('div', { class: 'card', 'data-id': m.id }, ...mentionBody(m))));
    } catch (e) { out.replaceChildren(h('div', { class: 'empty' }, e.message)); }
  };
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(doLint, 150); });
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
  root.replaceChildren(h('div', { class: 'bar' }, h('label', {}, 'Query (the topic query language)', q),
    h('label', {}, 'Range', h('select', { 'data-filter': 'range', onchange: (e) => { searchState.range = e.target.value; } },
      state.meta.ranges.map((r) => h('option', { value: r, selected: r === searchState.range }, r)))),
    h('button', { class: 'primary', id: 'search-go', onclick: run }, 'Search'), csv), lint, out);
}

// ---------- navigation and live updates ----------
const loaders = { queue: loadQueue, alerts: loadAlerts, topics: loadTopics, people: loadPeople, search: () => {} };

function show(view) {
  if (!loaders[view]) view = 'queue';
  state.view = view;
  document.querySelectorAll('.view').forEach((v) => v.classList.toggle('active', v.id === 'view-' + view));
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  loaders[view]();
}

function live() {
  if (!state.meta.live) { $('#live-text').textContent = 'live updates off'; return; }
  const es = new EventSource('/api/events');
  let n = 0;
  let reload;
  es.onopen = () => { $('#live').classList.add('on'); $('#live-text').textContent = 'live'; };
  es.onerror = () => { $('#live').classList.remove('on'); $('#live-text').textContent = 'reconnecting…'; };
  es.addEventListener('mention', (e) => {
    const m = JSON.parse(e.data);
    n++;
    $('#live-text').textContent = `live · ${fmtN(n)} new`;
    if (m.needs_response && state.view === 'queue') {
      clearTimeout(reload);
      reload = setTimeout(loadQueue, 1500); // the sink stores it within a second or so
    }
  });
  es.addEventListener('alert', (e) => {
    const a = JSON.parse(e.data);
    toast(`New ${String(a.kind).replace('_', ' ')} alert on ${a.topic}`);
    setTimeout(loadAlerts, 1500);
  });
}

async function main() {
  try {
    state.meta = await api('/api/meta');
  } catch (e) {
    document.body.replaceChildren(h('main', {}, h('div', { class: 'empty' }, 'The console could not start: ' + e.message)));
    return;
  }
  renderQueueBar($('#view-queue'));
  renderSearch();
  window.addEventListener('hashchange', () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || 'queue');
  if (state.view !== 'alerts') loadAlerts(); // the nav badge
  live();
}

main();

// State machines: the searchable list, and one machine's page (its graph,
// versions, aliases and recent executions, with the actions on it).

import { call, collect, overview, pool } from './api.js';
import { h, clear, fmtDate, ago, fmtDuration, toDate, badge, link, routes, arnName, jsonEditor, modal, toast, errorBox, codeBlock, pretty } from './ui.js';
import { drawGraph } from './graph.js';

export async function machinesPage(ctx) {
  const { items, more } = await collect('ListStateMachines', {}, 'stateMachines', 1000);
  const search = h('input', { type: 'search', placeholder: 'Search by name or ARN…', class: 'search', autofocus: true });
  const body = h('tbody');
  const count = h('span', { class: 'muted' });
  const show = () => {
    const q = search.value.trim().toLowerCase();
    const rows = items.filter((m) => !q || m.name.toLowerCase().includes(q) || m.stateMachineArn.toLowerCase().includes(q));
    count.textContent = `${rows.length} of ${items.length}${more ? '+' : ''}`;
    clear(body, rows.length ? rows.map((m) => h('tr', {},
      h('td', {}, link(routes.machine(m.stateMachineArn), m.name)),
      h('td', {}, h('span', { class: 'tag' }, m.type || 'STANDARD')),
      h('td', { class: 'mono small' }, m.stateMachineArn),
      h('td', { title: fmtDate(m.creationDate) }, ago(m.creationDate)),
    )) : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, items.length ? 'No state machine matches.' : 'No state machines yet.')));
  };
  search.addEventListener('input', show);
  show();
  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'State machines'), count, h('span', { class: 'spacer' }),
      search, h('a', { class: 'button primary', href: '#/create', dataset: { needs: 'edit' } }, 'Create')),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'ARN'), h('th', {}, 'Created'))), body)));
}

/**
 * The start-execution dialog; resolves to the new execution's ARN. For an
 * EXPRESS machine (`express`) it can also run the execution synchronously
 * (StartSyncExecution) and show its result in place, since a synchronous
 * execution leaves no record to open afterwards.
 */
export function startDialog(stateMachineArn, input = '{\n  \n}', { express = false } = {}) {
  return modal(`Start an execution of ${arnName(stateMachineArn)}`, (close) => {
    const name = h('input', { type: 'text', placeholder: 'Generated when empty', pattern: '[A-Za-z0-9_-]{1,80}' });
    const editor = jsonEditor(input, { rows: 14 });
    const error = h('div');
    const syncResult = h('div', { class: 'sync-result' });
    const sync = express ? h('button', {
      onclick: async () => {
        if (!editor.valid()) return;
        sync.disabled = true;
        clear(error);
        try {
          const body = { stateMachineArn, input: editor.text().trim() || '{}' };
          if (name.value.trim()) body.name = name.value.trim();
          const out = await call('StartSyncExecution', body);
          const took = (toDate(out.stopDate)?.getTime() ?? 0) - (toDate(out.startDate)?.getTime() ?? 0);
          clear(syncResult,
            h('div', { class: 'row' }, badge(out.status), h('span', { class: 'muted' }, `${fmtDuration(took)} · billed ${out.billingDetails?.billedDurationInMilliseconds ?? '—'} ms`)),
            out.status === 'SUCCEEDED'
              ? [h('h3', {}, 'Output'), codeBlock(out.output)]
              : h('div', { class: 'error-box' }, h('strong', {}, out.error || out.status), out.cause ? h('pre', { class: 'code' }, pretty(out.cause)) : null));
        } catch (e) {
          clear(error, errorBox(e));
        } finally {
          sync.disabled = false;
        }
      },
    }, 'Run synchronously') : null;
    const start = h('button', {
      class: 'primary',
      onclick: async () => {
        if (!editor.valid()) return;
        start.disabled = true;
        try {
          const body = { stateMachineArn, input: editor.text().trim() || '{}' };
          if (name.value.trim()) body.name = name.value.trim();
          const out = await call('StartExecution', body);
          toast('Execution started', 'ok');
          close(out.executionArn);
        } catch (e) {
          clear(error, errorBox(e));
          start.disabled = false;
        }
      },
    }, 'Start execution');
    return h('div', { class: 'modal-body' },
      h('label', {}, 'Name', name),
      h('label', {}, 'Input (JSON)', editor.el),
      error,
      syncResult,
      h('div', { class: 'actions' }, h('button', { onclick: () => close() }, 'Cancel'), sync, start));
  });
}

function executionsTable(ctx, arn) {
  // PAUSED is Statecraft's: running executions an operator holds (pausedFilter).
  const status = h('select', { 'data-filter': 'status' }, ['', 'RUNNING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']
    .map((s) => h('option', { value: s }, s || 'All statuses')));
  const body = h('tbody');
  const moreBtn = h('button', { class: 'small' }, 'Load more');
  let token = null;
  let pages = 0;
  const row = (e) => {
    const end = toDate(e.stopDate)?.getTime() ?? Date.now();
    const start = toDate(e.startDate)?.getTime();
    return h('tr', {},
      h('td', {}, link(routes.execution(e.executionArn), e.name)),
      h('td', {}, badge(e.status), e.paused ? [' ', badge('PAUSED')] : null),
      h('td', { title: fmtDate(e.startDate) }, ago(e.startDate)),
      h('td', {}, start ? fmtDuration(end - start) : '—'),
      h('td', {}, e.redriveCount ? `${e.redriveCount}×` : ''));
  };
  const load = async (reset) => {
    const body2 = { stateMachineArn: arn, maxResults: 50 };
    if (status.value === 'PAUSED') body2.pausedFilter = true;
    else if (status.value) body2.statusFilter = status.value;
    if (!reset && token) body2.nextToken = token;
    const page = await call('ListExecutions', body2);
    if (reset) body.replaceChildren();
    body.append(...(page.executions || []).map(row));
    if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No executions.')));
    token = page.nextToken || null;
    pages = reset ? 1 : pages + 1;
    moreBtn.hidden = !token;
  };
  status.addEventListener('change', () => load(true));
  moreBtn.addEventListener('click', () => load(false));
  // Refresh the first page while the user has not paged further (a refresh
  // would throw away the pages they asked for).
  ctx.every(5000, () => (pages <= 1 ? load(true) : null));
  return {
    el: h('section', { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Executions'), h('span', { class: 'spacer' }), status),
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Started'), h('th', {}, 'Duration'), h('th', {}, 'Redriven'))), body),
      moreBtn),
    load,
  };
}

// The machine's last 24 hours, aggregated by the server (the store's
// indexes), so a machine with 100,000 executions costs the same to open.
function machineStats(ctx, arn) {
  const el = h('section', { class: 'card machine-stats' }, h('p', { class: 'muted' }, 'Reading the numbers…'));
  const stat = (label, value, cls = '', key = '') => h('div', { class: `stat ${cls}`, 'data-stat': key },
    h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
  const load = async () => {
    const o = await overview({ stateMachineArn: arn, window: 86400, buckets: 1 });
    const c = o.counts;
    const slow = o.slowestMachines[0];
    const failing = o.failingStates.slice(0, 3);
    clear(el, h('div', { class: 'card-head' }, h('h2', {}, 'Last 24 hours')),
      h('div', { class: 'stats' },
        stat('Started', String(o.total), '', 'total'),
        stat('Running now', String(o.activeNow), 'running', 'running'),
        stat('Succeeded', String(c.SUCCEEDED || 0), 'succeeded', 'succeeded'),
        stat('Failed or timed out', String((c.FAILED || 0) + (c.TIMED_OUT || 0)), 'failed', 'failed'),
        stat('Failure rate', `${(o.failureRate * 100).toFixed(1)} %`, o.failureRate > 0.05 ? 'failed' : '', 'rate'),
        stat('Average duration', slow ? fmtDuration(slow.averageMs) : '—', '', 'average')),
      failing.length
        ? h('p', { class: 'small' }, 'Fails most in: ', failing.map((f, i) => [i ? ', ' : '', h('strong', {}, f.stateName), ` (${f.count}×${f.error ? ` ${f.error}` : ''})`]))
        : null);
  };
  return { el, load: () => load().catch((e) => clear(el, errorBox(e))) };
}

async function listOr(op, body, key) {
  try {
    return (await call(op, body))[key] || [];
  } catch (e) {
    return e;
  }
}

// The list calls name versions and aliases only: their descriptions and an
// alias's routing come from one Describe call each (at most 50 of each).
async function describeAll(items, fn) {
  if (items instanceof Error || !items.length) return items;
  const described = await pool(items, 4, fn);
  return items.map((v, i) => ({ ...v, ...(described[i] instanceof Error ? {} : described[i]) }));
}

function versionsList(versions) {
  if (versions instanceof Error) return h('p', { class: 'muted' }, versions.message);
  if (!versions.length) return h('p', { class: 'muted' }, 'No published versions.');
  return h('ul', { class: 'plain versions' }, versions.map((v) => h('li', { 'data-version': arnName(v.stateMachineVersionArn) },
    h('strong', { class: 'mono' }, `v${arnName(v.stateMachineVersionArn)}`), ' ',
    h('span', { class: 'muted', title: fmtDate(v.creationDate) }, ago(v.creationDate)),
    v.description ? h('div', { class: 'description' }, v.description) : h('div', { class: 'muted small' }, 'No description.'))));
}

function aliasesList(aliases) {
  if (aliases instanceof Error) return h('p', { class: 'muted' }, aliases.message);
  if (!aliases.length) return h('p', { class: 'muted' }, 'No aliases.');
  return h('ul', { class: 'plain aliases' }, aliases.map((a) => h('li', { 'data-alias': arnName(a.stateMachineAliasArn) },
    h('strong', {}, a.name || arnName(a.stateMachineAliasArn)), ' ',
    h('span', { class: 'muted', title: fmtDate(a.creationDate) }, ago(a.creationDate)),
    a.description ? h('div', { class: 'description' }, a.description) : null,
    (a.routingConfiguration || []).map((r) => h('div', { class: 'route' },
      h('span', { class: 'mono' }, `v${arnName(r.stateMachineVersionArn)}`),
      h('span', { class: 'weight-bar' }, h('span', { style: { width: `${Math.max(0, Math.min(100, r.weight))}%` } })),
      h('span', { class: 'weight' }, `${r.weight} %`))))));
}

// EXPRESS machines: ListExecutions refuses them (as on AWS, which sends
// their history to CloudWatch Logs instead), and StartSyncExecution keeps
// no record. What the server does keep are the executions started with
// StartExecution, which the console reads from the store directly.
function expressExecutions(ctx, arn) {
  const body = h('tbody');
  const note = h('p', { class: 'muted small' });
  const load = async () => {
    const res = await fetch(`/console/api/executions?stateMachineArn=${encodeURIComponent(arn)}&maxResults=50`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    clear(body, data.executions.length
      ? data.executions.map((e) => h('tr', {},
        h('td', {}, link(routes.execution(e.executionArn), e.name)),
        h('td', {}, badge(e.status)),
        h('td', { title: fmtDate(e.startDateMs / 1000) }, ago(e.startDateMs / 1000)),
        h('td', {}, fmtDuration((e.stopDateMs ?? Date.now()) - e.startDateMs))))
      : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No asynchronous executions kept.')));
    note.textContent = data.more ? 'The newest 50.' : '';
  };
  ctx.every(5000, load);
  return {
    el: h('section', { class: 'card express-executions' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Executions')),
      h('div', { class: 'info-box' },
        h('strong', {}, 'Express executions are not listed by the API. '),
        'ListExecutions does not support EXPRESS state machines (on AWS their history goes to CloudWatch Logs), and executions run with StartSyncExecution leave no record: their result is the answer to the call. ',
        'Below are the executions started asynchronously (StartExecution) that this server keeps, and the numbers above count them. Start execution can also run one synchronously and show its result.'),
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Started'), h('th', {}, 'Duration'))), body),
      note),
    load,
  };
}

export async function machinePage(ctx, arn) {
  const m = await call('DescribeStateMachine', { stateMachineArn: arn });
  const [versions, aliases] = await Promise.all([
    listOr('ListStateMachineVersions', { stateMachineArn: arn, maxResults: 50 }, 'stateMachineVersions')
      .then((vs) => describeAll(vs, (v) => call('DescribeStateMachine', { stateMachineArn: v.stateMachineVersionArn }).then((d) => ({ description: d.description })))),
    listOr('ListStateMachineAliases', { stateMachineArn: arn, maxResults: 50 }, 'stateMachineAliases')
      .then((as) => describeAll(as, (a) => call('DescribeStateMachineAlias', { stateMachineAliasArn: a.stateMachineAliasArn }))),
  ]);
  const graphBox = h('div');
  const express = m.type === 'EXPRESS';
  const executions = express ? expressExecutions(ctx, arn) : executionsTable(ctx, arn);
  const stats = machineStats(ctx, arn);
  const start = async () => {
    const exec = await startDialog(arn, undefined, { express: m.type === 'EXPRESS' });
    if (exec) location.hash = routes.execution(exec);
  };
  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, link('#/machines', 'State machines'), ' / ', m.name),
    h('div', { class: 'page-head' }, h('h1', {}, m.name), h('span', { class: 'tag' }, m.type), m.status && m.status !== 'ACTIVE' ? badge(m.status) : null,
      h('span', { class: 'spacer' }),
      h('a', { class: 'button', href: routes.edit(arn), dataset: { needs: 'edit' } }, 'Edit definition'),
      h('button', { class: 'primary', onclick: start, dataset: { needs: 'operate' } }, 'Start execution')),
    h('dl', { class: 'facts' },
      h('dt', {}, 'ARN'), h('dd', { class: 'mono' }, m.stateMachineArn),
      h('dt', {}, 'Role'), h('dd', { class: 'mono' }, m.roleArn || '—'),
      h('dt', {}, 'Created'), h('dd', {}, fmtDate(m.creationDate)),
      m.revisionId ? [h('dt', {}, 'Revision'), h('dd', { class: 'mono' }, m.revisionId)] : null),
    h('div', { class: 'split' },
      h('section', { class: 'card grow' }, h('div', { class: 'card-head' }, h('h2', {}, 'Definition')), graphBox),
      h('aside', { class: 'side' },
        h('section', { class: 'card' }, h('h2', {}, 'Versions'), versionsList(versions)),
        h('section', { class: 'card' }, h('h2', {}, 'Aliases'), aliasesList(aliases)),
        m.description ? h('section', { class: 'card' }, h('h2', {}, 'Description'), h('p', {}, m.description)) : null)),
    stats.el,
    executions.el));
  ctx.every(5000, stats.load);
  await Promise.all([
    stats.load(),
    drawGraph(graphBox, m.definition || '{}'),
    Promise.resolve(executions.load(true)).catch((e) => executions.el.append(errorBox(e))),
  ]);
}

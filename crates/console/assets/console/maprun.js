// One map run (a Distributed Map's run of child executions): its progress
// (items succeeded, failed, running, pending), the children's failures
// grouped by error and cause, the children filterable by status (each
// linked to its own page), and UpdateMapRun (MaxConcurrency, tolerated
// failures) while it runs. Refreshes every two seconds while RUNNING.

import { call, pool } from './api.js';
import { h, clear, fmtDate, fmtDuration, toDate, badge, link, routes, arnName, errorBox, toast } from './ui.js';

const STATUSES = ['ALL', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
// How many failed children are read to group their reasons.
const MAX_FAILURES = 200;
const PAGE = 50;

/** The counts bar: one segment per outcome, widths by share of the total. */
function progress(counts) {
  const total = counts.total || 0;
  const parts = [
    ['succeeded', counts.succeeded],
    ['failed', (counts.failed || 0) + (counts.timedOut || 0)],
    ['aborted', counts.aborted],
    ['running', counts.running],
    ['pending', counts.pending],
  ];
  const bar = h('div', { class: 'maprun-bar', role: 'img', 'aria-label': parts.map(([k, n]) => `${n || 0} ${k}`).join(', ') },
    parts.filter(([, n]) => n > 0).map(([k, n]) => h('span', { class: `seg ${k}`, style: { width: `${total ? (100 * n) / total : 0}%` }, title: `${n} ${k}` })));
  const numbers = h('dl', { class: 'maprun-counts' },
    ['succeeded', 'failed', 'timedOut', 'aborted', 'running', 'pending', 'total'].map((k) =>
      h('div', { dataset: { count: k } }, h('dt', {}, k === 'timedOut' ? 'timed out' : k), h('dd', {}, String(counts[k] ?? 0)))));
  return h('div', {}, bar, numbers);
}

/** Groups failed children by error and cause: [{ error, cause, count, examples }]. */
function groupFailures(described) {
  const groups = new Map();
  for (const d of described) {
    if (!d || d instanceof Error) continue;
    const key = `${d.error || ''}\u0000${d.cause || ''}`;
    const g = groups.get(key) || { error: d.error || '(no error name)', cause: d.cause || '', count: 0, examples: [] };
    g.count += 1;
    if (g.examples.length < 3) g.examples.push(d);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

export async function mapRunPage(ctx, arn) {
  let run = await call('DescribeMapRun', { mapRunArn: arn });
  const head = h('div');
  const progressBox = h('section', { class: 'card' });
  const updateBox = h('section', { class: 'card maprun-update' });
  const failuresBox = h('section', { class: 'card maprun-failures' });
  const childrenBox = h('div');
  let status = 'ALL';
  let children = [];
  let nextToken = null;
  let failuresFor = null;

  function renderHead() {
    ctx.setLive(run.status === 'RUNNING');
    const start = toDate(run.startDate)?.getTime();
    const stop = toDate(run.stopDate)?.getTime();
    clear(head,
      h('div', { class: 'crumbs' }, 'Execution ', link(routes.execution(run.executionArn), arnName(run.executionArn)), ' / map run'),
      h('div', { class: 'page-head' }, h('h1', {}, `Map run ${arnName(arn)}`), badge(run.status)),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Started'), h('dd', {}, fmtDate(run.startDate)),
        h('dt', {}, 'Stopped'), h('dd', {}, fmtDate(run.stopDate)),
        h('dt', {}, 'Duration'), h('dd', {}, start ? fmtDuration((stop || Date.now()) - start) : '—'),
        h('dt', {}, 'Max concurrency'), h('dd', { dataset: { fact: 'maxConcurrency' } }, String(run.maxConcurrency)),
        h('dt', {}, 'Tolerated failures'), h('dd', { dataset: { fact: 'tolerated' } }, `${run.toleratedFailureCount} or ${run.toleratedFailurePercentage}%`),
        run.redriveCount ? [h('dt', {}, 'Redriven'), h('dd', {}, `${run.redriveCount}× (last ${fmtDate(run.redriveDate)})`)] : null,
        h('dt', {}, 'Parent'), h('dd', {}, link(routes.execution(run.executionArn), arnName(run.executionArn))),
        h('dt', {}, 'ARN'), h('dd', { class: 'mono small' }, arn)));
  }

  function renderProgress() {
    clear(progressBox,
      h('h2', {}, 'Items'), progress(run.itemCounts || {}),
      h('h2', {}, 'Child executions'), progress(run.executionCounts || {}));
  }

  function renderUpdate() {
    if (run.status !== 'RUNNING') {
      clear(updateBox, h('h2', {}, 'Settings'), h('p', { class: 'muted' }, `The map run is ${run.status}: its settings can no longer change.`));
      return;
    }
    const error = h('div');
    const field = (label, name, value, attrs) => h('label', {}, label, h('input', { type: 'number', name, value: String(value), ...attrs }));
    const form = h('form', {
      class: 'maprun-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const data = new FormData(form);
        const body = { mapRunArn: arn };
        const num = (k) => (data.get(k) === '' ? undefined : Number(data.get(k)));
        if (num('maxConcurrency') !== run.maxConcurrency) body.maxConcurrency = num('maxConcurrency');
        if (num('toleratedFailureCount') !== run.toleratedFailureCount) body.toleratedFailureCount = num('toleratedFailureCount');
        if (num('toleratedFailurePercentage') !== run.toleratedFailurePercentage) body.toleratedFailurePercentage = num('toleratedFailurePercentage');
        clear(error);
        try {
          await call('UpdateMapRun', body);
          toast('Map run updated', 'ok');
          run = await call('DescribeMapRun', { mapRunArn: arn });
          renderHead();
        } catch (e) {
          clear(error, errorBox(e));
        }
      },
    },
    field('Max concurrency', 'maxConcurrency', run.maxConcurrency, { min: 0, step: 1 }),
    field('Tolerated failure count', 'toleratedFailureCount', run.toleratedFailureCount, { min: 0, step: 1 }),
    field('Tolerated failure %', 'toleratedFailurePercentage', run.toleratedFailurePercentage, { min: 0, max: 100, step: 'any' }),
    h('button', { class: 'primary', type: 'submit', dataset: { needs: 'edit', action: 'update-map-run' } }, 'Update'));
    clear(updateBox, h('h2', {}, 'Settings'), form, error);
  }

  /** Reads the failed children (up to MAX_FAILURES) and groups their reasons. */
  async function renderFailures() {
    const failed = (run.executionCounts?.failed || 0) + (run.executionCounts?.timedOut || 0) + (run.executionCounts?.aborted || 0);
    if (failuresFor === failed) return;
    failuresFor = failed;
    if (!failed) {
      clear(failuresBox, h('h2', {}, 'Failures'), h('p', { class: 'muted' }, 'No child execution has failed.'));
      return;
    }
    const arns = [];
    for (const statusFilter of ['FAILED', 'TIMED_OUT', 'ABORTED']) {
      let token;
      do {
        const page = await call('ListExecutions', { mapRunArn: arn, statusFilter, maxResults: 100, nextToken: token });
        arns.push(...(page.executions || []).map((e) => e.executionArn));
        token = page.nextToken;
      } while (token && arns.length < MAX_FAILURES);
    }
    const described = await pool(arns.slice(0, MAX_FAILURES), 8, (a) => call('DescribeExecution', { executionArn: a }));
    if (!ctx.alive) return;
    const groups = groupFailures(described);
    clear(failuresBox, h('h2', {}, 'Failures'),
      arns.length > MAX_FAILURES ? h('p', { class: 'muted' }, `Grouped from the first ${MAX_FAILURES} failed children.`) : null,
      h('table', { class: 'grid failure-groups' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Error'), h('th', {}, 'Cause'), h('th', { class: 'num' }, 'Children'), h('th', {}, 'For example'))),
        h('tbody', {}, groups.map((g) => h('tr', { dataset: { error: g.error } },
          h('td', { class: 'mono' }, g.error),
          h('td', { class: 'summary', title: g.cause }, g.cause || '—'),
          h('td', { class: 'num' }, String(g.count)),
          h('td', {}, g.examples.map((d, i) => [i ? ', ' : '', link(routes.execution(d.executionArn), d.name)])))))));
  }

  async function loadChildren(more = false) {
    const page = await call('ListExecutions', {
      mapRunArn: arn,
      maxResults: PAGE,
      statusFilter: status === 'ALL' ? undefined : status,
      nextToken: more ? nextToken : undefined,
    });
    children = more ? children.concat(page.executions || []) : (page.executions || []);
    nextToken = page.nextToken || null;
    renderChildren();
  }

  function renderChildren() {
    const filters = h('div', { class: 'row filters' }, STATUSES.map((s) => h('button', {
      class: `small child-filter${s === status ? ' active' : ''}`,
      dataset: { status: s },
      onclick: () => { status = s; loadChildren().catch((e) => clear(childrenBox, errorBox(e))); },
    }, s === 'ALL' ? 'all' : s.toLowerCase().replace('_', ' '))));
    clear(childrenBox, h('div', { class: 'card-head' }, h('h2', {}, 'Child executions'), h('span', { class: 'spacer' }), filters),
      children.length
        ? h('table', { class: 'grid compact children' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Started'), h('th', {}, 'Stopped'))),
          h('tbody', {}, children.map((e) => h('tr', { dataset: { status: e.status } },
            h('td', {}, link(routes.execution(e.executionArn), e.name)),
            h('td', {}, badge(e.status)),
            h('td', {}, fmtDate(e.startDate)),
            h('td', {}, fmtDate(e.stopDate))))))
        : h('p', { class: 'muted' }, status === 'ALL' ? 'No child execution yet.' : `No ${status.toLowerCase()} child execution.`),
      nextToken ? h('button', { class: 'small', onclick: () => loadChildren(true).catch((e) => clear(childrenBox, errorBox(e))) }, 'Load more') : null);
  }

  renderHead();
  renderProgress();
  renderUpdate();
  clear(ctx.main, h('div', { class: 'pad maprun' }, head,
    h('div', { class: 'two' }, progressBox, updateBox),
    failuresBox,
    h('section', { class: 'card' }, childrenBox)));
  clear(failuresBox, h('h2', {}, 'Failures'), h('p', { class: 'muted' }, 'Reading the failed children…'));
  await Promise.all([loadChildren(), renderFailures().catch((e) => clear(failuresBox, errorBox(e)))]);

  if (run.status === 'RUNNING') {
    const stop = ctx.every(2000, async () => {
      const was = run.status;
      run = await call('DescribeMapRun', { mapRunArn: arn });
      if (!ctx.alive) return;
      renderHead();
      renderProgress();
      if (was !== run.status) renderUpdate();
      await loadChildren();
      await renderFailures();
      if (run.status !== 'RUNNING') {
        stop();
        ctx.setLive(false);
      }
    });
  }
}

// The overview: executions by status over a time window, what is running
// now, the failure rate, the states that fail most and the slowest state
// machines. The numbers are computed by the server on the store's indexes
// (GET /console/api/overview) and pushed again whenever they change (SSE on
// /console/api/overview/stream); polling is the fallback.

import { call, collect, pool, follow, overview, overviewStreamUrl } from './api.js';
import { h, clear, fmtDuration, toDate, link, routes, arnName, errorBox } from './ui.js';

const ORDER = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
const WINDOWS = [['3600', 'Last hour'], ['86400', 'Last 24 hours'], ['604800', 'Last 7 days']];
// "Running now" lists the running executions of at most this many machines
// (one ListExecutions call each, RUNNING only); the count above is exact.
const RUNNING_MACHINES = 20;

function stat(label, value, cls = '', key = '') {
  return h('div', { class: `stat ${cls}`, 'data-stat': key },
    h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

function sum(counts) {
  return ORDER.reduce((a, s) => a + (counts[s] || 0), 0);
}

function fmtBucket(ms, width) {
  const d = new Date(ms);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return width >= 86400000 ? d.toLocaleDateString() : width >= 3600000 ? `${d.toLocaleDateString()} ${hm}` : hm;
}

function timelineChart(o) {
  const max = Math.max(1, ...o.timeline.map((b) => sum(b.counts)));
  return h('div', { class: 'chart' },
    h('div', { class: 'bars' }, o.timeline.map((b) => {
      const total = sum(b.counts);
      const lines = ORDER.filter((s) => b.counts[s]).map((s) => `\n${s}: ${b.counts[s]}`).join('');
      return h('div', { class: 'bar', title: `${fmtBucket(b.startMs, o.bucketMs)} · ${total} executions${lines}` },
        ORDER.filter((s) => b.counts[s]).map((s) => h('div', { class: `seg ${s.toLowerCase()}`, style: { height: `${(b.counts[s] / max) * 100}%` } })));
    })),
    h('div', { class: 'bars-axis' },
      h('span', {}, fmtBucket(o.sinceMs, o.bucketMs)), h('span', {}, 'now')));
}

async function runningNow() {
  const { items: machines } = await collect('ListStateMachines', {}, 'stateMachines', RUNNING_MACHINES);
  const lists = await pool(machines, 4, (m) => call('ListExecutions', { stateMachineArn: m.stateMachineArn, statusFilter: 'RUNNING', maxResults: 20 }));
  const out = [];
  lists.forEach((l, i) => {
    if (l instanceof Error) return;
    for (const e of l.executions || []) out.push({ ...e, machineName: machines[i].name });
  });
  return out.sort((a, b) => (toDate(a.startDate)?.getTime() || 0) - (toDate(b.startDate)?.getTime() || 0));
}

function view(o, running, windowSel) {
  const c = o.counts;
  const failed = (c.FAILED || 0) + (c.TIMED_OUT || 0);
  const rate = o.failureRate * 100;
  return h('div', { class: 'stack' },
    h('div', { class: 'stats' },
      stat('Running now', String(o.activeNow), 'running', 'running'),
      stat('Started', String(o.total), '', 'total'),
      stat('Succeeded', String(c.SUCCEEDED || 0), 'succeeded', 'succeeded'),
      stat('Failed or timed out', String(failed), 'failed', 'failed'),
      stat('Aborted', String(c.ABORTED || 0), 'aborted', 'aborted'),
      stat('Failure rate', `${rate.toFixed(1)} %`, rate > 5 ? 'failed' : '', 'rate')),
    h('div', { class: 'split' },
      h('section', { class: 'card grow' },
        h('div', { class: 'card-head' }, h('h2', {}, 'Executions started'), h('span', { class: 'spacer' }), windowSel),
        timelineChart(o),
        h('div', { class: 'legend' }, ORDER.slice(0, 5).map((s) => h('span', { class: `legend-item status-${s.toLowerCase()}` }, h('i'), s)))),
      h('section', { class: 'card side' }, h('h2', {}, 'States that fail most'),
        o.failingStates.length
          ? h('table', { class: 'grid compact failing' }, h('tbody', {}, o.failingStates.map((f) => h('tr', {},
            h('td', {}, link(routes.machine(f.stateMachineArn), arnName(f.stateMachineArn)), ' › ', h('strong', {}, f.stateName),
              f.error ? h('div', { class: 'muted small' }, f.error) : null),
            h('td', { class: 'num' }, `${f.count}×`)))))
          : h('p', { class: 'muted' }, 'No failures in this window.'))),
    h('div', { class: 'split' },
      h('section', { class: 'card grow' }, h('h2', {}, 'Running now'),
        running.length
          ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Execution'), h('th', {}, 'State machine'), h('th', {}, 'Running for'))),
            h('tbody', {}, running.slice(0, 50).map((e) => h('tr', {},
              h('td', {}, link(routes.execution(e.executionArn), e.name)),
              h('td', {}, link(routes.machine(e.stateMachineArn), e.machineName)),
              h('td', {}, fmtDuration(Date.now() - toDate(e.startDate).getTime()))))))
          : h('p', { class: 'muted' }, o.activeNow ? `${o.activeNow} running (of other state machines).` : 'Nothing is running.')),
      h('section', { class: 'card side' }, h('h2', {}, 'Slowest state machines'),
        o.slowestMachines.length
          ? h('table', { class: 'grid compact slowest' }, h('thead', {}, h('tr', {}, h('th', {}, 'Machine'), h('th', {}, 'Average'), h('th', {}, 'Longest'))),
            h('tbody', {}, o.slowestMachines.map((s) => h('tr', { title: `${s.executions} executions ended` },
              h('td', {}, link(routes.machine(s.stateMachineArn), arnName(s.stateMachineArn))),
              h('td', { class: 'num' }, fmtDuration(s.averageMs)), h('td', { class: 'num' }, fmtDuration(s.maxMs))))))
          : h('p', { class: 'muted' }, 'No finished executions in this window.'))),
    h('p', { class: 'muted small' }, 'Counts cover every execution started in the window; the failing states are read from the newest 500 failures.'));
}

export async function overviewPage(ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Reading the numbers…'));
  clear(ctx.main, h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Overview')), body));

  let windowSeconds = sessionStorage.getItem('overview.window') || '86400';
  let numbers = null;
  let running = [];
  let closeStream = null;
  let polling = null;

  const windowSel = () => {
    const sel = h('select', { 'aria-label': 'Time window', onchange: () => {
      windowSeconds = sel.value;
      sessionStorage.setItem('overview.window', windowSeconds);
      connect();
    } }, WINDOWS.map(([v, label]) => h('option', { value: v, selected: v === windowSeconds }, label)));
    return sel;
  };

  const render = () => {
    if (ctx.alive && numbers) clear(body, view(numbers, running, windowSel()));
  };

  const show = async (o) => {
    numbers = o;
    // The list of running executions changes with the count: read it again
    // only then.
    running = o.activeNow ? await runningNow().catch(() => running) : [];
    render();
  };

  const poll = async () => {
    try {
      await show(await overview({ window: windowSeconds }));
    } catch (e) {
      if (ctx.alive) clear(body, errorBox(e, poll));
    }
  };

  function connect() {
    closeStream?.();
    // The first numbers come by a plain request so the page never waits on
    // the stream; the stream then pushes each change.
    poll();
    closeStream = follow(overviewStreamUrl({ window: windowSeconds }), {
      overview: (o) => { show(o); },
    }, () => {
      closeStream = null;
      document.body.dataset.live = 'poll';
      if (!polling) polling = ctx.every(10000, poll);
    });
    document.body.dataset.live = 'sse';
    ctx.setLive(true);
  }

  ctx.onLeave(() => closeStream?.());
  connect();
}

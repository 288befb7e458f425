// The overview: what is running now, how executions ended over the last 24
// hours, the failure rate, the states that fail most and the slowest
// machines. Computed from List* calls on a bounded sample (the latest
// executions of each machine) until the server offers aggregates; the page
// says what the numbers cover.

import { call, collect, pool } from './api.js';
import { h, clear, fmtDuration, toDate, badge, link, routes, ago, errorBox } from './ui.js';
import { analyse } from './history.js';

const MACHINES = 50;
const PER_MACHINE = 100;
const FAILURES_ANALYSED = 15;
const ORDER = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];

// Why an execution failed never changes: read its history once per page view.
const failureCache = new Map();

async function failingState(arn) {
  if (failureCache.has(arn)) return failureCache.get(arn);
  const page = await call('GetExecutionHistory', { executionArn: arn, reverseOrder: true, maxResults: 40 });
  const events = (page.events || []).slice().reverse();
  const r = analyse(events, 'FAILED');
  const failed = [...r.entries].reverse().find((e) => e.status === 'failed');
  const last = events[events.length - 1];
  const d = last?.executionFailedEventDetails || last?.executionTimedOutEventDetails || last?.executionAbortedEventDetails || {};
  const out = { state: failed?.name || r.entries[r.entries.length - 1]?.name || '(unknown)', error: d.error || '', cause: d.cause || '' };
  failureCache.set(arn, out);
  return out;
}

function stat(label, value, cls = '') {
  return h('div', { class: `stat ${cls}` }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

function hourlyChart(executions) {
  const now = Date.now();
  const hour = 3600 * 1000;
  const start = Math.floor(now / hour) * hour - 23 * hour;
  const buckets = Array.from({ length: 24 }, () => ({}));
  for (const e of executions) {
    const t = toDate(e.startDate)?.getTime();
    if (t === undefined || t < start) continue;
    const i = Math.min(23, Math.floor((t - start) / hour));
    buckets[i][e.status] = (buckets[i][e.status] || 0) + 1;
  }
  const max = Math.max(1, ...buckets.map((b) => Object.values(b).reduce((a, c) => a + c, 0)));
  return h('div', { class: 'chart' },
    h('div', { class: 'bars' }, buckets.map((b, i) => {
      const label = new Date(start + i * hour).getHours();
      const total = Object.values(b).reduce((a, c) => a + c, 0);
      return h('div', { class: 'bar', title: `${String(label).padStart(2, '0')}:00 · ${total} executions${Object.entries(b).map(([s, n]) => `\n${s}: ${n}`).join('')}` },
        ORDER.filter((s) => b[s]).map((s) => h('div', { class: `seg ${s.toLowerCase()}`, style: { height: `${(b[s] / max) * 100}%` } })));
    })),
    h('div', { class: 'bars-axis' }, h('span', {}, '24 h ago'), h('span', {}, '12 h'), h('span', {}, 'now')));
}

export async function overviewPage(ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Reading executions…'));
  clear(ctx.main, h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Overview')), body));

  const load = async () => {
    const { items: machines, more } = await collect('ListStateMachines', {}, 'stateMachines', 200);
    const sample = machines.slice(0, MACHINES);
    const lists = await pool(sample, 6, (m) => call('ListExecutions', { stateMachineArn: m.stateMachineArn, maxResults: PER_MACHINE }));
    const executions = [];
    const perMachine = new Map();
    lists.forEach((l, i) => {
      const list = l instanceof Error ? [] : l.executions || [];
      perMachine.set(sample[i].stateMachineArn, { machine: sample[i], list });
      executions.push(...list.map((e) => ({ ...e, machineName: sample[i].name })));
    });

    const count = {};
    for (const e of executions) count[e.status] = (count[e.status] || 0) + 1;
    const finished = executions.filter((e) => e.status !== 'RUNNING' && e.status !== 'PENDING_REDRIVE').length;
    const failedN = (count.FAILED || 0) + (count.TIMED_OUT || 0);
    const rate = finished ? (failedN / finished) * 100 : 0;
    const running = executions.filter((e) => e.status === 'RUNNING')
      .sort((a, b) => (toDate(a.startDate)?.getTime() || 0) - (toDate(b.startDate)?.getTime() || 0));

    const slow = [];
    for (const { machine, list } of perMachine.values()) {
      const durations = list.filter((e) => e.status === 'SUCCEEDED' && e.stopDate)
        .map((e) => toDate(e.stopDate).getTime() - toDate(e.startDate).getTime()).sort((a, b) => a - b);
      if (!durations.length) continue;
      const avg = durations.reduce((a, c) => a + c, 0) / durations.length;
      const p95 = durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.95))];
      slow.push({ machine, avg, p95, n: durations.length });
    }
    slow.sort((a, b) => b.avg - a.avg);

    const failedRecent = executions.filter((e) => e.status === 'FAILED' || e.status === 'TIMED_OUT')
      .sort((a, b) => (toDate(b.startDate)?.getTime() || 0) - (toDate(a.startDate)?.getTime() || 0))
      .slice(0, FAILURES_ANALYSED);
    const reasons = await pool(failedRecent, 4, (e) => failingState(e.executionArn));
    const failing = new Map();
    failedRecent.forEach((e, i) => {
      const r = reasons[i];
      if (r instanceof Error) return;
      const key = `${e.machineName}\u0000${r.state}`;
      const f = failing.get(key) || { machine: e.machineName, machineArn: e.stateMachineArn, state: r.state, n: 0, error: r.error };
      f.n += 1;
      failing.set(key, f);
    });

    return h('div', { class: 'stack' },
      h('div', { class: 'stats' },
        stat('Running now', String(count.RUNNING || 0), 'running'),
        stat('Succeeded', String(count.SUCCEEDED || 0), 'succeeded'),
        stat('Failed or timed out', String(failedN), 'failed'),
        stat('Aborted', String(count.ABORTED || 0), 'aborted'),
        stat('Failure rate', `${rate.toFixed(1)} %`, rate > 5 ? 'failed' : ''),
        stat('State machines', `${machines.length}${more ? '+' : ''}`)),
      h('div', { class: 'split' },
        h('section', { class: 'card grow' }, h('h2', {}, 'Executions started, last 24 hours'), hourlyChart(executions),
          h('div', { class: 'legend' }, ORDER.slice(0, 5).map((s) => h('span', { class: `legend-item status-${s.toLowerCase()}` }, h('i'), s)))),
        h('section', { class: 'card side' }, h('h2', {}, 'States that fail most'),
          failing.size
            ? h('table', { class: 'grid compact' }, h('tbody', {}, [...failing.values()].sort((a, b) => b.n - a.n).slice(0, 8).map((f) => h('tr', {},
              h('td', {}, link(routes.machine(f.machineArn), f.machine), ' › ', h('strong', {}, f.state), f.error ? h('div', { class: 'muted small' }, f.error) : null),
              h('td', { class: 'num' }, `${f.n}×`)))))
            : h('p', { class: 'muted' }, 'No recent failures.'))),
      h('div', { class: 'split' },
        h('section', { class: 'card grow' }, h('h2', {}, 'Running now'),
          running.length
            ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Execution'), h('th', {}, 'State machine'), h('th', {}, 'Running for'))),
              h('tbody', {}, running.slice(0, 50).map((e) => h('tr', {},
                h('td', {}, link(routes.execution(e.executionArn), e.name)),
                h('td', {}, link(routes.machine(e.stateMachineArn), e.machineName)),
                h('td', {}, fmtDuration(Date.now() - toDate(e.startDate).getTime()))))))
            : h('p', { class: 'muted' }, 'Nothing is running.')),
        h('section', { class: 'card side' }, h('h2', {}, 'Slowest state machines'),
          slow.length
            ? h('table', { class: 'grid compact' }, h('thead', {}, h('tr', {}, h('th', {}, 'Machine'), h('th', {}, 'Average'), h('th', {}, 'p95'))),
              h('tbody', {}, slow.slice(0, 8).map((s) => h('tr', {},
                h('td', {}, link(routes.machine(s.machine.stateMachineArn), s.machine.name)),
                h('td', { class: 'num' }, fmtDuration(s.avg)), h('td', { class: 'num' }, fmtDuration(s.p95))))))
            : h('p', { class: 'muted' }, 'No finished executions yet.'))),
      h('section', { class: 'card' }, h('h2', {}, 'Recent failures'),
        failedRecent.length
          ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Execution'), h('th', {}, 'Status'), h('th', {}, 'State machine'), h('th', {}, 'Failed in'), h('th', {}, 'Error'), h('th', {}, 'Started'))),
            h('tbody', {}, failedRecent.map((e, i) => h('tr', {},
              h('td', {}, link(routes.execution(e.executionArn), e.name)),
              h('td', {}, badge(e.status)),
              h('td', {}, link(routes.machine(e.stateMachineArn), e.machineName)),
              h('td', {}, reasons[i] instanceof Error ? '—' : reasons[i].state),
              h('td', { class: 'summary' }, reasons[i] instanceof Error ? '' : reasons[i].error),
              h('td', {}, ago(e.startDate))))))
          : h('p', { class: 'muted' }, 'No recent failures.')),
      h('p', { class: 'muted small' }, sample.length === machines.length
        ? `Based on the latest ${PER_MACHINE} executions of each state machine.`
        : `Based on the latest ${PER_MACHINE} executions of the first ${sample.length} state machines.`));
  };

  const refresh = async () => {
    try {
      const view = await load();
      if (ctx.alive) clear(body, view);
    } catch (e) {
      if (ctx.alive) clear(body, errorBox(e, refresh));
    }
  };
  await refresh();
  // Every machine is listed again on each refresh: keep the pace gentle.
  ctx.every(10000, refresh);
}

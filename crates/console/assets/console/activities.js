// Activities: every activity with its pending tasks (waiting for a worker,
// or started by one), the workers holding them and the workers polling for
// more, read from the console's
// /console/api/activity-tasks endpoint. Click an activity to list its tasks
// with links to their executions. Above them, the flow-limit queues
// ([limits.integrations]): each limit with its running and queued tasks and
// how long the oldest has waited, from /console/api/queues.

import { collect, pool } from './api.js';
import { h, clear, fmtDate, fmtDuration, ago, link, routes, arnName, errorBox } from './ui.js';

// Tasks are read for at most this many activities per refresh.
const DETAILED = 100;

async function activityTasks(arn) {
  const res = await fetch(`/console/api/activity-tasks?activityArn=${encodeURIComponent(arn)}`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

async function flowQueues() {
  const res = await fetch('/console/api/queues');
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

function limitText(q) {
  const parts = [];
  if (q.maxConcurrent != null) parts.push(`${q.maxConcurrent} at once`);
  if (q.ratePerSecond != null) parts.push(`${q.ratePerSecond}/s per node (burst ${q.burst})`);
  return parts.length ? parts.join(', ') : 'no longer configured';
}

function queuesTable(body) {
  const queues = body.queues || [];
  if (!queues.length) {
    return h('p', { class: 'muted' }, 'No flow limits are configured ([limits.integrations] in the server\'s config).');
  }
  return h('table', { class: 'grid queues' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Resource'), h('th', {}, 'Limit'), h('th', {}, 'Running'), h('th', {}, 'Queued'), h('th', {}, 'Oldest waiting'))),
    h('tbody', {}, queues.map((q) => h('tr', { class: 'queue', 'data-queue': q.resource },
      h('td', { class: 'mono' }, q.resource),
      h('td', { 'data-col': 'limit' }, limitText(q)),
      h('td', { class: 'num', 'data-col': 'running' }, String(q.running)),
      h('td', { class: 'num', 'data-col': 'queued' }, String(q.queued)),
      h('td', { 'data-col': 'oldest' }, q.oldestQueuedMs != null
        ? h('span', { title: new Date(q.oldestQueuedMs).toLocaleString() }, `${fmtDuration(Math.max(0, body.nowMs - q.oldestQueuedMs))}`)
        : h('span', { class: 'muted' }, '—'))))));
}

function workersCell(t) {
  if (!t || t instanceof Error) return '—';
  if (!t.workers.length) return h('span', { class: 'muted' }, 'none');
  return t.workers.map((w) => h('span', { class: 'filter-chip worker', title: `holds ${w.tasks} task(s)` }, `${w.name} · ${w.tasks}`));
}

function pollingCell(t) {
  if (!t || t instanceof Error) return '—';
  const polling = t.polling || [];
  if (!polling.length) return h('span', { class: 'muted' }, 'none');
  return polling.map((p) => h('span', { class: 'filter-chip worker polling', title: `waiting in GetActivityTask since ${new Date(p.sinceMs).toLocaleTimeString()}` }, p.name || '(unnamed)'));
}

// The deadline that ends the task unless a worker acts: its heartbeat
// (HeartbeatSeconds, counted from when a worker took it or last sent a
// heartbeat) or its timeout (TimeoutSeconds, from when it was scheduled),
// whichever comes first. (The store's lease only keeps other workers off a
// started task; it decides nothing and is not shown.)
function deadlineCell(x) {
  const limits = [x.heartbeatSeconds ? `HeartbeatSeconds ${x.heartbeatSeconds}` : null, x.timeoutSeconds ? `TimeoutSeconds ${x.timeoutSeconds}` : null].filter(Boolean).join(', ');
  if (!x.deadline) {
    return h('td', { class: 'deadline', title: limits || 'No TimeoutSeconds or HeartbeatSeconds' }, h('span', { class: 'muted' }, limits ? '—' : 'none'));
  }
  const at = x.deadline.atMs;
  const left = at - Date.now();
  return h('td', { class: 'deadline', title: limits },
    fmtDate(at / 1000), ' ',
    h('span', { class: 'tag' }, x.deadline.kind === 'heartbeat' ? 'heartbeat' : 'timeout'), ' ',
    h('span', { class: left < 0 ? 'bad' : 'muted' }, left < 0 ? 'due now' : `in ${fmtDuration(left)}`));
}

function tasksTable(t) {
  if (!t.tasks.length) return h('p', { class: 'muted' }, 'No pending tasks.');
  return h('table', { class: 'grid compact tasks' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Execution'), h('th', {}, 'Task'), h('th', {}, 'State'), h('th', {}, 'Worker'), h('th', {}, 'Deadline'))),
    h('tbody', {}, t.tasks.map((x) => h('tr', {},
      h('td', {}, link(routes.execution(x.executionArn), arnName(x.executionArn))),
      h('td', { class: 'num' }, String(x.taskId)),
      h('td', {}, x.worker ? h('span', { class: 'badge running' }, 'STARTED') : h('span', { class: 'badge' }, 'WAITING')),
      h('td', {}, x.worker || '—'),
      deadlineCell(x)))),
    t.truncated ? h('caption', {}, `Showing the oldest ${t.tasks.length} tasks.`) : null);
}

export async function activitiesPage(ctx) {
  const open = new Set();
  const load = async () => {
    const { items, more } = await collect('ListActivities', {}, 'activities', 1000);
    const detailed = items.slice(0, DETAILED);
    const tasks = await pool(detailed, 4, (a) => activityTasks(a.activityArn));
    const rows = [];
    items.forEach((a, i) => {
      const t = tasks[i];
      const ok = t && !(t instanceof Error);
      rows.push(h('tr', {
        class: `activity${open.has(a.activityArn) ? ' open' : ''}`,
        'data-activity': a.name,
        onclick: () => {
          if (open.has(a.activityArn)) open.delete(a.activityArn); else open.add(a.activityArn);
          refresh();
        },
      },
      h('td', {}, h('strong', {}, a.name), h('div', { class: 'mono small muted' }, a.activityArn)),
      h('td', { class: 'num', 'data-col': 'waiting' }, ok ? String(t.waiting) : '—'),
      h('td', { class: 'num', 'data-col': 'started' }, ok ? String(t.started) : '—'),
      h('td', {}, workersCell(t)),
      h('td', { 'data-col': 'polling' }, pollingCell(t)),
      h('td', { title: fmtDate(a.creationDate) }, ago(a.creationDate))));
      if (ok && open.has(a.activityArn)) rows.push(h('tr', { class: 'activity-tasks' }, h('td', { colspan: 6 }, tasksTable(t))));
    });
    return h('table', { class: 'grid activities' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Activity'), h('th', {}, 'Waiting'), h('th', {}, 'Started'), h('th', {}, 'Workers holding tasks'), h('th', {}, 'Workers polling'), h('th', {}, 'Created'))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No activities.'))),
      more ? h('caption', {}, 'Showing the first 1000 activities.') : null);
  };
  const box = h('div', {}, h('p', { class: 'muted' }, 'Reading activities…'));
  const queuesBox = h('div', {}, h('p', { class: 'muted' }, 'Reading queues…'));
  async function refresh() {
    try {
      const view = queuesTable(await flowQueues());
      if (ctx.alive) clear(queuesBox, view);
    } catch (e) {
      if (ctx.alive) clear(queuesBox, errorBox(e, refresh));
    }
    try {
      const view = await load();
      if (ctx.alive) clear(box, view);
    } catch (e) {
      if (ctx.alive) clear(box, errorBox(e, refresh));
    }
  }
  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Activities')),
    h('p', { class: 'muted' }, 'Workers take tasks with GetActivityTask and answer with SendTaskSuccess or SendTaskFailure; a task is started while its worker holds it. Click an activity for its tasks.'),
    h('section', { class: 'card' }, box),
    h('h2', {}, 'Flow-limit queues'),
    h('p', { class: 'muted' }, 'Tasks held back by a [limits.integrations] limit wait here, fair across executions; they start (TaskStarted) when a slot is free.'),
    h('section', { class: 'card flow-queues' }, queuesBox)));
  await refresh();
  ctx.every(3000, refresh);
}

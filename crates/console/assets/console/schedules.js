// Schedules: every EventBridge Scheduler schedule the server runs (its
// expression, time zone, next run and its last runs with their status),
// read from the server's Scheduler API (GET /schedules…), with a button to
// pause (State DISABLED) or resume (ENABLED) each one.

import { call, csrfHeaders, ApiError } from './api.js';
import { h, clear, fmtDate, badge, link, routes, arnName, errorBox, toast } from './ui.js';

// Last runs shown per schedule.
const RUNS = 5;

async function scheduler(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...csrfHeaders() },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { Message: text };
  }
  if (!res.ok) throw new ApiError(res.headers.get('x-amzn-errortype') || `HTTP ${res.status}`, data.Message || data.message, res.status);
  return data;
}

const schedulePath = (s) => `/schedules/${encodeURIComponent(s.Name)}?groupName=${encodeURIComponent(s.GroupName)}`;

// Executions of a schedule are named <name, '.'→'-', 40 chars>-<yyyymmddThhmmssZ>-<8 hex>.
function runsOf(schedule, executions) {
  const short = schedule.Name.replace(/\./g, '-').slice(0, 40);
  const re = /-\d{8}T\d{6}Z-[0-9a-f]{8}$/;
  return executions.filter((e) => e.name.startsWith(`${short}-`) && re.test(e.name.slice(short.length))).slice(0, RUNS);
}

// The state machine a target ARN (machine, version or alias) belongs to.
const machineOf = (arn) => arn.split(':').slice(0, 7).join(':');

async function toggle(s, refresh) {
  const body = {
    GroupName: s.GroupName,
    ScheduleExpression: s.ScheduleExpression,
    ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
    FlexibleTimeWindow: s.FlexibleTimeWindow,
    Target: s.Target,
    ActionAfterCompletion: s.ActionAfterCompletion,
    State: s.State === 'ENABLED' ? 'DISABLED' : 'ENABLED',
  };
  for (const k of ['Description', 'StartDate', 'EndDate', 'KmsKeyArn']) if (s[k] !== undefined) body[k] = s[k];
  try {
    await scheduler('PUT', `/schedules/${encodeURIComponent(s.Name)}`, body);
    toast(`${s.Name} ${body.State === 'ENABLED' ? 'resumed' : 'paused'}`);
  } catch (e) {
    toast(`${s.Name}: ${e.message}`, 'error');
  }
  await refresh();
}

function row(s, runs, refresh) {
  const enabled = s.State === 'ENABLED';
  return h('tr', { 'data-schedule': s.Name },
    h('td', {}, h('strong', {}, s.Name), h('div', { class: 'mono small muted' }, s.GroupName === 'default' ? '' : `group ${s.GroupName}`)),
    h('td', { class: 'mono small' }, s.ScheduleExpression, h('div', { class: 'muted' }, s.ScheduleExpressionTimezone)),
    h('td', {}, link(routes.machine(machineOf(s.Target.Arn)), arnName(s.Target.Arn))),
    h('td', { 'data-col': 'state' }, h('span', { class: `badge ${enabled ? 'running' : ''}` }, s.State)),
    h('td', { 'data-col': 'next' }, enabled && s.NextInvocation ? fmtDate(s.NextInvocation) : h('span', { class: 'muted' }, '—')),
    h('td', { 'data-col': 'runs' }, runs instanceof Error ? '—' : runs.length
      ? runs.map((e) => h('div', { class: 'run' }, badge(e.status), ' ', link(routes.execution(e.executionArn), fmtDate(e.startDate))))
      : h('span', { class: 'muted' }, 'none yet')),
    h('td', {}, h('button', { type: 'button', class: 'small', 'data-needs': 'edit', 'data-action': enabled ? 'pause' : 'resume', onclick: () => toggle(s, refresh) }, enabled ? 'Pause' : 'Resume')));
}

export async function schedulesPage(ctx) {
  const box = h('div', {}, h('p', { class: 'muted' }, 'Reading schedules…'));
  async function load() {
    const list = await scheduler('GET', '/schedules?MaxResults=100');
    const schedules = await Promise.all(list.Schedules.map((s) => scheduler('GET', schedulePath(s))));
    // One ListExecutions per target state machine, shared by its schedules.
    const byMachine = new Map();
    for (const s of schedules) {
      const m = machineOf(s.Target.Arn);
      if (!byMachine.has(m)) {
        byMachine.set(m, call('ListExecutions', { stateMachineArn: m, maxResults: 200 }).then((r) => r.executions, (e) => e));
      }
    }
    const rows = [];
    for (const s of schedules) {
      const ex = await byMachine.get(machineOf(s.Target.Arn));
      rows.push(row(s, ex instanceof Error ? ex : runsOf(s, ex), refresh));
    }
    return h('table', { class: 'grid schedules' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Schedule'), h('th', {}, 'Expression'), h('th', {}, 'Target'), h('th', {}, 'State'), h('th', {}, 'Next run'), h('th', {}, 'Last runs'), h('th', {}, ''))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No schedules. Create one with the EventBridge Scheduler API (boto3\'s "scheduler" client, aws scheduler create-schedule).'))),
      list.NextToken ? h('caption', {}, 'Showing the first 100 schedules.') : null);
  }
  async function refresh() {
    try {
      const view = await load();
      if (ctx.alive) clear(box, view);
    } catch (e) {
      if (ctx.alive) clear(box, errorBox(e, refresh));
    }
  }
  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Schedules')),
    h('p', { class: 'muted' }, 'Each due time starts one execution of the target, named after the schedule and the time. Paused schedules skip the times that pass while paused.'),
    h('section', { class: 'card' }, box)));
  await refresh();
  ctx.every(5000, refresh);
}

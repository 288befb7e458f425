// One execution: the graph coloured by what happened to each state, the
// selected state's details, the history with filters, a Gantt timeline, Map
// iterations, and the actions (stop, redrive, run again). While it runs, the
// page reads only the new events every second (newest first, stopping at the
// last event it has) and updates in place.

import { call, operate, follow, historyStreamUrl } from './api.js';
import { h, clear, fmtDate, fmtDuration, toDate, badge, link, routes, arnName, codeBlock, pretty, modal, toast, errorBox, jsonEditor, copyButton } from './ui.js';
import { drawGraph, legend } from './graph.js';
import { analyse, inIteration, details, toMillis, loadFirst } from './history.js';
import { startDialog } from './machines.js';

// The most events the page holds: AWS's history quota. A history past it
// (`[limits] history_events` raised) is shown up to here and read no
// further, so a page never loads a million events.
const MAX_EVENTS = 25000;
const MAX_ROWS = 2000;

/** The first MAX_EVENTS events, a page at a time; `truncated` when more exist. */
function loadAll(arn) {
  return loadFirst((nextToken) => call('GetExecutionHistory', { executionArn: arn, maxResults: 1000, nextToken }), MAX_EVENTS);
}

/** Events newer than the ones we have, read newest first. */
async function loadNew(arn, events) {
  const lastId = events.length ? events[events.length - 1].id : 0;
  const fresh = [];
  let nextToken;
  do {
    const page = await call('GetExecutionHistory', { executionArn: arn, reverseOrder: true, maxResults: 100, nextToken });
    let reachedKnown = false;
    for (const e of page.events || []) {
      if (e.id <= lastId) {
        reachedKnown = true;
        break;
      }
      fresh.push(e);
    }
    nextToken = reachedKnown ? null : page.nextToken;
  } while (nextToken);
  fresh.reverse();
  events.push(...fresh);
  return fresh.length;
}

function statusesFor(result, iteration) {
  const rank = { running: 5, failed: 4, aborted: 3, caught: 2, succeeded: 1 };
  const out = new Map();
  for (const [name, s] of result.states) out.set(name, s.status);
  if (iteration) {
    const inside = new Map();
    for (const e of result.entries) {
      if (!inIteration(result, e.firstEvent, iteration)) continue;
      if ((rank[e.status] || 0) > (rank[inside.get(e.name)] || 0)) inside.set(e.name, e.status);
    }
    // States of the Map's processor that this iteration never reached.
    for (const e of result.entries) {
      if (!inside.has(e.name) && e.iteration.some((x) => x.map === iteration[iteration.length - 1].map)) out.delete(e.name);
    }
    for (const [name, s] of inside) out.set(name, s);
  }
  return out;
}

function summary(ev) {
  const d = details(ev);
  if (!d) return '';
  if (d.error || d.cause) return [d.error, d.cause].filter(Boolean).join(': ');
  if (d.name && d.index !== undefined) return `${d.name} #${d.index}`;
  if (d.resource) return [d.resourceType, d.resource].filter(Boolean).join(':');
  if (d.length !== undefined) return `${d.length} items`;
  return '';
}

/** The execution's tasks waiting for SendTaskSuccess/SendTaskFailure, with their tokens. */
async function waitingTasks(arn) {
  const res = await fetch(`/console/api/executions/${encodeURIComponent(arn)}/tasks`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).tasks || [];
}

/** Answers a task token: SendTaskSuccess with a JSON output, or SendTaskFailure. */
/** The top-level state names of a definition (JSON text), for restarts. */
function topLevelStates(definition) {
  try {
    return new Set(Object.keys(JSON.parse(definition).States || {}));
  } catch {
    return new Set();
  }
}

/**
 * "Restart from here": the state's input (what it received last time) in
 * an editor, checked as JSON before it is sent. Resolves true once sent.
 */
function restartDialog(arn, state, input) {
  return modal(`Restart from ${state}`, (close) => {
    const error = h('div');
    const editor = jsonEditor(pretty(input) || '{}', { rows: 12 });
    const send = h('button', {
      class: 'primary',
      'data-action': 'restart-send',
      onclick: async () => {
        if (!editor.valid()) return;
        send.disabled = true;
        try {
          await operate('RestartExecution', { executionArn: arn, fromState: state, input: editor.text().trim() || '{}' });
          toast(`Restarted from ${state}`, 'ok');
          close(true);
        } catch (e) {
          clear(error, errorBox(e));
          send.disabled = false;
        }
      },
    }, 'Restart');
    return h('div', { class: 'modal-body' },
      h('p', { class: 'muted' }, 'The execution continues from this state; its history so far is kept. The input below is what the state received last time: edit it to restart with another.'),
      h('label', {}, 'Input (JSON)', editor.el),
      error,
      h('div', { class: 'actions' }, h('button', { onclick: () => close() }, 'Cancel'), send));
  });
}

function answerDialog(task, success) {
  const who = task.stateName || `task ${task.taskId}`;
  return modal(success ? `Send success to ${who}` : `Send failure to ${who}`, (close) => {
    const error = h('div');
    const output = success ? jsonEditor('{\n  \n}', { rows: 10 }) : null;
    const errName = success ? null : h('input', { type: 'text', placeholder: 'e.g. Review.Rejected', maxlength: 256 });
    const cause = success ? null : h('textarea', { rows: 4, placeholder: 'Why (optional)' });
    const send = h('button', {
      class: success ? 'primary' : 'danger',
      onclick: async () => {
        if (success && !output.valid()) return;
        send.disabled = true;
        try {
          if (success) {
            await call('SendTaskSuccess', { taskToken: task.taskToken, output: output.text().trim() || '{}' });
          } else {
            const body = { taskToken: task.taskToken };
            if (errName.value.trim()) body.error = errName.value.trim();
            if (cause.value.trim()) body.cause = cause.value.trim();
            await call('SendTaskFailure', body);
          }
          toast(success ? 'Success sent' : 'Failure sent', 'ok');
          close(true);
        } catch (e) {
          clear(error, errorBox(e));
          send.disabled = false;
        }
      },
    }, success ? 'Send success' : 'Send failure');
    return h('div', { class: 'modal-body' },
      h('label', {}, 'Task token', h('pre', { class: 'code token' }, task.taskToken)),
      success ? h('label', {}, 'Output (JSON)', output.el) : [h('label', {}, 'Error', errName), h('label', {}, 'Cause', cause)],
      error,
      h('div', { class: 'actions' }, h('button', { onclick: () => close() }, 'Cancel'), send));
  });
}

export async function executionPage(ctx, arn) {
  let exec = await call('DescribeExecution', { executionArn: arn });
  let definition = null;
  try {
    definition = (await call('DescribeStateMachineForExecution', { executionArn: arn })).definition;
  } catch {
    definition = (await call('DescribeStateMachine', { stateMachineArn: exec.stateMachineArn }).catch(() => ({}))).definition;
  }
  // A truncated history is not followed: its later events would have to be
  // read (or streamed) whole, which is what MAX_EVENTS is there to prevent.
  const { events, truncated } = await loadAll(arn);
  const topLevel = topLevelStates(definition || '');
  let result = analyse(events, exec.status);
  let selected = null;
  let iteration = null;
  // The Map iterations tab shows only iterations of this status when set.
  let iterationStatus = null;
  let tab = 'events';

  const head = h('div');
  const waitingBox = h('div');
  let waitingKey = null;
  let waitingGen = 0;
  let waiting = []; // the tasks waiting for a task token, as last read
  const graphBox = h('div');
  const side = h('aside', { class: 'side details' });
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const tabBody = h('div', { class: 'tab-body' });
  const filters = { text: '', kind: 'all', state: '' };
  let graph = { setStatuses() {}, select() {}, names: [] };

  const t0 = () => toMillis(events[0]?.timestamp) ?? toDate(exec.startDate)?.getTime() ?? Date.now();

  function renderHead() {
    ctx.setLive(exec.status === 'RUNNING');
    const start = toDate(exec.startDate)?.getTime();
    const stop = toDate(exec.stopDate)?.getTime();
    const actions = [];
    if (exec.status === 'RUNNING' && !exec.paused) actions.push(h('button', { onclick: pause, dataset: { needs: 'operate', action: 'pause' } }, 'Pause'));
    if (exec.paused) actions.push(h('button', { class: 'primary', onclick: resume, dataset: { needs: 'operate', action: 'resume' } }, 'Resume'));
    if (exec.paused && exec.pauseDetails?.reason === 'failure') actions.push(h('button', { class: 'danger', onclick: letFail, dataset: { needs: 'operate', action: 'fail' } }, 'Let it fail'));
    if (exec.status === 'RUNNING') actions.push(h('button', { class: 'danger', onclick: stop_, dataset: { needs: 'operate' } }, 'Stop'));
    if (['FAILED', 'TIMED_OUT', 'ABORTED'].includes(exec.status)) actions.push(h('button', { class: 'primary', onclick: redrive, dataset: { needs: 'operate' } }, 'Redrive'));
    actions.push(h('button', { onclick: again, dataset: { needs: 'operate' } }, 'New execution with this input'));
    clear(head,
      h('div', { class: 'crumbs' }, link('#/machines', 'State machines'), ' / ',
        link(routes.machine(exec.stateMachineArn), arnName(exec.stateMachineArn)), ' / ', exec.name),
      h('div', { class: 'page-head' }, h('h1', {}, exec.name), badge(exec.status), exec.paused ? badge('PAUSED') : null, h('span', { class: 'spacer' }), actions),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Started'), h('dd', {}, fmtDate(exec.startDate)),
        h('dt', {}, 'Stopped'), h('dd', {}, fmtDate(exec.stopDate)),
        h('dt', {}, 'Duration'), h('dd', {}, start ? fmtDuration((stop || Date.now()) - start) : '—'),
        h('dt', {}, 'Events'), h('dd', { 'data-truncated': truncated ? 'true' : null }, truncated ? `the first ${events.length} (more not loaded)` : String(events.length)),
        exec.stateMachineVersionArn ? [h('dt', {}, 'Version'), h('dd', { class: 'mono' }, arnName(exec.stateMachineVersionArn))] : null,
        exec.stateMachineAliasArn ? [h('dt', {}, 'Alias'), h('dd', { class: 'mono' }, arnName(exec.stateMachineAliasArn))] : null,
        exec.redriveCount ? [h('dt', {}, 'Redriven'), h('dd', {}, `${exec.redriveCount}× (last ${fmtDate(exec.redriveDate)})`)] : null,
        result.parent ? [h('dt', {}, 'Started by'), h('dd', {}, link(routes.execution(result.parent), arnName(result.parent)))] : null,
        result.mapRuns.size ? [h('dt', {}, 'Map runs'), h('dd', { class: 'map-runs' }, [...result.mapRuns].map((r, i) => [i ? ', ' : '', link(routes.mapRun(r), arnName(r), { 'data-map-run': r })]))] : null,
        h('dt', {}, 'ARN'), h('dd', { class: 'mono small' }, exec.executionArn)),
      exec.paused ? pausedBox() : null,
      truncated
        ? h('p', { class: 'muted truncated-history' }, `This history is longer than ${MAX_EVENTS} events: the graph, events and timeline show the first ${events.length}, and later events are not loaded or followed live. GetExecutionHistory pages through all of them (reverseOrder for the newest).`)
        : null,
      exec.error || exec.cause
        ? h('div', { class: 'error-box' }, h('strong', {}, exec.error || 'Error'), exec.cause ? h('pre', { class: 'code' }, pretty(exec.cause)) : null)
        : null);
  }

  function renderSide() {
    if (!selected) {
      clear(side, h('h2', {}, 'State details'), h('p', { class: 'muted' }, 'Click a state in the graph to see its input, output, errors, retries and duration.'));
      return;
    }
    const s = result.states.get(selected);
    const entries = (s?.entries || []).filter((e) => !iteration || inIteration(result, e.firstEvent, iteration));
    if (!entries.length) {
      clear(side, h('h2', {}, selected), h('p', { class: 'muted' }, 'Not reached', iteration ? ' in this iteration.' : '.'));
      return;
    }
    const pick = h('select', {}, entries.map((e, i) => h('option', { value: i }, `Visit ${i + 1} of ${entries.length} · ${e.status}`)));
    const box = h('div');
    const show = () => {
      const e = entries[Number(pick.value)] || entries[entries.length - 1];
      clear(box,
        h('dl', { class: 'facts narrow' },
          h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${e.status}` }, e.status)),
          h('dt', {}, 'Type'), h('dd', {}, e.type),
          h('dt', {}, 'Entered'), h('dd', {}, e.start ? fmtDate(e.start / 1000) : '—'),
          h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(e.duration)),
          h('dt', {}, 'Retries'), h('dd', {}, String(e.retries)),
          e.iteration.length ? [h('dt', {}, 'Iteration'), h('dd', {}, e.iteration.map((x) => `${x.map} #${x.index}`).join(' › '))] : null),
        e.failures.map((f) => h('div', { class: 'error-box' }, h('strong', {}, f.error || f.type), f.cause ? h('pre', { class: 'code' }, pretty(f.cause)) : null)),
        h('h3', {}, 'Input'), codeBlock(e.input),
        h('h3', {}, 'Output'), codeBlock(e.output, e.end === null ? '(not finished)' : '—'),
        h('div', { class: 'row' },
          h('button', { class: 'small', onclick: () => { filters.state = selected; setTab('events'); } }, 'Show its events'),
          restartButton(entries[entries.length - 1].input)));
    };
    pick.value = String(entries.length - 1);
    pick.addEventListener('change', show);
    show();
    // The selected state waits for a task token: its token and the answers.
    const tokens = waiting.filter((t) => t.stateName === selected).slice(0, 5).map((t) => h('div', { class: 'waiting-token' },
      h('h3', {}, 'Waiting for its task token'),
      h('pre', { class: 'code token' }, t.taskToken),
      h('div', { class: 'row' },
        copyButton(t.taskToken, 'Copy token'),
        h('button', { class: 'small primary', dataset: { needs: 'answer' }, onclick: async () => { if (await answerDialog(t, true)) await answered(); } }, 'Send success'),
        h('button', { class: 'small danger', dataset: { needs: 'answer' }, onclick: async () => { if (await answerDialog(t, false)) await answered(); } }, 'Send failure'))));
    clear(side, h('h2', {}, selected), entries.length > 1 ? pick : null, tokens, box);
  }

  /** Who paused it, when, and (on failure) where and why. */
  function pausedBox() {
    const p = exec.pauseDetails || {};
    return h('div', { class: 'paused-box', 'data-paused': p.reason || 'operator' },
      h('strong', {}, p.reason === 'failure' ? `Paused on failure at ${p.state || 'a state'}` : 'Paused'),
      ` by ${p.pausedBy || 'operator'}`, p.pausedAt ? ` · ${fmtDate(p.pausedAt)}` : null,
      p.heldEvents ? ` · ${p.heldEvents} result${p.heldEvents === 1 ? '' : 's'} held until resume` : null,
      p.error ? h('div', {}, h('span', { class: 'mono' }, p.error), p.cause ? h('pre', { class: 'code' }, pretty(p.cause)) : null) : null);
  }

  /** "Restart from here" for a top-level state of a finished (or failure-paused) execution. */
  function restartButton(input) {
    const finished = exec.status !== 'RUNNING' || exec.pauseDetails?.reason === 'failure';
    if (!finished) return null;
    if (!topLevel.has(selected)) {
      return h('span', { class: 'muted small' }, 'Only top-level states can be restarted from.');
    }
    return h('button', {
      class: 'small primary',
      dataset: { needs: 'operate', action: 'restart' },
      onclick: async () => {
        if (await restartDialog(arn, selected, input)) {
          exec.status = 'RUNNING';
          await refresh(true);
        }
      },
    }, 'Restart from here');
  }

  function setTab(name) {
    tab = name;
    renderTabs();
  }

  function renderTabs() {
    const names = [['events', 'Events'], ['timeline', 'Timeline']];
    if (result.iterations.size) names.push(['iterations', 'Map iterations']);
    names.push(['io', 'Input & output']);
    if (result.related.size || result.parent || result.mapRuns.size) names.push(['related', 'Related executions']);
    clear(tabBar, names.map(([k, label]) => h('button', { role: 'tab', class: k === tab ? 'tab active' : 'tab', onclick: () => setTab(k) }, label)));
    if (iteration) {
      tabBar.append(h('span', { class: 'filter-chip' }, `Iteration ${iteration.map((x) => `${x.map} #${x.index}`).join(' › ')}`,
        h('button', { class: 'ghost small', title: 'Show all iterations', onclick: () => { iteration = null; update(); } }, '×')));
    }
    ({ events: eventsTab, timeline: timelineTab, iterations: iterationsTab, io: ioTab, related: relatedTab }[tab] || eventsTab)();
  }

  function eventsTab() {
    const text = h('input', { type: 'search', placeholder: 'Filter by type, state or text…', value: filters.text });
    const kind = h('select', {}, [['all', 'All events'], ['states', 'State transitions'], ['failures', 'Failures'], ['tasks', 'Tasks'], ['map', 'Map and Parallel']]
      .map(([v, l]) => h('option', { value: v }, l)));
    kind.value = filters.kind;
    const names = [...result.states.keys()].sort();
    const state = h('select', {}, h('option', { value: '' }, 'All states'), names.map((n) => h('option', { value: n }, n)));
    state.value = filters.state;
    const body = h('tbody');
    const count = h('span', { class: 'muted' });
    const base = t0();
    const fill = () => {
      filters.text = text.value;
      filters.kind = kind.value;
      filters.state = state.value;
      const q = filters.text.trim().toLowerCase();
      const rows = [];
      let matched = 0;
      for (const ev of events) {
        const t = ev.type || '';
        const owner = result.owner.get(ev.id) || '';
        if (filters.kind === 'states' && !/State(Entered|Exited)$/.test(t)) continue;
        if (filters.kind === 'failures' && !/(Failed|TimedOut|Aborted)$/.test(t)) continue;
        if (filters.kind === 'tasks' && !/^(Task|LambdaFunction|Activity)/.test(t)) continue;
        if (filters.kind === 'map' && !/^(Map|Parallel)/.test(t)) continue;
        if (filters.state && owner !== filters.state) continue;
        if (iteration && !inIteration(result, ev.id, iteration)) continue;
        if (q && !`${t} ${owner} ${JSON.stringify(details(ev) || {})}`.toLowerCase().includes(q)) continue;
        matched += 1;
        if (rows.length >= MAX_ROWS) continue;
        const fail = /(Failed|TimedOut|Aborted)$/.test(t);
        const tr = h('tr', { class: fail ? 'row-failed' : '' },
          h('td', { class: 'num' }, String(ev.id)),
          h('td', {}, t),
          h('td', {}, owner ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(owner); } }, owner) : ''),
          h('td', { class: 'num', title: fmtDate(ev.timestamp) }, `+${fmtDuration((toMillis(ev.timestamp) ?? base) - base)}`),
          h('td', { class: 'summary' }, summary(ev)));
        tr.addEventListener('click', (e) => {
          if (e.target.closest('a')) return;
          const next = tr.nextElementSibling;
          if (next?.classList.contains('expanded')) next.remove();
          else tr.after(h('tr', { class: 'expanded' }, h('td', { colspan: 5 }, codeBlock(ev))));
        });
        rows.push(tr);
      }
      count.textContent = matched > MAX_ROWS ? `showing ${MAX_ROWS} of ${matched}` : `${matched} of ${events.length}`;
      clear(body, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No event matches.')));
    };
    text.addEventListener('input', fill);
    kind.addEventListener('change', fill);
    state.addEventListener('change', fill);
    fill();
    clear(tabBody,
      h('div', { class: 'toolbar' }, text, kind, state, count),
      h('table', { class: 'grid events' },
        h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Type'), h('th', {}, 'State'), h('th', {}, 'Time'), h('th', {}, 'Details'))),
        body));
  }

  function timelineTab() {
    const entries = result.entries.filter((e) => e.start !== null && (!iteration || inIteration(result, e.firstEvent, iteration)));
    if (!entries.length) {
      clear(tabBody, h('p', { class: 'muted' }, 'No state has started yet.'));
      return;
    }
    const base = Math.min(...entries.map((e) => e.start));
    const endOf = (e) => e.start + (e.duration || 0);
    const total = Math.max(1, Math.max(...entries.map(endOf)) - base);
    const shown = entries.slice(0, 500);
    clear(tabBody,
      h('div', { class: 'gantt' },
        h('div', { class: 'gantt-axis' }, h('span', {}, '0'), h('span', {}, fmtDuration(total / 2)), h('span', {}, fmtDuration(total))),
        shown.map((e) => h('div', { class: 'gantt-row', onclick: () => select(e.name) },
          h('div', { class: 'gantt-label', title: e.name }, e.name, e.iteration.length ? h('span', { class: 'muted' }, ` #${e.iteration.map((x) => x.index).join('.')}`) : null),
          h('div', { class: 'gantt-track' },
            h('div', {
              class: `gantt-bar ${e.status}`,
              title: `${e.name}: ${e.status}, ${fmtDuration(e.duration)}${e.retries ? `, ${e.retries} retries` : ''}`,
              style: { left: `${((e.start - base) / total) * 100}%`, width: `${Math.max(0.4, ((e.duration || 0) / total) * 100)}%` },
            }))))),
      entries.length > shown.length ? h('p', { class: 'muted' }, `First ${shown.length} of ${entries.length} state visits.`) : null);
  }

  function iterationsTab() {
    const blocks = [];
    for (const [map, its] of result.iterations) {
      const list = [...its.values()];
      const counts = {};
      for (const it of list) counts[it.status] = (counts[it.status] || 0) + 1;
      // The total comes from MapStateStarted (its `length`); iterations not
      // started yet have no event of their own.
      const total = Math.max(result.mapTotals.get(map) || 0, list.length);
      const finished = list.length - (counts.running || 0);
      const order = ['succeeded', 'failed', 'aborted', 'running'];
      const progress = h('div', { class: 'map-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(finished), title: `${finished} of ${total} finished` },
        order.filter((st) => counts[st]).map((st) => h('span', { class: `seg ${st}`, style: { width: `${(counts[st] / Math.max(1, total)) * 100}%` } })));
      blocks.push(h('section', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', {}, map),
          h('span', { class: 'map-count' }, `${finished} of ${total} finished`),
          h('span', { class: 'muted' }, `${list.length} started`),
          Object.entries(counts).map(([s, n]) => h('button', {
            class: `badge ${s} status-filter${iterationStatus === s ? ' selected' : ''}`,
            title: iterationStatus === s ? 'Show every iteration' : `Show only the ${s} iterations`,
            'aria-pressed': iterationStatus === s ? 'true' : 'false',
            onclick: () => { iterationStatus = iterationStatus === s ? null : s; renderTabs(); },
          }, `${n} ${s}`))),
        progress,
        h('div', { class: 'iterations' }, list.filter((it) => !iterationStatus || it.status === iterationStatus).slice(0, 5000).map((it) => h('button', {
          class: `iteration ${it.status}${iteration && it.chain.length === iteration.length && it.chain.every((x, i) => x.index === iteration[i].index && x.map === iteration[i].map) ? ' selected' : ''}`,
          title: `#${it.key}: ${it.status}${it.end && it.start ? `, ${fmtDuration(it.end - it.start)}` : ''}`,
          onclick: () => { iteration = it.chain; update(); },
        }, it.key)))));
    }
    clear(tabBody, h('p', { class: 'muted' }, 'Click an iteration to see its states on the graph, its events and its timeline.'), blocks);
  }

  function ioTab() {
    clear(tabBody, h('div', { class: 'two' },
      h('section', {}, h('h3', {}, 'Input'), codeBlock(exec.input)),
      h('section', {}, h('h3', {}, 'Output'), codeBlock(exec.output, exec.status === 'RUNNING' ? '(running)' : '—'))));
  }

  function relatedTab() {
    const others = [...result.related].filter((a) => a !== arn);
    const runs = [...result.mapRuns].map((run) => {
      const box = h('div', {}, h('p', { class: 'muted' }, 'Loading the child executions…'));
      // A distributed Map's items run as child executions of its map run.
      call('ListExecutions', { mapRunArn: run, maxResults: 100 })
        .then((page) => clear(box, (page.executions || []).length
          ? h('table', { class: 'grid compact' }, h('tbody', {}, page.executions.map((e) => h('tr', {},
            h('td', {}, link(routes.execution(e.executionArn), e.name)), h('td', {}, badge(e.status)), h('td', {}, fmtDate(e.startDate))))),
          page.nextToken ? h('caption', {}, 'The first 100 child executions.') : null)
          : h('p', { class: 'muted' }, 'No child executions.')))
        .catch((e) => clear(box, errorBox(e)));
      return h('section', {}, h('h3', {}, link(routes.mapRun(run), `Map run ${arnName(run)}`)), box);
    });
    clear(tabBody, h('ul', { class: 'plain' },
      result.parent ? h('li', {}, 'Parent: ', link(routes.execution(result.parent), result.parent)) : null,
      others.map((a) => h('li', {}, 'Child: ', link(routes.execution(a), a)))), runs);
  }

  // Tasks waiting on a task token: the token (to copy) and the answers.
  async function loadWaiting() {
    const gen = ++waitingGen;
    let tasks = [];
    if (exec.status === 'RUNNING') {
      try {
        tasks = await waitingTasks(arn);
      } catch {
        tasks = [];
      }
    }
    // A later call has started meanwhile: its answer is the newer one.
    if (!ctx.alive || gen !== waitingGen) return;
    const key = tasks.map((t) => t.taskToken).join(',');
    if (key === waitingKey) return;
    waitingKey = key;
    waiting = tasks;
    renderSide();
    if (!tasks.length) {
      clear(waitingBox);
      return;
    }
    const shown = tasks.slice(0, 50);
    const answers = (t) => [
      copyButton(t.taskToken, 'Copy token'), ' ',
      h('button', { class: 'small primary', dataset: { needs: 'answer' }, onclick: async () => { if (await answerDialog(t, true)) await answered(); } }, 'Send success'), ' ',
      h('button', { class: 'small danger', dataset: { needs: 'answer' }, onclick: async () => { if (await answerDialog(t, false)) await answered(); } }, 'Send failure')];
    clear(waitingBox, h('section', { class: 'card waiting' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Waiting for an answer'),
        h('span', { class: 'muted' }, tasks.length === 1 ? 'A task waits for SendTaskSuccess or SendTaskFailure with its token.' : `${tasks.length} tasks wait for SendTaskSuccess or SendTaskFailure with their tokens.`)),
      h('table', { class: 'grid compact waiting-tasks' },
        h('tbody', {}, shown.map((t) => h('tr', { 'data-task': String(t.taskId) },
          h('td', {}, t.stateName ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(t.stateName); } }, t.stateName) : `task ${t.taskId}`,
            ' ', h('span', { class: 'tag' }, t.kind === 'activity' ? 'activity' : 'callback')),
          h('td', { class: 'token-cell' }, h('code', { class: 'token', title: t.taskToken }, t.taskToken)),
          h('td', { class: 'num' }, answers(t))))),
        tasks.length > shown.length ? h('caption', {}, `The first ${shown.length} of ${tasks.length}.`) : null)));
  }

  async function answered() {
    waitingKey = null;
    await refresh(true).catch(() => {});
    await loadWaiting();
  }

  function select(name) {
    selected = name;
    graph.select(name);
    renderSide();
  }

  /** The graph's colours; a paused execution's held states stand out. */
  function statuses() {
    const s = statusesFor(result, iteration);
    if (exec.paused) {
      for (const [name, status] of s) if (status === 'running') s.set(name, 'paused');
      if (exec.pauseDetails?.state) s.set(exec.pauseDetails.state, 'paused');
    }
    return s;
  }

  function update() {
    result = analyse(events, exec.status);
    graph.setStatuses(statuses());
    renderHead();
    renderSide();
    renderTabs();
    loadWaiting();
  }

  async function stop_() {
    const done = await modal('Stop this execution?', (close) => {
      const error = h('input', { type: 'text', placeholder: 'Error (optional)' });
      const cause = h('textarea', { rows: 3, placeholder: 'Cause (optional)' });
      return h('div', { class: 'modal-body' }, h('label', {}, 'Error', error), h('label', {}, 'Cause', cause),
        h('div', { class: 'actions' }, h('button', { onclick: () => close() }, 'Cancel'),
          h('button', { class: 'danger', onclick: () => close({ error: error.value, cause: cause.value }) }, 'Stop execution')));
    });
    if (!done) return;
    try {
      const body = { executionArn: arn };
      if (done.error) body.error = done.error;
      if (done.cause) body.cause = done.cause;
      await call('StopExecution', body);
      toast('Execution stopped', 'ok');
      await refresh(true);
    } catch (e) {
      toast(`${e.type}: ${e.message}`, 'error');
    }
  }

  async function pause() {
    try {
      await operate('PauseExecution', { executionArn: arn });
      toast('Execution paused', 'ok');
      await refresh(true);
    } catch (e) {
      toast(`${e.type}: ${e.message}`, 'error');
    }
  }

  async function resume() {
    try {
      await operate('ResumeExecution', { executionArn: arn });
      toast('Execution resumed', 'ok');
      await refresh(true);
    } catch (e) {
      toast(`${e.type}: ${e.message}`, 'error');
    }
  }

  async function letFail() {
    try {
      await operate('FailExecution', { executionArn: arn });
      toast('Execution failed', 'ok');
      await refresh(true);
    } catch (e) {
      toast(`${e.type}: ${e.message}`, 'error');
    }
  }

  async function redrive() {
    try {
      await call('RedriveExecution', { executionArn: arn });
      toast('Execution redriven', 'ok');
      exec.status = 'RUNNING';
      await refresh(true);
    } catch (e) {
      toast(`${e.type}: ${e.message}`, 'error');
    }
  }

  async function again() {
    const next = await startDialog(exec.stateMachineArn, pretty(exec.input) || '{}', { express: arn.includes(':express:') });
    if (next) location.hash = routes.execution(next);
  }

  // Live updates: the server pushes each history event as it commits (SSE);
  // polling DescribeExecution and the history is the fallback when the
  // stream cannot be had (an old server, a proxy that buffers).
  let stream = null;
  let streamFailed = false;
  let pendingRender = null;

  function scheduleUpdate() {
    // Events arrive in bursts (a Map commits many at once): render once per burst.
    if (pendingRender) return;
    pendingRender = setTimeout(() => {
      pendingRender = null;
      if (ctx.alive) update();
    }, 100);
  }

  function startStream() {
    if (stream || streamFailed || truncated || exec.status !== 'RUNNING') return;
    const after = events.length ? events[events.length - 1].id : 0;
    stream = follow(historyStreamUrl(arn, after), {
      history: (e) => {
        const lastId = events.length ? events[events.length - 1].id : 0;
        if (e && typeof e.id === 'number' && e.id > lastId) {
          events.push(e);
          // For the end-to-end tests: how many events came by the stream.
          document.body.dataset.streamed = String(Number(document.body.dataset.streamed || 0) + 1);
          scheduleUpdate();
        }
      },
      end: async () => {
        stopStream();
        // The stream ends when the execution stops: read its final status.
        await refresh(true).catch((e) => toast(`Live update failed: ${e.message}`, 'error'));
      },
    }, () => {
      stream = null;
      streamFailed = true;
      document.body.dataset.live = 'poll';
    });
    document.body.dataset.live = 'sse';
    ctx.setLive(true);
  }

  function stopStream() {
    stream?.();
    stream = null;
    ctx.setLive(false);
  }
  ctx.onLeave(() => {
    stopStream();
    clearTimeout(pendingRender);
  });

  async function refresh(force = false) {
    if (!force && exec.status !== 'RUNNING') return;
    // While the stream is open it carries every change.
    if (!force && stream) return;
    const [fresh, described] = await Promise.all([truncated ? 0 : loadNew(arn, events), call('DescribeExecution', { executionArn: arn })]);
    const changed = fresh > 0 || described.status !== exec.status || described.redriveCount !== exec.redriveCount
      || Boolean(described.paused) !== Boolean(exec.paused);
    exec = described;
    // The final events may land after the status changes: read once more.
    if (exec.status !== 'RUNNING' && !truncated) await loadNew(arn, events);
    // Unchanged history: only the running duration moves; leave the tabs
    // (and whatever the user is typing in their filters) alone.
    if (changed) update();
    else renderHead();
    // After a redrive the execution runs again: follow it again.
    if (exec.status === 'RUNNING') startStream();
  }

  clear(ctx.main, h('div', { class: 'page' }, head, waitingBox,
    h('div', { class: 'split' },
      h('section', { class: 'card grow' }, h('div', { class: 'card-head' }, h('h2', {}, 'Graph'), h('span', { class: 'spacer' }), legend()), graphBox),
      side),
    h('section', { class: 'card' }, tabBar, tabBody)));
  renderHead();
  renderSide();
  renderTabs();
  loadWaiting();
  graph = definition ? await drawGraph(graphBox, definition, { onSelect: select }) : graph;
  if (!definition) clear(graphBox, errorBox({ type: 'Unavailable', message: 'The definition of this execution cannot be read.' }));
  graph.setStatuses(statuses());
  startStream();
  // Polls only while the execution runs and no stream is open (refresh
  // returns at once otherwise), and picks up again after a redrive.
  ctx.every(1000, () => refresh().catch((e) => toast(`Live update failed: ${e.message}`, 'error')), { live: false });
}

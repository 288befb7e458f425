// Reading an execution's event history: which state each event belongs to,
// what happened to each state (succeeded, failed, caught, in progress, not
// reached), its input/output/error/retries/duration, Map iterations, and the
// other executions it mentions. Pure functions: no DOM, no fetch.

const FAILURE = /(Failed|TimedOut|Aborted)$/;
const SCHEDULED = /(Scheduled)$/;
const ITERATION_END = /^MapIteration(Succeeded|Failed|Aborted)$/;

/**
 * The first `max` events of a history, read a page at a time with
 * `fetchPage(nextToken)` (GetExecutionHistory's answer); `truncated` when
 * the history goes on. A history past AWS's quota (`[limits]
 * history_events` raised) is never read whole into the page.
 */
export async function loadFirst(fetchPage, max) {
  const events = [];
  let nextToken;
  do {
    const page = await fetchPage(nextToken);
    events.push(...(page.events || []));
    nextToken = page.nextToken;
  } while (nextToken && events.length < max);
  return { events, truncated: Boolean(nextToken) };
}

export function toMillis(ts) {
  if (ts === undefined || ts === null) return null;
  const n = typeof ts === 'number' ? ts * 1000 : Date.parse(ts);
  return Number.isNaN(n) ? null : n;
}

/** The `…EventDetails` object of an event, whatever its type. */
export function details(ev) {
  for (const [k, v] of Object.entries(ev)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') return v;
  }
  return null;
}

/** Error and cause of a failure event, if it has them. */
function failureOf(ev) {
  const d = details(ev) || {};
  return { type: ev.type, error: d.error ?? null, cause: d.cause ?? null, at: toMillis(ev.timestamp) };
}

const EXECUTION_ARN = /arn:[a-z-]+:states:[^"\s\\]*:(execution|express):[^"\s\\]+/g;

/**
 * Analyses `events` (in id order). `executionStatus` decides what an open
 * state means once the execution is over. `now` (ms) ends open durations.
 */
export function analyse(events, executionStatus = 'RUNNING', now = Date.now()) {
  const byId = new Map();
  const owner = new Map(); // event id -> state name
  const chain = new Map(); // event id -> [{map, index}] Map iterations it belongs to
  const entries = []; // every visit of a state, in order
  const open = new Map(); // state name -> its latest entry
  const entryOf = new Map(); // event id -> entry
  const iterations = new Map(); // map name -> Map(index -> {index, status, start, end})
  const related = new Set();
  const mapRuns = new Set(); // distributed Map runs: their items run as child executions
  // map name -> how many iterations its MapStateStarted events announced
  // (summed over the outer iterations when the Map is nested in another).
  const mapTotals = new Map();
  let parent = null;

  for (const ev of events) {
    byId.set(ev.id, ev);
    const t = ev.type || '';
    const prev = byId.get(ev.previousEventId);
    const d = details(ev) || {};
    const at = toMillis(ev.timestamp);

    // Which state the event belongs to.
    let name = null;
    if (t.endsWith('StateEntered')) name = d.name;
    else if (t.endsWith('StateExited')) name = d.name;
    else if (t.startsWith('MapIteration')) name = d.name;
    else if (!t.startsWith('Execution') && prev && !(prev.type || '').endsWith('StateExited')) name = owner.get(prev.id) ?? null;
    if (name !== null && name !== undefined) owner.set(ev.id, name);

    // Which Map iterations it happens in.
    let c = prev ? chain.get(prev.id) || [] : [];
    if (t === 'MapIterationStarted') {
      // The previous iteration of the same Map may be what precedes it.
      c = [...c.filter((x) => x.map !== d.name), { map: d.name, index: d.index }];
    } else if (/^MapState(Succeeded|Failed|Aborted|Exited)$/.test(t) && name) {
      c = c.filter((x) => x.map !== name);
    }
    chain.set(ev.id, c);

    if (t.endsWith('StateEntered')) {
      // A state entered right after another's failure: that one was caught.
      const before = prev ? entryOf.get(prev.id) : null;
      if (before && before.lastFailed && before.end === null) {
        before.status = 'caught';
        before.end = at;
      }
      const entry = {
        name, type: t.replace(/StateEntered$/, ''), start: at, end: null,
        input: d.input, output: undefined, failures: [], attempts: 0,
        lastFailed: false, status: 'running', iteration: c, firstEvent: ev.id, events: [ev.id],
      };
      if (entry.type === 'Fail') entry.status = 'failed';
      entries.push(entry);
      open.set(name, entry);
      entryOf.set(ev.id, entry);
    } else if (name && open.has(name) && !t.startsWith('MapIteration')) {
      const entry = open.get(name);
      entry.events.push(ev.id);
      entryOf.set(ev.id, entry);
      if (SCHEDULED.test(t)) {
        entry.attempts += 1;
        entry.lastFailed = false;
      } else if (FAILURE.test(t)) {
        entry.failures.push(failureOf(ev));
        entry.lastFailed = true;
      } else if (/Succeeded$/.test(t)) {
        entry.lastFailed = false;
      } else if (t.endsWith('StateExited')) {
        entry.end = at;
        entry.output = d.output;
        if (entry.status !== 'failed') entry.status = entry.lastFailed ? 'caught' : 'succeeded';
      }
    }

    if (t === 'MapStateStarted' && name && typeof d.length === 'number') {
      mapTotals.set(name, (mapTotals.get(name) || 0) + d.length);
    }
    if (t === 'MapIterationStarted') {
      if (!iterations.has(d.name)) iterations.set(d.name, new Map());
      const key = c.map((x) => x.index).join('.');
      iterations.get(d.name).set(key, { key, index: d.index, status: 'running', start: at, end: null, chain: c });
    } else if (ITERATION_END.test(t)) {
      const key = [...c.filter((x) => x.map !== d.name).map((x) => x.index), d.index].join('.');
      const it = iterations.get(d.name)?.get(key);
      if (it) {
        it.status = t === 'MapIterationSucceeded' ? 'succeeded' : t === 'MapIterationFailed' ? 'failed' : 'aborted';
        it.end = at;
      }
    }

    if (t === 'ExecutionStarted') {
      try {
        const input = typeof d.input === 'string' ? JSON.parse(d.input) : d.input;
        parent = input?.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID || null;
      } catch { /* input that is not JSON names no parent */ }
    }
    for (const m of JSON.stringify(d).matchAll(EXECUTION_ARN)) related.add(m[0]);
    if (d.mapRunArn) mapRuns.add(d.mapRunArn);
  }

  // Open states once the execution is over.
  if (executionStatus !== 'RUNNING') {
    for (const e of entries) {
      if (e.end === null && e.status === 'running') {
        e.status = executionStatus === 'ABORTED' ? 'aborted' : executionStatus === 'SUCCEEDED' ? 'succeeded' : 'failed';
      }
    }
  }
  for (const e of entries) {
    e.retries = Math.max(0, e.attempts - 1);
    e.duration = e.start === null ? null : (e.end ?? (executionStatus === 'RUNNING' ? now : e.start)) - e.start;
  }

  // One status per state: the most telling of its visits.
  const rank = { running: 5, failed: 4, aborted: 3, caught: 2, succeeded: 1 };
  const states = new Map();
  for (const e of entries) {
    const s = states.get(e.name) || { name: e.name, status: 'succeeded', entries: [] };
    s.entries.push(e);
    if ((rank[e.status] || 0) > (rank[s.status] || 0)) s.status = e.status;
    states.set(e.name, s);
  }
  if (parent) related.delete(parent);
  return { states, entries, owner, chain, iterations, mapTotals, related, mapRuns, parent, byId };
}

/** Whether event `id` happened inside the given Map iteration chain. */
export function inIteration(result, id, iteration) {
  const c = result.chain.get(id) || [];
  return iteration.every((x, i) => c[i] && c[i].map === x.map && c[i].index === x.index);
}

// Tests of the console's pure modules (history analysis, the editor's JSON
// Pointer locator), run by tests/js.rs through Node when it is installed:
// `node console.test.mjs`.
import assert from 'node:assert/strict';
import { analyse, inIteration, loadFirst } from '../../assets/console/history.js';
import { pointerLines, lineOf } from '../../assets/console/editor.js';

const ev = (id, previousEventId, type, detailsKey, details, timestamp = 1700000000 + id) =>
  ({ id, previousEventId, type, timestamp, ...(detailsKey ? { [detailsKey]: details } : {}) });
const entered = (id, prev, kind, name, input = '{}') => ev(id, prev, `${kind}StateEntered`, 'stateEnteredEventDetails', { name, input });
const exited = (id, prev, kind, name, output = '{}') => ev(id, prev, `${kind}StateExited`, 'stateExitedEventDetails', { name, output });

const tests = {
  'a caught failure, recorded as AWS does (TaskFailed then TaskStateExited)'() {
    const r = analyse([
      ev(1, 0, 'ExecutionStarted', 'executionStartedEventDetails', { input: '{}' }),
      entered(2, 0, 'Task', 'Call'),
      ev(3, 2, 'TaskScheduled', 'taskScheduledEventDetails', {}),
      ev(4, 3, 'TaskStarted', null),
      ev(5, 4, 'TaskFailed', 'taskFailedEventDetails', { error: 'Boom', cause: 'bad' }),
      exited(6, 5, 'Task', 'Call'),
      entered(7, 6, 'Pass', 'fallback'),
      exited(8, 7, 'Pass', 'fallback'),
      ev(9, 8, 'ExecutionSucceeded', 'executionSucceededEventDetails', { output: '{}' }),
    ], 'SUCCEEDED');
    assert.equal(r.states.get('Call').status, 'caught');
    assert.equal(r.states.get('Call').entries[0].failures[0].error, 'Boom');
    assert.equal(r.states.get('fallback').status, 'succeeded');
    assert.equal(r.owner.get(5), 'Call');
    assert.equal(r.owner.get(9), undefined);
  },
  'a caught failure without a StateExited event'() {
    const r = analyse([
      entered(2, 0, 'Task', 'Call'),
      ev(3, 2, 'TaskFailed', 'taskFailedEventDetails', { error: 'E' }),
      entered(4, 3, 'Pass', 'Handle'),
      exited(5, 4, 'Pass', 'Handle'),
    ], 'SUCCEEDED');
    assert.equal(r.states.get('Call').status, 'caught');
  },
  'retries then failure'() {
    const r = analyse([
      entered(2, 0, 'Task', 'Call'),
      ev(3, 2, 'TaskScheduled', 'taskScheduledEventDetails', {}),
      ev(4, 3, 'TaskFailed', 'taskFailedEventDetails', { error: 'E1' }),
      ev(5, 4, 'TaskScheduled', 'taskScheduledEventDetails', {}),
      ev(6, 5, 'TaskFailed', 'taskFailedEventDetails', { error: 'E2', cause: 'c' }),
      ev(7, 6, 'ExecutionFailed', 'executionFailedEventDetails', { error: 'E2', cause: 'c' }),
    ], 'FAILED');
    const s = r.states.get('Call');
    assert.equal(s.status, 'failed');
    assert.equal(s.entries[0].retries, 1);
    assert.equal(s.entries[0].failures.length, 2);
  },
  'a running state stays in progress'() {
    const r = analyse([entered(2, 0, 'Wait', 'Pause')], 'RUNNING', (1700000002 + 5) * 1000);
    assert.equal(r.states.get('Pause').status, 'running');
    assert.equal(r.states.get('Pause').entries[0].duration, 5000);
  },
  'a Fail state is failed'() {
    const r = analyse([entered(2, 0, 'Fail', 'Stop'), ev(3, 2, 'ExecutionFailed', 'executionFailedEventDetails', { error: 'X' })], 'FAILED');
    assert.equal(r.states.get('Stop').status, 'failed');
  },
  'Map iterations, each with its own events'() {
    const it = (id, prev, type, index) => ev(id, prev, type, `${type[0].toLowerCase()}${type.slice(1)}EventDetails`, { name: 'Each', index });
    const r = analyse([
      entered(2, 0, 'Map', 'Each'),
      ev(3, 2, 'MapStateStarted', 'mapStateStartedEventDetails', { length: 2 }),
      it(4, 3, 'MapIterationStarted', 0),
      entered(5, 4, 'Pass', 'Inner'),
      exited(6, 5, 'Pass', 'Inner'),
      it(7, 6, 'MapIterationSucceeded', 0),
      it(8, 6, 'MapIterationStarted', 1),
      entered(9, 8, 'Pass', 'Inner'),
      ev(10, 9, 'PassStateFailed', null),
      it(11, 10, 'MapIterationFailed', 1),
      ev(12, 11, 'MapStateFailed', null),
    ], 'FAILED');
    const iters = r.iterations.get('Each');
    assert.deepEqual([...iters.values()].map((i) => i.status), ['succeeded', 'failed']);
    assert.ok(inIteration(r, 9, [{ map: 'Each', index: 1 }]));
    assert.ok(!inIteration(r, 5, [{ map: 'Each', index: 1 }]));
    assert.ok(inIteration(r, 5, [{ map: 'Each', index: 0 }]));
    assert.equal(r.states.get('Inner').entries.length, 2);
    assert.equal(r.states.get('Each').status, 'failed');
    assert.equal(r.owner.get(12), 'Each');
  },
  'a Map\'s total comes from MapStateStarted, summed over the outer iterations when nested'() {
    const it = (id, prev, type, name, index) => ev(id, prev, type, `${type[0].toLowerCase()}${type.slice(1)}EventDetails`, { name, index });
    const r = analyse([
      entered(2, 0, 'Map', 'Outer'),
      ev(3, 2, 'MapStateStarted', 'mapStateStartedEventDetails', { length: 2 }),
      it(4, 3, 'MapIterationStarted', 'Outer', 0),
      entered(5, 4, 'Map', 'Inner'),
      ev(6, 5, 'MapStateStarted', 'mapStateStartedEventDetails', { length: 30 }),
      it(7, 6, 'MapIterationStarted', 'Inner', 0),
      it(8, 3, 'MapIterationStarted', 'Outer', 1),
      entered(9, 8, 'Map', 'Inner'),
      ev(10, 9, 'MapStateStarted', 'mapStateStartedEventDetails', { length: 12 }),
    ], 'RUNNING');
    assert.equal(r.mapTotals.get('Outer'), 2);
    assert.equal(r.mapTotals.get('Inner'), 42);
    // Started so far: one of the 42.
    assert.equal(r.iterations.get('Inner').size, 1);
  },
  'parent and child executions'() {
    const child = 'arn:aws:states:us-east-1:123456789012:execution:child:run-1';
    const parent = 'arn:aws:states:us-east-1:123456789012:execution:parent:run-0';
    const r = analyse([
      ev(1, 0, 'ExecutionStarted', 'executionStartedEventDetails', { input: JSON.stringify({ AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent }) }),
      entered(2, 1, 'Task', 'Start child'),
      ev(3, 2, 'TaskSucceeded', 'taskSucceededEventDetails', { output: JSON.stringify({ ExecutionArn: child }) }),
      entered(4, 3, 'Map', 'Big'),
      ev(5, 4, 'MapRunStarted', 'mapRunStartedEventDetails', { mapRunArn: 'arn:aws:states:us-east-1:123456789012:mapRun:parent/Big:run' }),
    ], 'RUNNING');
    assert.equal(r.parent, parent);
    assert.deepEqual([...r.related], [child]);
    assert.deepEqual([...r.mapRuns], ['arn:aws:states:us-east-1:123456789012:mapRun:parent/Big:run']);
    assert.equal(r.owner.get(5), 'Big');
  },
  'JSON Pointers are located at their line, even in broken text'() {
    const text = '{\n  "StartAt": "A",\n  "States": {\n    "A": {\n      "Type": "Pass",\n      "Next": "B/C"\n    },\n    "B/C": {"Type": "Succeed"}\n  },\n  "List": [1,\n 2]\n}';
    const lines = pointerLines(text);
    assert.equal(lineOf(lines, '/States/A/Next'), 6);
    assert.equal(lineOf(lines, '/States/B~1C'), 8);
    assert.equal(lineOf(lines, '/States/A/Missing'), 4);
    assert.equal(lineOf(lines, '/List/1'), 11);
    assert.equal(lineOf(lines, ''), 1);
    const broken = pointerLines('{\n "StartAt": "A",\n "States": {\n  "A": {"Type": ');
    assert.equal(lineOf(broken, '/States/A/Type'), 4);
  },
  async 'a history past 25,000 events is read up to the limit, not whole'() {
    // GetExecutionHistory's paging over a history of `total` events, 1,000 a page.
    const source = (total) => {
      const calls = [];
      const fetchPage = async (nextToken) => {
        const from = nextToken ? Number(nextToken) : 1;
        calls.push(from);
        const to = Math.min(total, from + 999);
        const events = [];
        for (let id = from; id <= to; id += 1) events.push({ id, previousEventId: id - 1, type: 'PassStateEntered' });
        return to < total ? { events, nextToken: String(to + 1) } : { events };
      };
      return { calls, fetchPage };
    };
    const million = source(1_000_000);
    const first = await loadFirst(million.fetchPage, 25000);
    assert.equal(first.truncated, true);
    assert.equal(first.events.length, 25000);
    assert.deepEqual(first.events.map((e) => e.id).slice(24998), [24999, 25000]);
    assert.equal(million.calls.length, 25, 'one request per page, none past the limit');
    const small = source(2500);
    const all = await loadFirst(small.fetchPage, 25000);
    assert.equal(all.truncated, false);
    assert.equal(all.events.length, 2500);
    assert.equal(small.calls.length, 3);
  },
};

let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}\n${e.stack}`);
  }
}
console.log(`${Object.keys(tests).length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

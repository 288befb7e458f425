// End-to-end tests of the console as a user meets it: a real headless
// Chromium (Debian's `chromium`, driven by playwright-core) against a running
// `statecraft server` with the console mounted.
//
//   STATECRAFT_URL=http://127.0.0.1:8083 node console.e2e.mjs
//
// Environment: STATECRAFT_URL (default http://127.0.0.1:8083), CHROMIUM (the
// browser binary, default /usr/bin/chromium), SCREENSHOTS (a directory for
// screenshots of the main pages, default ./screenshots).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = (process.env.STATECRAFT_URL || 'http://127.0.0.1:8083').replace(/\/$/, '');
const SHOTS = process.env.SCREENSHOTS || new URL('./screenshots/', import.meta.url).pathname;
const RUN = Date.now().toString(36);

async function api(op, body) {
  const res = await fetch(`${BASE}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${op}` },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${op}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

const DEFINITION = {
  Comment: 'Console end-to-end test',
  StartAt: 'Route',
  States: {
    Route: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.mode', StringEquals: 'succeed', Next: 'Work' },
        { Variable: '$.mode', StringEquals: 'wait', Next: 'Pause' },
      ],
      Default: 'Stop',
    },
    Pause: { Type: 'Wait', Seconds: 3, Next: 'Work' },
    Work: { Type: 'Pass', Result: { done: true }, Next: 'Finish' },
    Finish: { Type: 'Succeed' },
    Stop: { Type: 'Fail', Error: 'E2E.Failure', Cause: 'asked to fail' },
  },
};

// A Map over the input's items, each in an iteration of its own; the item 3
// (last, so every other iteration has run) fails its iteration, and the
// Map's Catch recovers.
const MAP_DEFINITION = {
  StartAt: 'Each',
  States: {
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: {
        StartAt: 'Check',
        States: {
          Check: { Type: 'Choice', Choices: [{ Variable: '$', NumericEquals: 3, Next: 'Boom' }], Default: 'Double' },
          Double: { Type: 'Pass', Parameters: { 'n.$': '$' }, End: true },
          Boom: { Type: 'Fail', Error: 'E2E.BadItem', Cause: 'item 3' },
        },
      },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recovered' }],
      End: true,
    },
    Recovered: { Type: 'Pass', End: true },
  },
};

const execUrl = (arn) => `${BASE}/#/execution/${encodeURIComponent(arn)}`;
const machineUrl = (arn) => `${BASE}/#/machine/${encodeURIComponent(arn)}`;
const statusOf = (page, state) => page.locator(`.statecraft-graph [data-state="${state}"]`).getAttribute('class');

/** Waits until `check` holds (page.waitForFunction would need eval, which the console's CSP forbids). */
async function until(check, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

let machineArn;

test('the machine list finds the machine by search', async (page) => {
  await page.goto(`${BASE}/#/machines`);
  await page.locator('input[type=search]').fill(`e2e-${RUN}`);
  await page.getByRole('link', { name: `e2e-${RUN}` }).waitFor();
  assert.equal(await page.locator('table.grid tbody tr').count(), 1);
});

test('the machine page draws every state', async (page) => {
  await page.goto(machineUrl(machineArn));
  await page.locator('.statecraft-graph [data-state="Route"]').waitFor();
  for (const s of Object.keys(DEFINITION.States)) {
    assert.equal(await page.locator(`.statecraft-graph [data-state="${s}"]`).count(), 1, s);
  }
  // The machine's numbers come from the server's aggregates.
  const numbers = await fetch(`${BASE}/console/api/overview?window=86400&stateMachineArn=${encodeURIComponent(machineArn)}`).then((r) => r.json());
  await page.locator('.machine-stats [data-stat="total"] .stat-value', { hasText: String(numbers.total) }).waitFor();
});

test('an execution started from the console succeeds and is coloured', async (page) => {
  await page.goto(machineUrl(machineArn));
  await page.getByRole('button', { name: 'Start execution' }).click();
  await page.locator('dialog textarea').fill('{"mode": "succeed"}');
  await page.locator('dialog').getByRole('button', { name: 'Start execution' }).click();
  await page.waitForURL(/#\/execution\//);
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  assert.match(await statusOf(page, 'Work'), /status-succeeded/);
  assert.match(await statusOf(page, 'Finish'), /status-succeeded/);
  assert.match(await statusOf(page, 'Stop'), /status-none/);
  // The history table lists the transitions.
  await page.locator('.grid.events td', { hasText: 'PassStateEntered' }).first().waitFor();
  // Clicking a state shows its output.
  await page.locator('.statecraft-graph [data-state="Work"]').click();
  await page.locator('.details pre', { hasText: '"done": true' }).first().waitFor();
  await page.screenshot({ path: `${SHOTS}/execution-succeeded.png`, fullPage: true });
});

test('a failed execution shows where and why, and can be redriven', async (page) => {
  const { executionArn } = await api('StartExecution', { stateMachineArn: machineArn, input: '{"mode": "fail"}' });
  await page.goto(execUrl(executionArn));
  await page.locator('.page-head .badge', { hasText: 'FAILED' }).waitFor({ timeout: 15000 });
  assert.match(await statusOf(page, 'Stop'), /status-failed/);
  await page.locator('.error-box', { hasText: 'E2E.Failure' }).first().waitFor();
  await page.locator('.grid.events tr.row-failed', { hasText: 'ExecutionFailed' }).waitFor();
  await page.screenshot({ path: `${SHOTS}/execution-failed.png`, fullPage: true });
  await page.getByRole('button', { name: 'Redrive' }).click();
  await page.locator('.toast', { hasText: /redriven|Error|Exception/ }).first().waitFor();
  const redrive = await api('DescribeExecution', { executionArn });
  // A Fail state fails again on redrive; what matters is that the console
  // asked for it and shows the count.
  if (redrive.redriveCount) await page.locator('.facts dt', { hasText: 'Redriven' }).waitFor({ timeout: 15000 });
});

test('a waiting execution updates live, without reloading the page', async (page) => {
  const { executionArn } = await api('StartExecution', { stateMachineArn: machineArn, input: '{"mode": "wait"}' });
  await page.goto(execUrl(executionArn));
  await page.evaluate(() => { window.__noReload = true; });
  await page.locator('.statecraft-graph [data-state="Pause"].status-running').waitFor({ timeout: 10000 });
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 20000 });
  assert.match(await statusOf(page, 'Pause'), /status-succeeded/);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await page.getByRole('tab', { name: 'Timeline' }).click();
  assert.ok(await page.locator('.gantt-bar').count() >= 4);
});

test('a waiting execution is followed by server-sent events, not polling', async (page) => {
  const { executionArn } = await api('StartExecution', { stateMachineArn: machineArn, input: '{"mode": "wait"}' });
  const polls = [];
  page.on('request', (r) => {
    const target = r.headers()['x-amz-target'] || '';
    if (target.endsWith('GetExecutionHistory') || target.endsWith('DescribeExecution')) polls.push(target);
  });
  await page.goto(execUrl(executionArn));
  await page.locator('.statecraft-graph [data-state="Pause"].status-running').waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => document.body.dataset.live), 'sse');
  // The Wait lasts 3 s: long enough to see that nothing polls meanwhile.
  const before = polls.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(polls.slice(before), [], 'no polling while the stream is open');
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 20000 });
  assert.match(await statusOf(page, 'Work'), /status-succeeded/);
  // The events after the Wait came by the stream.
  const streamed = Number(await page.evaluate(() => document.body.dataset.streamed || 0));
  assert.ok(streamed >= 4, `${streamed} events streamed`);
});

test('a Map execution lists its iterations by status, each with its own drill-down', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-map-${RUN}`,
    definition: JSON.stringify(MAP_DEFINITION, null, 2),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  const { executionArn } = await api('StartExecution', { stateMachineArn, input: JSON.stringify({ items: [1, 2, 4, 3] }) });
  await page.goto(execUrl(executionArn));
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  await page.getByRole('tab', { name: 'Map iterations' }).click();
  const its = page.locator('.iterations .iteration');
  await its.first().waitFor();
  assert.equal(await its.count(), 4);
  assert.equal(await page.locator('.iterations .iteration.failed').count(), 1);
  // By status: the failed badge filters the list to the failed iteration.
  await page.locator('button.status-filter', { hasText: 'failed' }).click();
  assert.equal(await its.count(), 1);
  await page.screenshot({ path: `${SHOTS}/execution-map.png`, fullPage: true });
  await page.locator('button.status-filter', { hasText: 'failed' }).click();
  assert.equal(await its.count(), 4);
  // Drill into an iteration that succeeded: a chip names it, the graph and
  // the history show that iteration only.
  await page.locator('.iterations .iteration.succeeded').first().click();
  await page.locator('.filter-chip', { hasText: '#' }).waitFor();
  assert.match(await statusOf(page, 'Double'), /status-succeeded/);
  assert.match(await statusOf(page, 'Boom'), /status-none/);
  await page.getByRole('tab', { name: 'Events' }).click();
  const rows = await page.locator('.grid.events tbody tr').count();
  assert.ok(rows > 0 && rows < 12, `${rows} rows for one iteration`);
});

test('the overview shows the server\'s numbers and updates them live', async (page) => {
  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const total = page.locator('[data-stat="total"] .stat-value');
  await total.waitFor();
  const numbers = await fetch(`${BASE}/console/api/overview?window=86400`).then((r) => r.json());
  await until(async () => (await total.textContent()) === String(numbers.total), 'the total matches the server');
  assert.ok(numbers.total >= 5, JSON.stringify(numbers.counts));
  assert.equal(await page.locator('[data-stat="failed"] .stat-value').textContent(), String((numbers.counts.FAILED || 0) + (numbers.counts.TIMED_OUT || 0)));
  // The failing state of the test machine is ranked.
  await page.locator('table.failing td', { hasText: 'Stop' }).first().waitFor();
  assert.ok(await page.locator('.chart .bar .seg').count() > 0);
  await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  // A new execution shows up without a reload (the overview stream).
  await page.evaluate(() => { window.__noReload = true; });
  await api('StartExecution', { stateMachineArn: machineArn, input: '{"mode": "succeed"}' });
  await until(async () => Number(await total.textContent()) > numbers.total, 'the total grows live', 15000);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.equal(await page.evaluate(() => document.body.dataset.live), 'sse');
  // The machine page, now that it has executions, for the docs.
  await page.goto(machineUrl(machineArn));
  await page.locator('.machine-stats [data-stat="total"] .stat-value', { hasText: /^[1-9]/ }).waitFor();
  await page.locator('.statecraft-graph [data-state="Route"]').waitFor();
  await page.screenshot({ path: `${SHOTS}/machine.png`, fullPage: true });
});

test('the activities page shows pending tasks, the worker that took one and the workers polling', async (page) => {
  const { activityArn } = await api('CreateActivity', { name: `e2e-activity-${RUN}` });
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-activity-${RUN}`,
    definition: JSON.stringify({ StartAt: 'Work', States: { Work: { Type: 'Task', Resource: activityArn, TimeoutSeconds: 7200, HeartbeatSeconds: 600, End: true } } }),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  await api('StartExecution', { stateMachineArn, input: '{"n": 1}' });
  const second = await api('StartExecution', { stateMachineArn, input: '{"n": 2}' });
  await page.goto(`${BASE}/#/activities`);
  const row = page.locator(`tr.activity[data-activity="e2e-activity-${RUN}"]`);
  await row.locator('[data-col="waiting"]', { hasText: '2' }).waitFor({ timeout: 10000 });
  // A worker takes one: the page shows it started, held by that worker.
  const task = await api('GetActivityTask', { activityArn, workerName: 'e2e-worker' });
  assert.ok(task.taskToken);
  await row.locator('[data-col="started"]', { hasText: '1' }).waitFor({ timeout: 10000 });
  await row.locator('[data-col="waiting"]', { hasText: '1' }).waitFor();
  await row.locator('.worker', { hasText: 'e2e-worker' }).waitFor();
  await row.click();
  await page.locator('table.tasks tbody tr').nth(1).waitFor();
  assert.equal(await page.locator('table.tasks tbody tr').count(), 2);
  await page.locator('table.tasks td', { hasText: 'e2e-worker' }).waitFor();
  // The deadline that applies, with its date: the started task's heartbeat
  // (10 minutes), the waiting one's timeout (2 hours).
  const day = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };
  const started = page.locator('table.tasks tr', { hasText: 'e2e-worker' }).locator('td.deadline');
  assert.match(await started.textContent(), new RegExp(`^${day(Date.now() + 600000)} \\d\\d:\\d\\d:\\d\\d\\.\\d{3} heartbeat in (9|10) min`));
  const waiting = page.locator('table.tasks tr', { hasText: 'WAITING' }).locator('td.deadline');
  assert.match(await waiting.textContent(), new RegExp(`^${day(Date.now() + 7200000)} .* timeout in (1 h 59 min|2 h 0 min)`));
  await page.screenshot({ path: `${SHOTS}/activities.png`, fullPage: true });
  // The execution's history names the activity without a stray colon.
  await page.goto(execUrl(second.executionArn));
  const scheduled = page.locator('.grid.events tr', { hasText: 'ActivityScheduled' }).locator('td.summary');
  await scheduled.waitFor();
  assert.equal(await scheduled.textContent(), activityArn);
  await page.goto(`${BASE}/#/activities`);
  await api('SendTaskSuccess', { taskToken: task.taskToken, output: '{}' });
  await api('StopExecution', { executionArn: second.executionArn });
  // A worker waiting in GetActivityTask shows as polling until a task comes.
  const poll = api('GetActivityTask', { activityArn, workerName: 'e2e-poller' });
  await row.locator('[data-col="polling"] .polling', { hasText: 'e2e-poller' }).waitFor({ timeout: 10000 });
  const third = await api('StartExecution', { stateMachineArn, input: '{"n": 3}' });
  const polled = await poll;
  assert.ok(polled.taskToken);
  await row.locator('[data-col="polling"]', { hasText: 'none' }).waitFor({ timeout: 10000 });
  await api('SendTaskSuccess', { taskToken: polled.taskToken, output: '{}' });
  assert.ok(third.executionArn);
});

test('the schedules page shows a schedule\'s next run and last runs, and pauses and resumes it', async (page) => {
  const schedule = async (method, name, body) => {
    const res = await fetch(`${BASE}/schedules/${name}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json();
    if (!res.ok) throw new Error(`${method} /schedules/${name}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  };
  const name = `e2e-every-minute-${RUN}`;
  // A rate() schedule without StartDate runs at once, then every minute.
  await schedule('POST', name, {
    ScheduleExpression: 'rate(1 minute)',
    ScheduleExpressionTimezone: 'Europe/Berlin',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: machineArn, RoleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e', Input: '{"mode": "succeed"}' },
  });
  const created = await schedule('GET', name);
  assert.ok(Math.abs(created.NextInvocation - (created.CreationDate + 60)) < 0.01, JSON.stringify(created));
  await page.goto(`${BASE}/#/schedules`);
  const row = page.locator(`tr[data-schedule="${name}"]`);
  await row.locator('[data-col="state"]', { hasText: 'ENABLED' }).waitFor();
  await row.locator('td', { hasText: 'rate(1 minute)' }).waitFor();
  await row.locator('td', { hasText: 'Europe/Berlin' }).waitFor();
  await row.locator('[data-col="next"]', { hasText: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/ }).waitFor();
  // Its first run, with its status, links to the execution.
  await row.locator('[data-col="runs"] .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${SHOTS}/schedules.png`, fullPage: true });
  await row.locator('button[data-action="pause"]').click();
  await row.locator('[data-col="state"]', { hasText: 'DISABLED' }).waitFor();
  await row.locator('[data-col="next"]', { hasText: '—' }).waitFor();
  assert.equal((await schedule('GET', name)).State, 'DISABLED');
  await row.locator('button[data-action="resume"]').click();
  await row.locator('[data-col="state"]', { hasText: 'ENABLED' }).waitFor();
  assert.equal((await schedule('GET', name)).State, 'ENABLED');
  await schedule('DELETE', name);
  await row.waitFor({ state: 'detached', timeout: 10000 });
});

test('the editor marks a broken transition at its line', async (page) => {
  await page.goto(`${BASE}/#/create`);
  const area = page.locator('.editor-area');
  await area.waitFor();
  const text = (await area.inputValue()).replace('"Next": "Done"', '"Next": "Nowhere"');
  await area.fill(text);
  const line = text.split('\n').findIndex((l) => l.includes('Nowhere')) + 1;
  await page.locator('.diagnostics li', { hasText: `line ${line}` }).first().waitFor({ timeout: 10000 });
  await page.locator(`.gutter .ln.error`, { hasText: String(line) }).first().waitFor();
  await page.screenshot({ path: `${SHOTS}/editor.png`, fullPage: true });
});

const ROLE = 'arn:aws:iam::123456789012:role/statecraft-e2e';
const PASS_DEFINITION = (result) => JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', Result: result, End: true } } });

test('an EXPRESS machine explains that its executions are not listed, and shows the ones kept', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', { name: `e2e-express-${RUN}`, type: 'EXPRESS', definition: PASS_DEFINITION('x'), roleArn: ROLE });
  const sync = await api('StartSyncExecution', { stateMachineArn, input: '{}' });
  assert.equal(sync.status, 'SUCCEEDED');
  const kept = await api('StartExecution', { stateMachineArn, name: `kept-${RUN}`, input: '{}' });
  await page.goto(machineUrl(stateMachineArn));
  await page.locator('.express-executions .info-box', { hasText: 'not listed' }).waitFor();
  await page.locator('.express-executions td a', { hasText: `kept-${RUN}` }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator('.error-box').count(), 0, 'no error box');
  assert.equal(await page.locator('text=StateMachineTypeNotSupported').count(), 0);
  await page.locator('.machine-stats [data-stat="total"] .stat-value', { hasText: /^[1-9]/ }).waitFor();
  await page.screenshot({ path: `${SHOTS}/machine-express.png`, fullPage: true });
  // A synchronous run from the start dialog shows its result in place.
  await page.getByRole('button', { name: 'Start execution' }).click();
  await page.locator('dialog textarea').fill('{"n": 1}');
  await page.locator('dialog').getByRole('button', { name: 'Run synchronously' }).click();
  await page.locator('dialog .sync-result .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 10000 });
  assert.match(await page.locator('dialog .sync-result pre').textContent(), /"x"/);
  await page.locator('dialog').getByRole('button', { name: 'Cancel' }).click();
  // Its execution page opens.
  await page.locator('.express-executions td a', { hasText: `kept-${RUN}` }).click();
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 10000 });
  assert.ok(kept.executionArn.includes(':express:'));
});

test('a machine page shows its versions with their descriptions and aliases with their routing weights', async (page) => {
  const { stateMachineArn, stateMachineVersionArn: v1 } = await api('CreateStateMachine', {
    name: `e2e-versions-${RUN}`, definition: PASS_DEFINITION('one'), roleArn: ROLE, publish: true, versionDescription: 'First cut',
  });
  await api('UpdateStateMachine', { stateMachineArn, definition: PASS_DEFINITION('two') });
  const { stateMachineVersionArn: v2 } = await api('PublishStateMachineVersion', { stateMachineArn, description: 'Second, with the fix' });
  await api('CreateStateMachineAlias', {
    name: 'live', description: 'Canary of the fix', routingConfiguration: [{ stateMachineVersionArn: v1, weight: 70 }, { stateMachineVersionArn: v2, weight: 30 }],
  });
  await page.goto(machineUrl(stateMachineArn));
  await page.locator('ul.versions li', { hasText: 'First cut' }).waitFor();
  await page.locator('ul.versions li', { hasText: 'Second, with the fix' }).waitFor();
  const alias = page.locator('ul.aliases li[data-alias="live"]');
  await alias.locator('.description', { hasText: 'Canary of the fix' }).waitFor();
  await alias.locator('.route', { hasText: '70 %' }).waitFor();
  await alias.locator('.route', { hasText: '30 %' }).waitFor();
  assert.match(await alias.locator('.route').first().textContent(), /v1/);
  await page.screenshot({ path: `${SHOTS}/machine-versions.png`, fullPage: true });
});

test('a task waiting on a token shows the token and answers it with success or failure', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-callback-${RUN}`,
    roleArn: ROLE,
    definition: JSON.stringify({
      StartAt: 'Approve',
      States: {
        Approve: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          Parameters: { QueueUrl: 'https://sqs.example/approvals', MessageBody: { 'token.$': '$$.Task.Token' } },
          End: true,
        },
      },
    }),
  });
  const tokenOf = async (executionArn) => {
    for (let i = 0; i < 100; i += 1) {
      const { events } = await api('GetExecutionHistory', { executionArn });
      const scheduled = events.find((e) => e.type === 'TaskScheduled');
      if (scheduled) return JSON.parse(scheduled.taskScheduledEventDetails.parameters).MessageBody.token;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the task was never scheduled');
  };
  // Success, with an output written in the JSON editor.
  const ok = await api('StartExecution', { stateMachineArn, input: '{}' });
  const token = await tokenOf(ok.executionArn);
  await page.goto(execUrl(ok.executionArn));
  const row = page.locator('.card.waiting tr', { hasText: 'Approve' });
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('code.token').textContent(), token);
  // The state's details carry it too.
  await page.locator('.statecraft-graph [data-state="Approve"]').click();
  await page.locator('.details .waiting-token pre', { hasText: token }).waitFor();
  await page.screenshot({ path: `${SHOTS}/execution-waiting.png`, fullPage: true });
  await row.getByRole('button', { name: 'Send success' }).click();
  await page.locator('dialog textarea').fill('{"approved": true}');
  await page.locator('dialog').getByRole('button', { name: 'Send success' }).click();
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  assert.deepEqual(JSON.parse((await api('DescribeExecution', { executionArn: ok.executionArn })).output), { approved: true });
  assert.equal(await page.locator('.card.waiting').count(), 0);
  // Failure, with an error name and a cause.
  const no = await api('StartExecution', { stateMachineArn, input: '{}' });
  await tokenOf(no.executionArn);
  await page.goto(execUrl(no.executionArn));
  await page.locator('.card.waiting tr', { hasText: 'Approve' }).getByRole('button', { name: 'Send failure' }).click();
  await page.locator('dialog input[type=text]').fill('Review.Rejected');
  await page.locator('dialog textarea').fill('not this time');
  await page.locator('dialog').getByRole('button', { name: 'Send failure' }).click();
  await page.locator('.page-head .badge', { hasText: 'FAILED' }).waitFor({ timeout: 15000 });
  const failed = await api('DescribeExecution', { executionArn: no.executionArn });
  assert.equal(failed.error, 'Review.Rejected');
  assert.equal(failed.cause, 'not this time');
});

test('a running Map shows how many of its iterations finished out of the total, with a progress bar', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-map-progress-${RUN}`,
    roleArn: ROLE,
    definition: JSON.stringify({
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map', ItemsPath: '$.items', MaxConcurrency: 2,
          ItemProcessor: { StartAt: 'Nap', States: { Nap: { Type: 'Wait', Seconds: 1, End: true } } },
          End: true,
        },
      },
    }),
  });
  const { executionArn } = await api('StartExecution', { stateMachineArn, input: JSON.stringify({ items: [1, 2, 3, 4, 5, 6] }) });
  await page.goto(execUrl(executionArn));
  await page.getByRole('tab', { name: 'Map iterations' }).click();
  // While it runs: fewer iterations started than the total, which is known.
  const count = page.locator('.map-count');
  await count.waitFor({ timeout: 10000 });
  assert.match(await count.textContent(), /^[0-5] of 6 finished$/);
  assert.equal(await page.locator('.page-head .badge').textContent(), 'RUNNING');
  assert.equal(await page.locator('.map-progress').getAttribute('aria-valuemax'), '6');
  // It counts up live.
  await page.locator('.map-count', { hasText: /^[2-4] of 6 finished$/ }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: `${SHOTS}/execution-map-running.png`, fullPage: true });
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 20000 });
  await page.locator('.map-count', { hasText: '6 of 6 finished' }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator('.map-progress .seg.succeeded').getAttribute('style'), 'width: 100%;');
});

test('the start dialog closes when the page changes', async (page) => {
  await page.goto(machineUrl(machineArn));
  await page.getByRole('button', { name: 'Start execution' }).click();
  await page.locator('dialog[open]').waitFor();
  // A navigation that does not come from the dialog (back button, a link
  // elsewhere, a hash typed in the address bar).
  await page.evaluate(() => { location.hash = '#/activities'; });
  await page.getByRole('heading', { name: 'Activities' }).waitFor();
  assert.equal(await page.locator('dialog').count(), 0);
  // The page is usable: a click reaches it (a modal left open would block it).
  await page.locator('#nav a', { hasText: 'State machines' }).click({ timeout: 3000 });
  await page.getByRole('heading', { name: 'State machines' }).waitFor();
});

test('the editor creates a machine from YAML, sending its JSON form, and locates YAML diagnostics', async (page) => {
  const yaml = [
    'Comment: Written in YAML',
    'StartAt: Hello',
    'States:',
    '  Hello:',
    '    Type: Pass',
    '    Result: hi',
    '    Next: Done',
    '  Done:',
    '    Type: Succeed',
    '',
  ].join('\n');
  await page.goto(`${BASE}/#/create`);
  const area = page.locator('.editor-area');
  await area.waitFor();
  // A broken transition is marked at its YAML line.
  await area.fill(yaml.replace('Next: Done', 'Next: Nowhere'));
  await page.locator('.diagnostics li', { hasText: 'line 7' }).first().waitFor({ timeout: 10000 });
  await area.fill(yaml);
  await page.locator('.diagnostics .ok', { hasText: 'valid' }).waitFor({ timeout: 10000 });
  await page.locator('.statecraft-graph [data-state="Hello"]').waitFor();
  await page.screenshot({ path: `${SHOTS}/editor-yaml.png`, fullPage: true });
  const name = `e2e-yaml-${RUN}`;
  await page.locator('input[placeholder="MyStateMachine"]').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL(/#\/machine\//, { timeout: 10000 });
  assert.equal(await page.locator('.error-box').count(), 0);
  const arn = decodeURIComponent(page.url().split('#/machine/')[1]);
  const described = await api('DescribeStateMachine', { stateMachineArn: arn });
  assert.equal(JSON.parse(described.definition).States.Hello.Result, 'hi');
  assert.equal(described.name, name);
});

// Operators in control (issue 18): Statecraft.PauseExecution and
// ResumeExecution from the execution page, the paused filter of a machine's
// executions, and "Restart from here" with an edited input.
const HOLD_DEFINITION = {
  StartAt: 'Hold',
  States: {
    Hold: { Type: 'Wait', Seconds: 2, Next: 'Done' },
    Done: { Type: 'Pass', Result: 'released', End: true },
  },
};

test('pause holds a running execution, the paused filter finds it, resume lets it finish', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-hold-${RUN}`,
    definition: JSON.stringify(HOLD_DEFINITION, null, 2),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  const { executionArn } = await api('StartExecution', { stateMachineArn, input: '{}' });
  await page.goto(execUrl(executionArn));
  await page.locator('.statecraft-graph [data-state="Hold"].status-running').waitFor({ timeout: 10000 });
  await page.locator('button[data-action="pause"]').click();
  await page.locator('.page-head .badge', { hasText: 'PAUSED' }).waitFor({ timeout: 10000 });
  await page.locator('.paused-box', { hasText: 'Paused' }).waitFor();
  assert.match(await statusOf(page, 'Hold'), /status-paused/);
  // The Wait's 2 s pass while paused: the execution holds.
  await new Promise((r) => setTimeout(r, 3000));
  const held = await api('DescribeExecution', { executionArn });
  assert.equal(held.status, 'RUNNING');
  assert.equal(held.paused, true);
  assert.equal(await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).count(), 0);
  await page.screenshot({ path: `${SHOTS}/execution-paused.png`, fullPage: true });

  // The machine's executions, paused only.
  await page.goto(machineUrl(stateMachineArn));
  await page.locator('select[data-filter="status"]').selectOption('PAUSED');
  await page.getByRole('link', { name: executionArn.split(':').pop() }).waitFor();
  await page.locator('table.grid tbody .badge', { hasText: 'PAUSED' }).waitFor();

  await page.goto(execUrl(executionArn));
  await page.locator('button[data-action="resume"]').click();
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  assert.match(await statusOf(page, 'Done'), /status-succeeded/);
  await page.locator('.grid.events td', { hasText: 'ExecutionResumed' }).first().waitFor();
});

test('a failed execution restarts from an earlier state with an edited input, checked as JSON first', async (page) => {
  const { executionArn } = await api('StartExecution', { stateMachineArn: machineArn, input: '{"mode": "fail"}' });
  await page.goto(execUrl(executionArn));
  await page.locator('.page-head .badge', { hasText: 'FAILED' }).waitFor({ timeout: 15000 });
  await page.locator('.statecraft-graph [data-state="Route"]').click();
  await page.locator('button[data-action="restart"]').click();
  const editor = page.locator('dialog textarea');
  // Pre-filled with what Route received.
  assert.match(await editor.inputValue(), /"mode": "fail"/);
  // Not JSON: nothing is sent.
  await editor.fill('{"mode": ');
  await page.locator('dialog button[data-action="restart-send"]').click();
  await page.locator('dialog .hint.bad').waitFor();
  assert.equal((await api('DescribeExecution', { executionArn })).status, 'FAILED');
  await editor.fill('{"mode": "succeed"}');
  await page.locator('dialog button[data-action="restart-send"]').click();
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 15000 });
  const d = await api('DescribeExecution', { executionArn });
  assert.equal(d.redriveCount, 1);
  assert.match(await statusOf(page, 'Finish'), /status-succeeded/);
  // Both parts of the history: the failure, then the restart.
  await page.locator('.grid.events td', { hasText: 'ExecutionRedriven' }).first().waitFor();
  await page.locator('.grid.events td', { hasText: 'ExecutionFailed' }).first().waitFor();
  await page.screenshot({ path: `${SHOTS}/execution-restarted.png`, fullPage: true });
});

// A Distributed Map: each item a child execution of its map run, one at a
// time (MaxConcurrency 1, so the run lasts long enough to update it from
// the page); item 3 fails, and one failure (or half) is tolerated.
const DISTRIBUTED_MAP = {
  StartAt: 'Each',
  States: {
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      MaxConcurrency: 1,
      ToleratedFailureCount: 1,
      ToleratedFailurePercentage: 50,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Nap',
        States: {
          Nap: { Type: 'Wait', Seconds: 1, Next: 'Check' },
          Check: { Type: 'Choice', Choices: [{ Variable: '$', NumericEquals: 3, Next: 'Boom' }], Default: 'Done' },
          Done: { Type: 'Pass', End: true },
          Boom: { Type: 'Fail', Error: 'E2E.BadItem', Cause: 'item 3 is broken' },
        },
      },
      End: true,
    },
  },
};

test('a map run page shows progress, failures grouped and children by status, and updates the run', async (page) => {
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-distributed-${RUN}`,
    definition: JSON.stringify(DISTRIBUTED_MAP),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  const { executionArn } = await api('StartExecution', { stateMachineArn, input: JSON.stringify({ items: [1, 2, 3, 4, 5, 6, 7, 8] }) });
  // The parent's page links to its map run.
  await page.goto(execUrl(executionArn));
  const runLink = page.locator('.facts .map-runs a').first();
  await runLink.waitFor({ timeout: 15000 });
  const mapRunArn = await runLink.getAttribute('data-map-run');
  assert.match(mapRunArn, /:mapRun:e2e-distributed-[^/]+\/Each:/);
  await runLink.click();
  await page.waitForURL(/#\/maprun\//);
  await page.locator('.page-head .badge', { hasText: 'RUNNING' }).waitFor();
  // UpdateMapRun from the page while it runs.
  const form = page.locator('form.maprun-form');
  await form.locator('input[name="maxConcurrency"]').fill('3');
  await form.locator('button[data-action="update-map-run"]').click();
  await page.locator('.toast', { hasText: 'Map run updated' }).waitFor();
  assert.equal((await api('DescribeMapRun', { mapRunArn })).maxConcurrency, 3);
  await page.locator('[data-fact="maxConcurrency"]', { hasText: '3' }).waitFor();
  // It finishes by itself (the page follows it): 7 items succeeded, 1 failed.
  await page.locator('.page-head .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 30000 });
  const count = (k) => page.locator(`.maprun-counts [data-count="${k}"] dd`).first();
  await until(async () => (await count('succeeded').textContent()) === '7', 'seven items succeeded');
  assert.equal(await count('failed').textContent(), '1');
  assert.equal(await count('total').textContent(), '8');
  // The failure reasons, grouped.
  const group = page.locator('table.failure-groups tr[data-error="E2E.BadItem"]');
  await group.waitFor({ timeout: 10000 });
  assert.match(await group.textContent(), /item 3 is broken/);
  assert.equal(await group.locator('td.num').textContent(), '1');
  // The children, filtered by status, each linked to its page.
  await page.locator('table.children tbody tr').nth(7).waitFor();
  await page.locator('button.child-filter[data-status="FAILED"]').click();
  await until(async () => (await page.locator('table.children tbody tr').count()) === 1, 'one failed child');
  await page.screenshot({ path: `${SHOTS}/map-run.png`, fullPage: true });
  await page.locator('table.children tbody tr a').click();
  await page.waitForURL(/#\/execution\//);
  await page.locator('.page-head .badge', { hasText: 'FAILED' }).waitFor({ timeout: 15000 });
  // A finished map run can no longer be updated: the page says so.
  await page.goto(`${BASE}/#/maprun/${encodeURIComponent(mapRunArn)}`);
  await page.locator('.maprun-update', { hasText: 'can no longer change' }).waitFor();
});

test('the activities page shows the flow-limit queues: limit, running, queued and the oldest wait', async (page) => {
  // run.sh configures `e2e-hold` (sleep 30) under max_concurrent = 1.
  const resource = 'arn:statecraft:command:e2e-hold';
  const { stateMachineArn } = await api('CreateStateMachine', {
    name: `e2e-queue-${RUN}`,
    definition: JSON.stringify({ StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: resource, End: true } } }),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  const first = await api('StartExecution', { stateMachineArn, input: '{}' });
  const second = await api('StartExecution', { stateMachineArn, input: '{}' });
  await page.goto(`${BASE}/#/activities`);
  const row = page.locator(`tr.queue[data-queue="${resource}"]`);
  await row.locator('[data-col="running"]', { hasText: '1' }).waitFor({ timeout: 15000 });
  await row.locator('[data-col="queued"]', { hasText: '1' }).waitFor({ timeout: 15000 });
  assert.equal(await row.locator('[data-col="limit"]').textContent(), '1 at once');
  assert.match(await row.locator('[data-col="oldest"]').textContent(), /\d+ (ms|s)/);
  await page.screenshot({ path: `${SHOTS}/queues.png`, fullPage: true });
  // The waiting execution has recorded TaskScheduled, not TaskStarted.
  const history = await api('GetExecutionHistory', { executionArn: second.executionArn });
  const types = history.events.map((e) => e.type);
  assert.ok(types.includes('TaskScheduled'), types.join());
  assert.ok(!types.includes('TaskStarted'), types.join());
  await api('StopExecution', { executionArn: second.executionArn });
  await api('StopExecution', { executionArn: first.executionArn });
  await row.locator('[data-col="queued"]', { hasText: '0' }).waitFor({ timeout: 15000 });
  await row.locator('[data-col="running"]', { hasText: '0' }).waitFor({ timeout: 15000 });
});

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const created = await api('CreateStateMachine', {
    name: `e2e-${RUN}`,
    definition: JSON.stringify(DEFINITION, null, 2),
    roleArn: 'arn:aws:iam::123456789012:role/statecraft-e2e',
  });
  machineArn = created.stateMachineArn;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  let failed = 0;
  for (const [name, fn] of tests) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await fn(page);
      assert.deepEqual(errors, [], 'uncaught errors in the page');
      console.log(`ok - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').slice(0, 6).join('\n  ')}`);
      await page.screenshot({ path: `${SHOTS}/FAILED-${name.replace(/\W+/g, '-')}.png`, fullPage: true }).catch(() => {});
    }
    await context.close();
  }
  await browser.close();
  console.log(`${tests.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

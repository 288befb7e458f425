// The console's sign-in in a real headless Chromium, against a
// `statecraft server` with [[auth.credentials]] configured (run.sh starts
// one with the keys below): no data without a session, sign-in with an
// access key, a page, what the role may not do is not offered, sign-out.
//
//   STATECRAFT_AUTH_URL=http://127.0.0.1:8084 node signin.e2e.mjs

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = (process.env.STATECRAFT_AUTH_URL || '').replace(/\/$/, '');
const SHOTS = process.env.SCREENSHOTS || new URL('./screenshots/', import.meta.url).pathname;
if (!BASE) {
  console.error('STATECRAFT_AUTH_URL must name a server with credentials configured (run.sh starts one)');
  process.exit(2);
}

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

async function signIn(page, key, secret) {
  await page.goto(`${BASE}/`);
  // No session: the shell sends to the sign-in page.
  await page.waitForURL(/\/console\/signin$/);
  await page.locator('input[name="kind"][value="key"]').check();
  await page.locator('#name').fill(key);
  await page.locator('#secret').fill(secret);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${BASE}/`);
}

test('the data routes and the API answer nothing without a session', async () => {
  const overview = await fetch(`${BASE}/console/api/overview`);
  assert.equal(overview.status, 401);
  const events = await fetch(`${BASE}/console/api/executions/x/events`);
  assert.equal(events.status, 401);
  const api = await fetch(`${BASE}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AWSStepFunctions.ListStateMachines' },
    body: '{}',
  });
  assert.equal(api.status, 403);
  assert.equal((await api.json()).__type, 'MissingAuthenticationTokenException');
});

test('a wrong secret is refused on the sign-in page', async (page) => {
  await page.goto(`${BASE}/console/signin`);
  await page.locator('input[name="kind"][value="key"]').check();
  await page.locator('#name').fill('AKIDOPERATOR');
  await page.locator('#secret').fill('not-it');
  await page.locator('button[type="submit"]').click();
  await page.locator('#error').waitFor();
  assert.match(await page.locator('#error').textContent(), /not right/);
  assert.match(page.url(), /\/console\/signin$/);
});

test('an operator signs in, sees the overview, is not offered to create machines, and signs out', async (page) => {
  await signIn(page, 'AKIDOPERATOR', 'operator-secret');
  await page.locator('#who').waitFor();
  assert.equal(await page.locator('#who').textContent(), 'AKIDOPERATOR (operator)');
  // The overview loads its numbers through the session.
  await page.locator('#main h1, #main h2').first().waitFor();
  assert.equal(await page.locator('header a[href="#/create"]').isVisible(), false, 'create is for admins');
  await page.goto(`${BASE}/#/machines`);
  await page.locator('#main').waitFor();
  await page.screenshot({ path: `${SHOTS}/signed-in-operator.png` });
  // The session cookie is not readable by scripts.
  const cookies = await page.evaluate(() => document.cookie);
  assert.doesNotMatch(cookies, /statecraft_session/);
  // Sign out: back to the sign-in page, and the data routes refuse again.
  await page.locator('#signout').click();
  await page.waitForURL(/\/console\/signin$/);
  const status = await page.evaluate(async () => (await fetch('/console/api/overview')).status);
  assert.equal(status, 401);
});

test('an admin is offered everything', async (page) => {
  await signIn(page, 'AKIDADMIN', 'admin-secret');
  await page.locator('#who').waitFor();
  await page.locator('header a[href="#/create"]').waitFor({ state: 'visible' });
});

async function main() {
  mkdirSync(SHOTS, { recursive: true });
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

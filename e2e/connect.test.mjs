// End-to-end: the Connect page against the usage API simulator (crates/usage-api-sim), with and without faults.
// Every run that completes must end with exactly the simulator's ground-truth rows and totals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.METERLENS_URL ?? 'http://127.0.0.1:8080/';
const CLI = process.env.METERLENS_CLI ?? 'target/debug/meterlens';
const SIM = process.env.METERLENS_SIM ?? 'http://127.0.0.1:8097';
const TOKEN = process.env.METERLENS_SIM_TOKEN ?? 'sim-token-7f3a9c';
const PROVIDER = '5f1c7e2a-0b9d-4c3e-8a7f-6d5e4c3b2a10';
const TENANT = 'aad71e75-cde2-488e-a280-938ad5a104f2';
const QUERY = 'reportedStartTime=2026-10-01T00%3a00%3a00Z&reportedEndTime=2026-11-01T00%3a00%3a00Z&aggregationGranularity=Daily&api-version=2015-06-01-preview';

let browser;
let context;
let page;
const consoleLines = [];
const pageErrors = [];
const dir = mkdtempSync(join(tmpdir(), 'meterlens-connect-'));

/** The simulator's ground truth for a request path, summarised by the CLI like any loaded file. */
async function truth(path) {
  const response = await fetch(`${SIM}/_sim/truth${path}?${QUERY}`);
  assert.equal(response.status, 200);
  const file = join(dir, `truth-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, await response.text());
  return JSON.parse(execFileSync(CLI, ['summary', '--json', file]));
}

async function kpis() {
  return page.evaluate(() => {
    const quantity = {};
    for (const li of document.querySelectorAll('[data-testid=kpi-quantity] li')) quantity[li.dataset.unit] = Number(li.dataset.value);
    return { rows: Number(document.querySelector('[data-testid=kpi-rows]')?.dataset.value), quantity };
  });
}

function assertMatches(shown, engine, what) {
  assert.equal(shown.rows, engine.rows, `${what}: rows`);
  for (const [unit, q] of Object.entries(engine.quantity)) {
    assert.ok(Math.abs(shown.quantity[unit] - q) <= 1e-9 * Math.max(1, q), `${what}: ${unit} ${shown.quantity[unit]} vs ${q}`);
  }
  assert.deepEqual(Object.keys(shown.quantity).sort(), Object.keys(engine.quantity).sort(), `${what}: units`);
}

async function connect({ endpoint = SIM, subscription = PROVIDER, provider = true, token = TOKEN } = {}) {
  await page.getByTestId('nav-connect').click();
  await page.getByTestId('api-endpoint').fill(endpoint);
  await page.getByTestId('api-subscription').fill(subscription);
  await page.getByTestId('api-mode').selectOption(provider ? 'provider' : 'tenant');
  await page.getByTestId('api-start').fill('2026-10-01T00:00:00Z');
  await page.getByTestId('api-end').fill('2026-11-01T00:00:00Z');
  await page.getByTestId('api-token').fill(token);
  await page.getByTestId('api-connect').click();
}

async function waitForSource(text) {
  await page.waitForFunction((t) => document.querySelector('[data-testid=source]')?.textContent.includes(t), text, { timeout: 90000 });
}

async function failure() {
  await page.waitForSelector('[data-testid=api-status] .notice.error', { timeout: 60000 });
  return page.locator('[data-testid=api-status] .notice.error').textContent();
}

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(BASE);
  await waitForSource('embedded sample');
});

after(async () => {
  await browser?.close();
});

test('a tenant loads its own usage through the API: exactly the simulator\'s rows and totals', async () => {
  await connect({ subscription: TENANT, provider: false });
  await waitForSource('usage-api-aad71e75');
  assertMatches(await kpis(), await truth(`/subscriptions/${TENANT}/providers/Microsoft.Commerce/usageAggregates`), 'tenant');
  assert.deepEqual(pageErrors, []);
});

test('an operator loads all tenants through busy, throttled, slow and repeating pages without loss or double counting', async () => {
  const expected = await truth(`/subscriptions/${PROVIDER}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates`);
  assert.ok(expected.rows + expected.admin_rows_excluded > 1000, 'more than one page');
  for (const fault of ['', '503-burst', '429', 'slow', 'duplicate']) {
    await page.getByTestId('load-sample').click();
    await waitForSource('embedded sample');
    await connect({ endpoint: fault ? `${SIM}/fault/${fault}~${Date.now()}` : SIM });
    await waitForSource('usage-api-5f1c7e2a');
    assertMatches(await kpis(), expected, fault || 'no fault');
    await page.getByTestId('nav-connect').click();
    const status = await page.getByTestId('api-status').textContent();
    if (fault === 'duplicate') assert.match(status, /1 repeated pages were dropped/);
    if (fault === '503-burst' || fault === '429') assert.match(status, /after \d+ retries of busy answers/, status);
  }
  assert.deepEqual(pageErrors, []);
});

test('faults that cannot be retried say what happened and keep the report that was there', async () => {
  await page.getByTestId('load-sample').click();
  await waitForSource('embedded sample');
  await page.getByTestId('nav-overview').click();
  const before = await kpis();
  const cases = [
    ['expire', /refused the access token \(HTTP 401\).*expired/, true],
    ['malformed', /page 2 is not a usage page/, true],
    ['future', /end time is in the future.*RequestEndTimeIsInFuture/, false],
  ];
  for (const [fault, message, partial] of cases) {
    await connect({ endpoint: `${SIM}/fault/${fault}~${Date.now()}` });
    assert.match(await failure(), message, fault);
    assert.equal(await page.getByTestId('api-load-partial').count(), partial ? 1 : 0, `${fault}: partial rows offered`);
    assert.match(await page.getByTestId('source').textContent(), /embedded sample/);
    await page.getByTestId('nav-overview').click();
    assert.deepEqual(await kpis(), before, `${fault}: the report is unchanged`);
  }
  // A slow stamp can be cancelled; nothing of the run is loaded.
  await connect({ endpoint: `${SIM}/fault/slow~${Date.now()}` });
  await page.getByTestId('api-cancel').click();
  assert.match(await failure(), /Cancelled\./);
  assert.match(await page.getByTestId('source').textContent(), /embedded sample/);
  // The rows fetched before a failure load only when asked, and are then all there.
  await connect({ endpoint: `${SIM}/fault/expire~${Date.now()}` });
  await failure();
  await page.getByTestId('api-load-partial').click();
  await waitForSource('usage-api-5f1c7e2a');
  const shown = await kpis();
  assert.ok(shown.rows > 0 && shown.rows < (await truth(`/subscriptions/${PROVIDER}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates`)).rows);
});

test('wrong input is refused before sending, and an unreachable stamp is explained with the fallback', async () => {
  await page.getByTestId('nav-connect').click();
  await page.getByTestId('api-subscription').fill('not-a-guid');
  await page.getByTestId('api-end').fill('2099-01-01T00:00:00Z');
  await page.getByTestId('api-token').fill(TOKEN);
  await page.getByTestId('api-connect').click();
  const problems = await page.getByTestId('api-problems').textContent();
  assert.match(problems, /must be a GUID/);
  assert.match(problems, /in the future/);
  await connect({ endpoint: 'http://127.0.0.1:9' });
  assert.match(await failure(), /no answer from http:\/\/127\.0\.0\.1:9.*CORS.*PowerShell/);
  await connect({ token: 'wrong-token' });
  assert.match(await failure(), /HTTP 401/);
});

test('the token never reaches storage, the URL, the console or an export', async () => {
  await page.getByTestId('load-sample').click();
  await waitForSource('embedded sample');
  await connect({ subscription: TENANT, provider: false });
  await waitForSource('usage-api-aad71e75');
  await page.getByTestId('nav-connect').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('api-save').click()]);
  const saved = readFileSync(await download.path(), 'utf8');
  assert.ok(JSON.parse(saved).value.length > 0, 'the saved JSON has the rows');
  const stored = await page.evaluate(async () => {
    const texts = [location.href, document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) texts.push(request.url, await (await cache.match(request)).text());
    }
    return texts;
  });
  for (const text of [...stored, saved, ...consoleLines, page.url()]) {
    assert.ok(!text.includes(TOKEN), `the token leaked into: ${text.slice(0, 120)}`);
  }
  assert.ok(stored.length > 4, 'the kept dataset was inspected too');
});

// End-to-end: the report pages (slicers, cross-filtering, drill-down, drill-through, URL state, exports), checked
// against the CLI's figures for the same filters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.METERLENS_URL ?? 'http://127.0.0.1:8080/';
const CLI = process.env.METERLENS_CLI ?? 'target/debug/meterlens';
const SAMPLE = 'public/sample/usage-sample.csv';
const SHOTS = 'e2e/out/pages';

let context;
let page;
const pageErrors = [];

function summary(...args) {
  return JSON.parse(execFileSync(CLI, ['summary', '--json', ...args, SAMPLE]));
}

async function kpis() {
  return page.evaluate(() => {
    const value = (id) => Number(document.querySelector(`[data-testid=${id}]`)?.dataset.value);
    const quantity = {};
    for (const li of document.querySelectorAll('[data-testid=kpi-quantity] li')) quantity[li.dataset.unit] = Number(li.dataset.value);
    return { rows: value('kpi-rows'), subscriptions: value('kpi-subscriptions'), quantity };
  });
}

function assertKpisMatch(shown, engine, what) {
  assert.equal(shown.rows, engine.rows, `${what}: rows`);
  assert.equal(shown.subscriptions, engine.subscriptions, `${what}: subscriptions`);
  assert.deepEqual(Object.keys(shown.quantity).sort(), Object.keys(engine.quantity).sort(), `${what}: units`);
  for (const [unit, q] of Object.entries(engine.quantity)) {
    assert.ok(Math.abs(shown.quantity[unit] - q) <= 1e-9 * Math.max(1, Math.abs(q)), `${what}: ${unit} ${shown.quantity[unit]} vs ${q}`);
  }
}

/** Waits until the KPI row count is `rows` (the report re-renders after every click). */
async function waitForRows(rows) {
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=kpi-rows]')?.dataset.value) === n, rows);
}

async function keysOf(visual) {
  return page.locator(`[data-testid=${visual}] .hit`).evaluateAll((hits) => hits.map((h) => h.dataset.key));
}

async function open(hash) {
  await page.goto(`${BASE}#${hash}`);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('embedded sample'));
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'meterlens-report-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  await context?.close();
});

test('every page renders the sample without errors, and each is captured at 1280×800', async () => {
  await open('overview');
  const pages = { overview: 'time-visual', explorer: 'matrix', resources: 'resources-table', data: 'data-table',
    bill: 'bill-page', meters: 'meters-page', reconcile: 'reconcile-page' };
  for (const [name, testid] of Object.entries(pages)) {
    await page.getByTestId(`nav-${name}`).click();
    await page.waitForSelector(`[data-testid=${testid}]`);
    assert.ok(page.url().endsWith(`#${name}`), page.url());
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }
  assert.deepEqual(pageErrors, []);
});

test('a slicer and a bar click filter every visual, as the CLI filters', async () => {
  await open('overview');
  const all = summary('--by', 'meter_category');
  const compute = all.groups.find((g) => g.key.meter_category === 'Compute');
  assert.ok(compute, 'the sample has compute usage');
  await page.locator('[data-testid=slicer-meter_category] summary').click();
  const slicerCount = await page.locator('[data-testid=slicer-meter_category] li:has(input[data-value="Compute"]) .count').textContent();
  assert.equal(Number(slicerCount.replace(/,/g, '')), compute.rows, 'slicer counts are row counts');
  await page.locator('[data-testid=slicer-meter_category] input[data-value=Compute]').check();
  const byCategory = summary('--filter', 'meter_category=Compute', '--by', 'meter_name');
  await waitForRows(byCategory.rows);
  assertKpisMatch(await kpis(), byCategory, 'Compute');
  assert.deepEqual((await keysOf('top-meters')).sort(), byCategory.groups.map((g) => g.key.meter_name).sort());
  assert.match(await page.getByTestId('active-filters').textContent(), /Meter category: Compute/);

  // A bar click on another visual adds its value to the filters.
  const group = (await keysOf('top-resource-groups'))[0];
  await page.locator(`[data-testid=top-resource-groups] .hit[data-key="${group}"]`).click();
  const both = summary('--filter', 'meter_category=Compute', '--filter', `resource_group=${group}`);
  await waitForRows(both.rows);
  assertKpisMatch(await kpis(), both, 'Compute in one group');
  // The clicked visual keeps its other bars (dimmed) so the choice can be changed.
  assert.ok((await keysOf('top-resource-groups')).length > 1);
  const hit = page.locator('[data-testid=top-meters] .hit').first();
  await hit.hover();
  assert.match(await page.getByTestId('tooltip').textContent(), /: [\d,.]+ rows · \d+ rows$/);
  assert.ok(decodeURIComponent(page.url()).includes(`f.meter_category=Compute`));

  // The URL carries the view: a reload restores it, Back undoes the last click.
  await page.reload();
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('embedded sample'));
  await waitForRows(both.rows);
  assert.match(await page.getByTestId('active-filters').textContent(), new RegExp(`Resource group: ${group}`));
  await page.goBack();
  await waitForRows(byCategory.rows);
  await page.getByTestId('clear-all').click();
  await waitForRows(summary().rows);
  assert.equal(await page.getByTestId('active-filters').count(), 0);
  assert.deepEqual(pageErrors, []);
});

test('a day clicked on the time chart filters the report to that day', async () => {
  await open('overview');
  await page.locator('[data-testid=time-visual] .hit[data-key="2026-10-05"]').click();
  const day = summary('--filter', 'day=2026-10-05');
  await waitForRows(day.rows);
  assertKpisMatch(await kpis(), day, 'one day');
  assert.match(await page.getByTestId('active-filters').textContent(), /Date: 2026-10-05 – 2026-10-05/);
  assert.equal(await page.locator('[data-testid=time-visual] .hit').count(), 31, 'the time chart still shows the month');
  await page.getByTestId('grain-week').click();
  assert.ok(page.url().includes('grain=week'));
  assert.ok((await page.locator('[data-testid=time-visual] .hit').count()) <= 6);
});

test('drill down category → meter → resource with breadcrumbs, drill up, and drill through to the rows', async () => {
  await open('overview');
  const categories = summary('--by', 'meter_category').groups.map((g) => g.key.meter_category);
  assert.deepEqual((await keysOf('breakdown-visual')).sort(), categories.sort());
  await page.locator('[data-testid=breakdown-visual] .hit[data-key=Compute]').click();
  await page.waitForSelector('[data-testid=crumb-1]');
  assert.equal(await page.getByTestId('crumb-1').textContent(), 'Compute');
  const meters = summary('--filter', 'meter_category=Compute', '--by', 'meter_name').groups.map((g) => g.key.meter_name);
  assert.deepEqual((await keysOf('breakdown-visual')).sort(), meters.sort());
  const meter = meters[0];
  await page.locator(`[data-testid=breakdown-visual] .hit[data-key="${meter}"]`).click();
  await page.waitForSelector('[data-testid=crumb-2]');
  const resources = summary('--filter', 'meter_category=Compute', '--filter', `meter_name=${meter}`, '--by', 'resource');
  const shown = await keysOf('breakdown-visual');
  assert.deepEqual(shown.filter((k) => k !== 'Others').sort(), resources.groups.map((g) => g.key.resource).sort().slice(0, shown.length));
  await page.getByTestId('drill-up').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=crumb-2]'));
  assert.deepEqual((await keysOf('breakdown-visual')).sort(), meters.sort());

  // Drill through: the rows behind the visual, with its filters.
  await page.locator('[data-testid=breakdown-visual] [data-testid=drill-through]').click();
  await page.waitForSelector('[data-testid=data-table]');
  assert.match(page.url(), /#data\?f\.meter_category=Compute/);
  const rows = summary('--filter', 'meter_category=Compute').rows;
  assert.equal(await page.locator('[data-testid=data-page] h2').textContent(), `${rows.toLocaleString('en-US')} rows`);
  await page.getByTestId('crumb-0').count().then((n) => assert.equal(n, 0, 'no breadcrumbs on the data page'));
  assert.deepEqual(pageErrors, []);
});

test('the data page sorts, chooses columns, scrolls virtually and exports exactly its rows', async () => {
  await open('data?f.meter_name=Base%20VM%20Size%20Hours');
  await page.waitForSelector('[data-testid=data-table]');
  const expected = summary('--filter', 'meter_name=Base VM Size Hours');
  const rendered = await page.locator('[data-testid=data-table] tbody tr:not(.spacer)').count();
  assert.ok(rendered < expected.rows, `only the visible rows are in the DOM (${rendered} of ${expected.rows})`);
  await page.locator('button.sort[data-sort=quantity]').click();
  await page.locator('button.sort[data-sort=quantity]').click();
  assert.ok(page.url().includes('sort=-quantity'));
  const first = await page.locator('[data-testid=data-table] tbody tr:not(.spacer)').first().locator('td.num').first().textContent();
  const quantities = readRows(await exportCsv()).map((r) => Number(r.Quantity));
  assert.equal(quantities.length, expected.rows, 'the export has every selected row, not just the visible ones');
  assert.equal(Number(first.replace(/,/g, '')), Math.max(...quantities), 'largest quantity first');
  assert.ok(quantities.every((q, i) => i === 0 || quantities[i - 1] >= q), 'export in the shown order');
  const total = quantities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - expected.quantity['Virtual core hours']) < 1e-6 * total);

  await page.locator('[data-testid=column-chooser] summary').click();
  await page.locator('[data-testid=column-chooser] input[data-column=meter_id]').check();
  await page.locator('[data-testid=column-chooser] input[data-column=subscription]').uncheck();
  const heads = await page.locator('[data-testid=data-table] thead th').allTextContents();
  assert.ok(heads.some((h) => h.startsWith('Meter ID')) && !heads.some((h) => h.startsWith('Subscription')), heads.join('|'));

  await page.getByTestId('data-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForTimeout(100);
  const lastShown = await page.locator('[data-testid=data-table] tbody tr:not(.spacer)').last().locator('td.num').first().textContent();
  assert.equal(Number(lastShown.replace(/,/g, '')), Math.min(...quantities), 'scrolled to the smallest');
});

async function exportCsv(scope = page) {
  const [download] = await Promise.all([page.waitForEvent('download'), scope.getByTestId('export-csv').first().click()]);
  return readFileSync(await download.path(), 'utf8');
}

function readRows(csv) {
  const [head, ...lines] = csv.trim().split('\n');
  const names = head.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
}

test('a chart exports the data behind it as CSV, and itself as SVG', async () => {
  await open('overview');
  const csv = await exportCsv(page.getByTestId('top-meters'));
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'Meter,Usage rows,rows');
  const engine = summary('--by', 'meter_name', '--top', '10');
  for (const line of lines.slice(1)) {
    const [meter, , rows] = line.split(',');
    const group = engine.groups.find((g) => g.key.meter_name === meter);
    assert.ok(group, meter);
    assert.equal(Number(rows), group.rows, meter);
  }
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('top-meters').getByTestId('export-svg').click()]);
  assert.match(readFileSync(await download.path(), 'utf8'), /^<svg[^>]*viewBox/);
});

test('the cost explorer adds up and a cell click filters the report', async () => {
  await open('explorer?grain=month');
  await page.waitForSelector('[data-testid=matrix]');
  const total = summary().rows;
  assert.equal(Number((await page.getByTestId('matrix-total').textContent()).replace(/,/g, '')), total);
  const collapsed = await page.locator('[data-testid=matrix] tbody tr').count();
  await page.getByTestId('expand-all').click();
  const expanded = await page.locator('[data-testid=matrix] tbody tr').count();
  assert.ok(expanded > collapsed, `${expanded} > ${collapsed}`);
  const categories = summary('--by', 'meter_category').groups;
  for (const g of categories) {
    const row = page.locator('[data-testid=matrix] tbody tr.level-0', { hasText: g.key.meter_category }).first();
    assert.equal(Number((await row.locator('td.total').textContent()).replace(/,/g, '')), g.rows, g.key.meter_category);
  }
  // Keyboard: focus a cell and press Enter, as a click would.
  await page.locator('[data-testid=matrix] tbody tr.level-2 td.cell').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=active-filters]');
  const chips = await page.getByTestId('active-filters').textContent();
  assert.match(chips, /Meter category: .*Meter: .*Resource: /);
  assert.match(chips, /Date: 2026-10-01 – 2026-10-31/);
  assert.deepEqual(pageErrors, []);
});

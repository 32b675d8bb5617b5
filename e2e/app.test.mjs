// End-to-end: the release build in headless Chromium, checked against the engine's own CLI figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.METERLENS_URL ?? 'http://127.0.0.1:8080/';
const CLI = process.env.METERLENS_CLI ?? 'target/debug/meterlens';
const OUT = 'e2e/out';

let context;
let page;
const pageErrors = [];

/** What the engine computes for files, through the CLI (exit code 1 only means some file was unreadable). */
function engineSummary(...args) {
  try {
    return JSON.parse(execFileSync(CLI, ['summary', '--json', ...args]));
  } catch (error) {
    if (error.stdout?.length) return JSON.parse(error.stdout);
    throw error;
  }
}

/** The KPI figures as the page shows them (raw values from data-value). */
async function kpis() {
  return page.evaluate(() => {
    const value = (id) => Number(document.querySelector(`[data-testid=${id}]`)?.dataset.value);
    const quantity = {};
    for (const li of document.querySelectorAll('[data-testid=kpi-quantity] li')) {
      quantity[li.dataset.unit] = Number(li.dataset.value);
    }
    const cost = {};
    for (const el of document.querySelectorAll('[data-testid=kpi-cost] [data-currency]')) {
      cost[el.dataset.currency] = Number(el.dataset.value);
    }
    return { rows: value('kpi-rows'), subscriptions: value('kpi-subscriptions'), quantity, cost };
  });
}

function assertSumsMatch(shown, engine, what) {
  assert.deepEqual(Object.keys(shown).sort(), Object.keys(engine).sort(), what);
  for (const [key, value] of Object.entries(engine)) {
    assert.ok(Math.abs(shown[key] - value) <= 1e-9 * Math.max(1, Math.abs(value)), `${what} ${key}: ${shown[key]} vs ${value}`);
  }
}

function assertKpisMatch(shown, engine) {
  assert.equal(shown.rows, engine.rows);
  assert.equal(shown.subscriptions, engine.subscriptions);
  assertSumsMatch(shown.quantity, engine.quantity, 'quantity');
  assertSumsMatch(shown.cost, engine.cost, 'cost');
}

async function waitForSource(text) {
  await page.waitForFunction((t) => document.querySelector('[data-testid=source]')?.textContent.includes(t), text);
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'meterlens-e2e-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(BASE);
  await waitForSource('embedded sample');
});

after(async () => {
  await context?.close();
});

test('opens on the embedded sample with KPI cards equal to the engine figures and a chart', async () => {
  assertKpisMatch(await kpis(), engineSummary('public/sample/usage-sample.csv'));
  const bars = await page.locator('[data-testid=time-visual] .hit').count();
  assert.equal(bars, 31, 'one bar per day of the sample month');
  assert.match(await page.locator('[data-testid=time-visual] svg').textContent(), /Usage rows/);
  const hidden = engineSummary('public/sample/usage-sample.csv').admin_rows_excluded;
  assert.ok(hidden > 0);
  assert.match(await page.getByTestId('admin-banner').textContent(), new RegExp(`^${hidden} rows of zero-priced admin`));
  await page.screenshot({ path: join(OUT, 'sample-report.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('showing admin rows counts them as the CLI does with --include-admin', async () => {
  await page.getByTestId('admin-reasons').locator('summary').click();
  const why = await page.getByTestId('admin-reasons').textContent();
  const reasons = engineSummary('public/sample/usage-sample.csv').admin_reasons;
  for (const [reason, count] of Object.entries(reasons)) assert.ok(why.includes(`${count} × ${reason}`), why);
  assert.match(why, /usage-sample\.csv line \d+: \S.* in system\.local — infrastructure resource group system\.\*/);
  await page.getByTestId('admin-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=admin-toggle]')?.textContent === 'Hide them');
  assertKpisMatch(await kpis(), engineSummary('--include-admin', 'public/sample/usage-sample.csv'));
  await page.getByTestId('admin-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=admin-toggle]')?.textContent === 'Show them');
});

test('a file picked by the user replaces the report, with its problems listed by line', async () => {
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/usagesummary-small.csv');
  await waitForSource('usagesummary-small.csv');
  assertKpisMatch(await kpis(), engineSummary('tests/fixtures/usagesummary-small.csv'));
  const issues = await page.getByTestId('issues').textContent();
  assert.match(issues, /9 rows as Azure Stack Hub Usagesummary\.ps1 CSV, 2 rejected/);
  assert.match(issues, /2026-13-01/);
  assert.deepEqual(pageErrors, []);
});

test('a dropped file is read the same way', async () => {
  const bytes = [...readFileSync('public/sample/usage-sample.csv')];
  const transfer = await page.evaluateHandle((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], 'dropped-usage.csv', { type: 'text/csv' }));
    return dt;
  }, bytes);
  await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer: transfer });
  await waitForSource('dropped-usage.csv');
  assertKpisMatch(await kpis(), engineSummary('public/sample/usage-sample.csv'));
});

const ALL_FORMATS = ['cost-management-ea-actual.csv.gz', 'focus-1.0.csv', 'azs-api-page.json',
  'partner-center-utilization.json', 'ea-detail-v2.csv', 'account-center-v2.csv'].map((f) => `tests/fixtures/${f}`);

test('every export format loads through the same engine, gzip included', async () => {
  const files = ALL_FORMATS;
  await page.getByTestId('file-input').setInputFiles(files);
  await waitForSource('partner-center-utilization.json');
  assertKpisMatch(await kpis(), engineSummary(...files));
  const panel = await page.getByTestId('issues').textContent();
  assert.match(panel, /cost-management-ea-actual\.csv\.gz: 6 rows as Cost Management export CSV.*gzip-compressed/);
  assert.match(panel, /ea-detail-v2\.csv: 1 rows as EA usage detail CSV.*3 lines before the header skipped/);
  assert.match(panel, /azs-api-page\.json: 2 rows as usage API JSON/);
  await page.screenshot({ path: join(OUT, 'all-formats.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('a file that is not usage data gets a clear message and the report stays', async () => {
  const before = await kpis();
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/not-usage.csv');
  await page.waitForSelector('[data-testid=notice].error');
  const message = await page.getByTestId('notice').textContent();
  assert.match(message, /not-usage\.csv: not a usage file MeterLens knows/);
  assert.match(message, /closest format is .+ \(\d of \d key columns\), which also needs /);
  assert.match(message, /previous report is still shown/);
  assert.deepEqual(await kpis(), before);
  await page.screenshot({ path: join(OUT, 'bad-file.png') });
  assert.deepEqual(pageErrors, []);
});

/** The bill as the engine computes it for the sample, through the CLI. */
function engineBill(...args) {
  return JSON.parse(execFileSync(CLI, ['bill', '--json', ...args]));
}

async function billTotal() {
  await page.getByTestId('nav-bill').click();
  await page.waitForSelector('[data-testid=bill-total]');
  return Number(await page.getByTestId('bill-total').getAttribute('data-value'));
}

test('loaded files are kept in the browser across a reload until forgotten', async () => {
  await page.goto(BASE);
  await waitForSource('partner-center-utilization.json');
  assert.match(await page.getByTestId('source').textContent(), /kept in this browser/);
  assertKpisMatch(await kpis(), engineSummary(...ALL_FORMATS));
  await page.getByTestId('forget-data').click();
  await waitForSource('embedded sample');
  await page.reload();
  await waitForSource('embedded sample');
  assert.equal(await page.getByTestId('forget-data').count(), 0);
  assert.deepEqual(pageErrors, []);
});

test('the bill page totals what the engine bills, and an edited rate changes it and survives a reload', async () => {
  const bill = engineBill('public/sample/usage-sample.csv');
  const before = await billTotal();
  assert.ok(Math.abs(before - bill.total) < 1e-6, `${before} vs ${bill.total}`);
  assert.match(await page.getByTestId('assumptions').textContent(), /base VM rate plus the Windows rate/);
  await page.screenshot({ path: join(OUT, 'bill.png'), fullPage: true });

  const windows = '9CD92D4C-BAFD-4492-B278-BEDC2DE8232A';
  const windowsLines = bill.subscriptions.flatMap((s) => s.lines).filter((l) => l.meter_id === windows);
  const hours = windowsLines.reduce((sum, l) => sum + l.billed_quantity, 0);
  assert.ok(hours > 0 && windowsLines.every((l) => l.rate === 0.046));
  await page.getByTestId('nav-meters').click();
  const input = page.getByTestId(`rate-${windows}`);
  assert.equal(await input.inputValue(), '0.046');
  await input.fill('0.1');
  await input.press('Enter');
  await input.dispatchEvent('change');
  await page.waitForFunction((id) => document.querySelector(`[data-testid=meter-${id}]`)?.textContent.includes('edited'), windows);
  await page.screenshot({ path: join(OUT, 'meters.png') });

  const expected = before + hours * (0.1 - 0.046);
  const after = await billTotal();
  assert.ok(Math.abs(after - expected) < 1e-6, `${after} vs ${expected}`);

  await page.reload();
  await waitForSource('embedded sample');
  const reloaded = await billTotal();
  assert.ok(Math.abs(reloaded - expected) < 1e-6, `after reload ${reloaded} vs ${expected}`);

  await page.getByTestId('nav-meters').click();
  await page.getByTestId('reset-rates').click();
  assert.ok(Math.abs((await billTotal()) - before) < 1e-6);
  assert.deepEqual(pageErrors, []);
});

test('an imported price sheet in euro prices the bill in euro only', async () => {
  await page.getByTestId('nav-meters').click();
  await page.getByTestId('price-sheet-input').setInputFiles('tests/fixtures/price-sheet-eur.csv');
  await page.waitForSelector('[data-testid=price-message]');
  assert.match(await page.getByTestId('price-message').textContent(), /2 rates imported, 1 rows skipped \(line 4: rate in USD, the sheet is in EUR\)/);
  const engine = engineBill('--prices', 'tests/fixtures/price-sheet-eur.csv', 'public/sample/usage-sample.csv');
  const total = await billTotal();
  assert.equal(await page.getByTestId('bill-total').getAttribute('data-currency'), 'EUR');
  assert.ok(Math.abs(total - engine.total) < 1e-6, `${total} vs ${engine.total}`);
  await page.getByTestId('nav-meters').click();
  await page.getByTestId('reset-rates').click();
});

test('reconciliation of both sides shows the statuses the CLI gives, and exports its cells', async () => {
  const local = 'tests/fixtures/reconcile-local.csv';
  const azure = 'tests/fixtures/reconcile-azure.csv';
  await page.getByTestId('file-input').setInputFiles([local, azure]);
  await waitForSource('reconcile-azure.csv');
  await page.getByTestId('nav-reconcile').click();
  await page.waitForSelector('[data-testid=rec-status]');
  const engine = JSON.parse(execFileSync(CLI, ['reconcile', '--json', '--local', local, '--azure', azure]));
  const shown = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid=rec-status] tr[data-status]')].map((tr) => [tr.dataset.status, Number(tr.dataset.value)])));
  for (const [status, count] of Object.entries(shown)) {
    assert.equal(count, engine.summary.by_status[status] ?? 0, status);
  }
  assert.equal(shown.midnight_shift, 2);
  assert.match(await page.getByTestId('waterfall').innerHTML(), /Unexplained/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-reconciliation').click()]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(csv.length, engine.cells.length + 1);
  assert.ok(csv.some((line) => line.includes('midnight_shift')));
  await page.screenshot({ path: join(OUT, 'reconciliation.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('text from files is shown as text, never run', async () => {
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.getByTestId('nav-overview').click();
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/bad/hostile-text.csv');
  await waitForSource('hostile-text.csv');
  await page.getByTestId('admin-reasons').locator('summary').click();
  const text = await page.locator('main').textContent();
  assert.ok(text.includes('<script>alert(1)</script>'), 'the payload is visible as text');
  assert.equal(await page.locator('main img, main script').count(), 0, 'no element was created from file text');
  await page.waitForTimeout(200);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test('the same file picked twice: the user is asked before anything is counted twice', async () => {
  const fixture = 'tests/fixtures/usagesummary-small.csv';
  const copy = join(OUT, 'copy-of-usagesummary.csv');
  copyFileSync(fixture, copy);
  await page.getByTestId('nav-overview').click();
  await page.getByTestId('file-input').setInputFiles([fixture, copy]);
  await page.waitForSelector('[data-testid=repeat-question]');
  assert.match(await page.getByTestId('repeat-question').textContent(), /copy-of-usagesummary\.csv is the same file as usagesummary-small\.csv.*twice/);
  await page.getByTestId('read-once').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent.includes('read once'));
  assertKpisMatch(await kpis(), engineSummary(fixture));
  // Asked again, the user counts both: every row twice, and the page says so.
  await page.getByTestId('file-input').setInputFiles([fixture, copy]);
  await page.getByTestId('count-both').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent.includes('both were counted'));
  assert.equal((await kpis()).rows, 2 * engineSummary(fixture).rows);
});

const PARQUET_TWINS = [
  ['cost-management-ea-actual.csv', 'cost-management-ea-actual.snappy.parquet', 'Cost Management export (Parquet)'],
  ['cost-management-ea-2024-08-01.csv', 'cost-management-ea-2024-08-01.gzip.parquet', 'Cost Management export (Parquet)'],
  ['focus-1.0.csv', 'focus-1.0.uncompressed.parquet', 'FOCUS 1.0 (Parquet)'],
  ['focus-1.2.csv', 'focus-1.2.snappy.parquet', 'FOCUS 1.2 (Parquet)'],
];

test('Parquet exports load to the figures of their CSV twins', async () => {
  for (const [csv, parquet, label] of PARQUET_TWINS) {
    await page.getByTestId('file-input').setInputFiles(`tests/fixtures/parquet/${parquet}`);
    await waitForSource(parquet);
    const twin = engineSummary(`tests/fixtures/${csv}`);
    assert.ok(twin.rows > 0);
    assertKpisMatch(await kpis(), twin);
    assert.match(await page.getByTestId('issues').textContent(), new RegExp(`${parquet}: ${twin.inputs[0].rows} rows as ${label.replace(/[()]/g, '\\$&')}, 0 rejected`));
  }
  assert.deepEqual(pageErrors, []);
});

test('the selected rows export as FOCUS 1.2, the same text meterlens export writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterlens-focus-'));
  const files = ['usagesummary-small.csv', 'cost-management-ea-actual.csv'];
  for (const f of files) copyFileSync(`tests/fixtures/${f}`, join(dir, f));
  await page.getByTestId('file-input').setInputFiles(files.map((f) => join(dir, f)));
  await waitForSource('cost-management-ea-actual.csv');
  await page.getByTestId('nav-data').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-focus').click()]);
  const fromPage = readFileSync(await download.path(), 'utf8');
  execFileSync(join(process.cwd(), CLI), ['export', '--format', 'focus-csv', '--spreadsheet-safe', '--out', 'focus.csv', ...files], { cwd: dir, stdio: 'pipe' });
  const fromCli = readFileSync(join(dir, 'focus.csv'), 'utf8');
  assert.ok(fromPage.startsWith('BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,'));
  assert.equal(fromPage.split('\n').length, engineSummary(...files.map((f) => join(dir, f))).rows + 2);
  assert.equal(fromPage, fromCli);
  // The same rows as Parquet, written by the Parquet worker: DuckDB finds them equal to `meterlens export`'s.
  const [parquet] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-focus-parquet').click()]);
  await parquet.saveAs(join(dir, 'page.parquet'));
  execFileSync(join(process.cwd(), CLI), ['export', '--format', 'focus-parquet', '--out', 'cli.parquet', ...files], { cwd: dir, stdio: 'pipe' });
  const compare = `import duckdb, json
a, b = "${join(dir, 'page.parquet')}", "${join(dir, 'cli.parquet')}"
q = lambda s: duckdb.sql(s).fetchall()
print(json.dumps([q(f"SELECT count(*) FROM '{a}'")[0][0], q(f"SELECT count(*) FROM (SELECT * FROM '{a}' EXCEPT ALL SELECT * FROM '{b}')")[0][0],
  q(f"SELECT count(*) FROM (SELECT * FROM '{b}' EXCEPT ALL SELECT * FROM '{a}')")[0][0]]))`;
  const [rows, onlyPage, onlyCli] = JSON.parse(execFileSync('python3', ['-c', compare]).toString());
  assert.deepEqual([rows, onlyPage, onlyCli], [fromPage.split('\n').length - 2, 0, 0]);
  await page.getByTestId('nav-overview').click();
  assert.deepEqual(pageErrors, []);
});

test('the bill page applies the licensing model chosen, per stamp, and says so', async () => {
  const sample = 'public/sample/usage-sample.csv';
  await page.getByTestId('nav-overview').click();
  await page.getByTestId('file-input').setInputFiles(sample);
  await waitForSource('usage-sample.csv');
  for (const model of ['payg-included', 'payg-byol', 'capacity', 'asdk']) {
    await page.getByTestId('nav-bill').click();
    await page.getByTestId('bill-licensing').selectOption(model);
    await page.waitForSelector(`[data-testid=bill-licensing-shown][data-value=${model}]`);
    const engine = engineBill('--licensing', model, sample);
    const shown = await billTotal();
    assert.ok(Math.abs(shown - engine.total) < 1e-6, `${model}: ${shown} vs ${engine.total}`);
    assert.equal(await page.getByTestId('assumptions').locator('li').first().textContent(), engine.assumptions[0]);
    if (model === 'capacity' || model === 'asdk') assert.equal(shown, 0);
    if (model === 'payg-byol') {
      const windows = await page.locator('[data-testid=bill-lines] tr[data-meter="9CD92D4C-BAFD-4492-B278-BEDC2DE8232A"]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.cost)));
      assert.ok(windows.length > 0 && windows.every((c) => c === 0));
    }
  }
  // The choice is kept in this browser, and reconciliation says which model its costs assume.
  await page.reload();
  await waitForSource('usage-sample.csv');
  await page.getByTestId('nav-bill').click();
  await page.waitForSelector('[data-testid=bill-licensing-shown][data-value=asdk]');
  await page.getByTestId('bill-licensing').selectOption('payg-included');
  await page.waitForSelector('[data-testid=bill-licensing-shown][data-value=payg-included]');
  assert.deepEqual(pageErrors, []);
});

/** The status counts the Reconciliation page shows. */
async function reconcileStatuses() {
  await page.waitForSelector('[data-testid=rec-status]');
  return page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid=rec-status] tr[data-status]')].map((tr) => [tr.dataset.status, Number(tr.dataset.value)])));
}

test('Partner Center files (daily rated and legacy usage-based) reconcile against local usage as the CLI does', async () => {
  const local = 'tests/fixtures/reconcile-local.csv';
  for (const azure of ['tests/fixtures/partner-center-daily.csv', 'tests/fixtures/partner-center-usage.csv']) {
    await page.getByTestId('nav-overview').click();
    await page.getByTestId('file-input').setInputFiles([local, azure]);
    await waitForSource(azure.split('/').pop());
    const engine = JSON.parse(execFileSync(CLI, ['reconcile', '--json', '--local', local, '--azure', azure]));
    // Partner Center files name the CSP customer: a slicer offers it.
    await page.locator('[data-testid=slicer-customer] summary').click();
    // The list is counted once the slicer opens.
    await page.locator('[data-testid=slicer-customer] input[data-value="Contoso Ltd"]').waitFor();
    await page.getByTestId('nav-reconcile').click();
    const shown = await reconcileStatuses();
    assert.ok(Object.values(shown).some((n) => n > 0));
    for (const [status, count] of Object.entries(shown)) assert.equal(count, engine.summary.by_status[status] ?? 0, `${azure} ${status}`);
    const notes = await page.getByTestId('reconcile-notes').locator('li').allTextContents();
    assert.deepEqual(notes, engine.summary.notes);
    if (azure.endsWith('usage.csv')) {
      assert.ok(notes.some((n) => n.includes('per calendar month')));
      // The registration the user states is used and said.
      await page.getByTestId('registration').locator('summary').click();
      await page.getByTestId('registration-subscription').fill('0aaaaaaa-1bbb-4ccc-8ddd-2eeeeeeeeeee');
      await page.getByTestId('registration-subscription').dispatchEvent('change');
      await page.waitForFunction(() => document.querySelector('[data-testid=reconcile-notes]')?.textContent.includes('registered to Azure subscription 0aaaaaaa'));
      await page.screenshot({ path: join(OUT, 'reconcile-partner-center.png'), fullPage: true });
    }
  }
  assert.deepEqual(pageErrors, []);
});

test('two stamps load side by side: location is a slicer and the bill can be per stamp', async () => {
  const files = ['tests/fixtures/usagesummary-small.csv', 'tests/fixtures/usagesummary-redmond.csv'];
  await page.getByTestId('nav-overview').click();
  await page.getByTestId('file-input').setInputFiles(files);
  await waitForSource('usagesummary-redmond.csv');
  await page.locator('[data-testid=slicer-location] summary').click();
  await page.locator('[data-testid=slicer-location] input[data-value="redmond"]').waitFor();
  const stamps = await page.locator('[data-testid=slicer-location] input[type=checkbox]').evaluateAll((inputs) => inputs.map((i) => i.dataset.value));
  assert.deepEqual(stamps.sort(), ['local', 'redmond']);
  await page.getByTestId('nav-bill').click();
  for (const stamp of ['redmond', 'local']) {
    await page.getByTestId('bill-stamp').selectOption(stamp);
    await page.waitForFunction((s) => document.querySelector('[data-testid=bill-page] .invoice-head')?.textContent.includes(`stamp ${s}`), stamp);
    const engine = engineBill('--location', stamp, ...files);
    assert.ok(Math.abs((await billTotal()) - engine.total) < 1e-6, stamp);
  }
  assert.deepEqual(pageErrors, []);
});

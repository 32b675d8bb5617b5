// End-to-end security: a Content-Security-Policy without inline script (and no violation while the app works),
// hostile text from files shown as text in charts, tooltips and slicers, spreadsheet formulas neutralised in
// CSV exports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = process.env.METERLENS_URL ?? 'http://127.0.0.1:8080/';
const HOSTILE = 'tests/fixtures/bad/hostile-visuals.csv';
const EVIL_RG = '=HYPERLINK("http://evil.example","x")';

let browser;
let page;
const dialogs = [];
const pageErrors = [];

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(BASE);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('embedded sample'));
});

after(async () => {
  await browser?.close();
});

async function download(locator) {
  const [file] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  return readFileSync(await file.path(), 'utf8');
}

test('the page runs under a Content-Security-Policy without inline script, and breaks none of it', async () => {
  const html = await (await fetch(BASE)).text();
  const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1];
  assert.ok(csp, 'a CSP meta tag');
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
  assert.ok(scriptSrc && !scriptSrc.includes('unsafe-inline') && !scriptSrc.includes("'unsafe-eval'"), scriptSrc);
  const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs, body]) => !/\bsrc=/.test(attrs) || body.trim());
  assert.deepEqual(inline.map((m) => m[0]), [], 'no inline script');
  for (const name of ['explorer', 'resources', 'data', 'bill', 'meters', 'reconcile', 'connect', 'overview']) {
    await page.getByTestId(`nav-${name}`).click();
  }
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/usagesummary-small.csv');
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('usagesummary-small.csv'));
  const png = await download(page.getByTestId('time-visual').getByTestId('export-png'));
  assert.ok(png.length > 1000, 'a PNG was drawn through the canvas');
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(pageErrors, []);
});

test('hostile text from a file is text in charts, tooltips and slicers, and a formula in exports', async () => {
  await page.getByTestId('file-input').setInputFiles(HOSTILE);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('hostile-visuals.csv'));
  const hit = page.locator('[data-testid=top-resource-groups] .hit').filter({ has: page.locator(':scope') }).first();
  const keys = await page.locator('[data-testid=top-resource-groups] .hit').evaluateAll((h) => h.map((x) => x.dataset.key));
  assert.ok(keys.includes(EVIL_RG), keys.join(' | '));
  await page.locator('[data-testid=top-resource-groups] .hit').nth(keys.indexOf(EVIL_RG)).hover();
  assert.ok((await page.getByTestId('tooltip').textContent()).startsWith(EVIL_RG));
  assert.ok((await page.getByTestId('top-resource-groups').locator('svg').textContent()).includes('=HYPERLINK'), 'the label is drawn as SVG text');
  // Drill to the resources of the hostile row: the resource name is an <img onerror> payload.
  await page.locator('[data-testid=breakdown-visual] .hit[data-key=Compute]').click();
  await page.locator('[data-testid=breakdown-visual] .hit[data-key="Base VM Size Hours"]').click();
  await page.waitForSelector('[data-testid=crumb-2]');
  const labels = await page.locator('[data-testid=breakdown-visual] .hit').evaluateAll((h) => h.map((x) => x.getAttribute('aria-label')));
  assert.ok(labels.some((l) => l.includes('vm1')), labels.join(' | '));
  await page.locator('[data-testid=slicer-resource_group] summary').click();
  // The list is counted once the slicer opens.
  await page.waitForFunction((rg) => document.querySelector('[data-testid=slicer-resource_group]')?.textContent.includes(rg), EVIL_RG);
  await page.getByTestId('tag-key').selectOption('owner');
  await page.waitForSelector('[data-testid="slicer-tag:owner"]');
  assert.ok((await page.getByTestId('slicer-tag:owner').textContent()).includes('<script>alert(4)</script>'));
  assert.equal(await page.locator('main img, main script, main iframe, svg script, svg image, svg foreignObject').count(), 0);
  await page.waitForTimeout(200);
  assert.deepEqual(dialogs, []);

  // Exports: a cell a spreadsheet would run starts with a quote.
  await page.getByTestId('crumb-0').click();
  const chart = await download(page.getByTestId('top-resource-groups').getByTestId('export-csv'));
  assert.ok(chart.includes('"\'=HYPERLINK(""http://evil.example"",""x"")"'), chart);
  await page.getByTestId('nav-data').click();
  await page.waitForSelector('[data-testid=data-table]');
  const rows = await download(page.getByTestId('data-page').getByTestId('export-csv'));
  assert.ok(rows.includes('"\'=HYPERLINK('), rows);
  assert.ok(!/(^|,)=HYPERLINK/m.test(rows), 'no cell starts with =');
  await page.getByTestId('nav-resources').click();
  const resources = await download(page.getByTestId('resources-page').getByTestId('export-csv'));
  assert.ok(resources.includes("'=HYPERLINK") && resources.includes('team=+cmd'), resources);
  assert.deepEqual(pageErrors, []);
});

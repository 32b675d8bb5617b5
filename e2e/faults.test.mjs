// End-to-end faults mid-flight: cancel, a worker that dies, a reload during loading, a storage quota error. Each
// ends with a clear message and the data shown before intact; a half-loaded table is never shown or kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.METERLENS_URL ?? 'http://127.0.0.1:8080/';
const CLI = process.env.METERLENS_CLI ?? 'target/debug/meterlens';
const SMALL = 'tests/fixtures/usagesummary-small.csv';

let browser;
let big;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterlens-faults-'));
  big = join(dir, 'big-usage.csv');
  // About 80 MB: long enough to act while it loads.
  execFileSync(CLI, ['generate', '--rows', '200000', '--seed', '11', '--out', big]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
});

/** A fresh page (own storage) with the small fixture loaded and kept. */
async function pageWithSmallFile(setup) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await setup?.(page);
  await page.goto(BASE);
  await source(page, 'embedded sample');
  await page.getByTestId('file-input').setInputFiles(SMALL);
  await source(page, 'usagesummary-small.csv');
  return { page, context, errors };
}

async function source(page, text) {
  await page.waitForFunction((t) => document.querySelector('[data-testid=source]')?.textContent.includes(t), text, { timeout: 60000 });
}

async function rows(page) {
  return Number(await page.getByTestId('kpi-rows').getAttribute('data-value'));
}

async function notice(page, pattern) {
  await page.waitForFunction((p) => new RegExp(p).test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), pattern.source, { timeout: 60000 });
  return page.getByTestId('notice').textContent();
}

test('a load shows its progress and can be cancelled; the earlier data stays', async () => {
  const { page, context, errors } = await pageWithSmallFile();
  const before = await rows(page);
  await page.getByTestId('file-input').setInputFiles(big);
  await page.waitForSelector('[data-testid=progress]');
  assert.match(await page.getByTestId('progress').textContent(), /Reading big-usage\.csv · [\d.,]+ of [\d.,]+ MB · [\d,]+ rows/);
  await page.getByTestId('cancel-load').click();
  assert.match(await notice(page, /Loading cancelled/), /previous report is still shown/);
  assert.equal(await page.getByTestId('progress').count(), 0);
  assert.equal(await rows(page), before);
  await page.waitForTimeout(500);
  assert.match(await page.getByTestId('source').textContent(), /usagesummary-small\.csv/, 'no late result replaced it');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a big file loads through the worker with progress, and its KPIs are the engine figures', async () => {
  const { page, context, errors } = await pageWithSmallFile();
  await page.getByTestId('file-input').setInputFiles(big);
  await source(page, 'big-usage.csv');
  const engine = JSON.parse(execFileSync(CLI, ['summary', '--json', big]));
  assert.equal(await rows(page), engine.rows);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a file that cannot be read past its first slice is named in the error, and nothing of its load is kept', async () => {
  // The page reads the slices the worker asks for: past the first 4 MiB, this file has gone (as a file on a
  // removed USB stick does).
  const { page, context } = await pageWithSmallFile((p) => p.addInitScript(() => {
    const slice = Blob.prototype.slice;
    const arrayBuffer = Blob.prototype.arrayBuffer;
    Blob.prototype.slice = function (start, ...rest) {
      const part = slice.call(this, start, ...rest);
      if (this.name === 'big-usage.csv' && start > 0) part.gone = true;
      return part;
    };
    Blob.prototype.arrayBuffer = function () {
      return this.gone ? Promise.reject(new DOMException('The file could not be read.', 'NotReadableError')) : arrayBuffer.call(this);
    };
    // Slices after the first few are read into recycled buffers through the slice's stream.
    const stream = Blob.prototype.stream;
    Blob.prototype.stream = function () {
      if (!this.gone) return stream.call(this);
      return new ReadableStream({ type: 'bytes', pull(c) { c.error(new DOMException('The file could not be read.', 'NotReadableError')); } });
    };
  }));
  const before = await rows(page);
  await page.getByTestId('file-input').setInputFiles(big);
  const text = await notice(page, /Loading stopped/);
  assert.match(text, /big-usage\.csv: could not read the file: NotReadableError: The file could not be read\./);
  assert.match(text, /Nothing of this load was kept/);
  assert.equal(await rows(page), before);
  assert.match(await page.getByTestId('source').textContent(), /usagesummary-small\.csv/);
  await context.close();
});

test('files picked while the sample is still on its way keep their question, and load when answered', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/sample/usage-sample.csv', async (route) => { await held; await route.continue(); });
  await page.goto(BASE);
  const copy = join(mkdtempSync(join(tmpdir(), 'meterlens-faults-')), 'copy-of-small.csv');
  copyFileSync(SMALL, copy);
  await page.getByTestId('file-input').setInputFiles([SMALL, copy]);
  await page.waitForSelector('[data-testid=repeat-question]');
  release();
  await source(page, 'embedded sample');
  assert.equal(await page.getByTestId('repeat-question').count(), 1, 'the sample did not take the question away');
  await page.getByTestId('read-once').click();
  await source(page, 'usagesummary-small.csv');
  assert.equal(await page.getByTestId('repeat-question').count(), 0);
  await context.close();
});

test('kept data that no longer reads is forgotten, and the sample says why it is shown', async () => {
  const { page, context } = await pageWithSmallFile();
  await page.waitForFunction(async () => (await (await caches.open('meterlens-data-v1')).keys()).length === 1);
  await page.evaluate(async () => {
    const cache = await caches.open('meterlens-data-v1');
    await cache.put('/meterlens/dataset', new Response(new Uint8Array([77, 76, 68, 65, 84, 65, 48, 52, 1, 2, 3])));
  });
  await page.reload();
  await source(page, 'embedded sample');
  assert.match(await notice(page, /last visit/), /The data kept from your last visit could not be read \(.+\); showing the sample\./);
  assert.equal(await page.evaluate(async () => (await (await caches.open('meterlens-data-v1')).keys()).length), 0);
  await context.close();
});

test('the sample asked for while a load is still being kept wins: the load does not come back on reload', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // Keeping a dataset takes a while (a big file on a slow disk).
  await page.addInitScript(() => {
    const put = Cache.prototype.put;
    Cache.prototype.put = function (...args) {
      return new Promise((resolve) => setTimeout(resolve, 1500)).then(() => put.apply(this, args));
    };
  });
  await page.goto(BASE);
  await source(page, 'embedded sample');
  await page.getByTestId('file-input').setInputFiles(SMALL);
  await source(page, 'usagesummary-small.csv');
  await page.getByTestId('load-sample').click();
  await source(page, 'embedded sample');
  await page.waitForTimeout(2500);
  await page.reload();
  await source(page, 'embedded sample');
  assert.equal(await page.getByTestId('forget-data').count(), 0);
  await context.close();
});

test('a worker that crashes as its load starts is reported and nothing of its load is kept', async () => {
  const { page, context } = await pageWithSmallFile();
  await page.route('**/meterlens-worker_loader.js', (route) => route.fulfill({
    contentType: 'text/javascript',
    body: `self.addEventListener('message', (e) => { if (typeof e.data !== 'string') throw new Error('simulated crash during ingest'); });
           importScripts('./meterlens-worker.js'); wasm_bindgen('./meterlens-worker_bg.wasm');`,
  }));
  const before = await rows(page);
  await page.getByTestId('file-input').setInputFiles(big);
  const text = await notice(page, /Loading stopped/);
  assert.match(text, /the ingest worker stopped unexpectedly \(.*simulated crash during ingest\)/);
  assert.match(text, /Nothing of this load was kept/);
  assert.equal(await rows(page), before);
  await page.reload();
  await source(page, 'usagesummary-small.csv');
  await context.close();
});

test('a reload while loading brings back the last complete data, never half a load', async () => {
  const { page, context, errors } = await pageWithSmallFile();
  const before = await rows(page);
  await page.getByTestId('file-input').setInputFiles(big);
  await page.waitForSelector('[data-testid=progress]');
  await page.reload();
  await source(page, 'usagesummary-small.csv');
  assert.equal(await rows(page), before);
  assert.match(await page.getByTestId('source').textContent(), /kept in this browser/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('when browser storage refuses the data (quota), the report still works and says a reload will lose it', async () => {
  const { page, context, errors } = await pageWithSmallFile(async (page) => {
    await page.addInitScript(() => {
      Cache.prototype.put = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    });
  });
  const text = await notice(page, /would not keep/);
  assert.match(text, /QuotaExceededError: The quota has been exceeded\..*a reload will not bring it back/);
  const engine = JSON.parse(execFileSync(CLI, ['summary', '--json', SMALL]).toString() || '{}');
  assert.equal(await rows(page), engine.rows);
  await page.reload();
  await source(page, 'embedded sample');
  assert.deepEqual(errors, []);
  await context.close();
});

/** Names in the page's origin private file system (where the worker hands a dataset over). */
async function privateFiles(page) {
  return page.evaluate(async () => {
    const names = [];
    for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
    return names;
  });
}

test('a big load is handed over through a file on disk, which is gone once the data is kept', async () => {
  const { page, context, errors } = await pageWithSmallFile();
  await page.getByTestId('file-input').setInputFiles(big);
  await source(page, 'big-usage.csv');
  const engine = JSON.parse(execFileSync(CLI, ['summary', '--json', big]).toString() || '{}');
  assert.equal(await rows(page), engine.rows);
  assert.equal(await page.evaluate(() => window.wasmBindings.meterlensHandover()), 'file');
  await source(page, 'kept in this browser');
  assert.deepEqual(await privateFiles(page), []);
  await page.reload();
  await source(page, 'big-usage.csv');
  assert.equal(await rows(page), engine.rows);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without a private file system the worker hands its buffers over, and the data is kept the same', async () => {
  const { page, context, errors } = await pageWithSmallFile(async (page) => {
    await page.addInitScript(() => { delete StorageManager.prototype.getDirectory; });
  });
  const engine = JSON.parse(execFileSync(CLI, ['summary', '--json', SMALL]).toString() || '{}');
  assert.equal(await rows(page), engine.rows);
  assert.equal(await page.evaluate(() => window.wasmBindings.meterlensHandover()), 'buffers');
  await source(page, 'kept in this browser');
  await page.reload();
  await source(page, 'usagesummary-small.csv');
  assert.equal(await rows(page), engine.rows);
  assert.deepEqual(errors, []);
  await context.close();
});

test('bad files in the page: each says what is wrong, good rows are kept, earlier data stays', async () => {
  const { page, context, errors } = await pageWithSmallFile();
  const before = await rows(page);
  for (const [file, pattern] of [
    ['empty.csv', /empty\.csv: the file is empty/],
    ['binary.csv', /binary\.csv: this is a binary file/],
    ['utf16le-bom.csv', /utf16le-bom\.csv: the file is UTF-16 text; save it as UTF-8 CSV/],
  ]) {
    await page.getByTestId('file-input').setInputFiles(`tests/fixtures/bad/${file}`);
    const text = await notice(page, pattern);
    assert.match(text, /previous report is still shown/, file);
    assert.equal(await rows(page), before, `${file}: the report is unchanged`);
  }
  // A truncated JSON keeps the rows before the cut and says so.
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/bad/truncated.json');
  await source(page, 'truncated.json');
  assert.match(await notice(page, /ends early/), /truncated; rows before the cut were kept/);
  assert.equal(await rows(page), 2, 'the two rows before the cut (as the engine and CLI corpus tests say)');
  // Unusable quantities are listed by line in the file card; the good rows are counted.
  await page.getByTestId('file-input').setInputFiles('tests/fixtures/bad/numbers.csv');
  await source(page, 'numbers.csv');
  const issues = await page.getByTestId('issues').textContent();
  assert.match(issues, /3 rows as Azure Stack Hub Usagesummary\.ps1 CSV, 4 rejected/);
  assert.match(issues, /quantity "NaN" is not a number/);
  assert.deepEqual(errors, []);
  await context.close();
});

// Browser benchmark: MeterLens and its in-browser peers (DuckDB-Wasm, Papa Parse, Arquero) on the same generated
// Cost Management CSV, each in a fresh headless Chromium, side by side in one run. Prints one table (absolute
// figures and MeterLens' speed-up over each peer) and writes it as JSON. Run through scripts/bench-browser.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => a.startsWith('--') ? [a.slice(2), all[i + 1]] : null).filter(Boolean));
const ROWS = (args.rows ?? '100000,1000000').split(',').map(Number);
const ENGINES = (args.engines ?? 'meterlens,duckdb,papaparse,arquero').split(',');
const OUT = args.out ?? 'bench/results/latest.json';
const APP = process.env.BENCH_APP_URL ?? 'http://127.0.0.1:8091/';
const PEERS = process.env.BENCH_PEERS_URL ?? 'http://127.0.0.1:8092/bench/peers.html';
const CLI = process.env.METERLENS_CLI ?? 'target/release/meterlens';
const DIR = process.env.BENCH_DIR ?? '/tmp/meterlens-bench';
const SLICER_CLICKS = 6;
const run = promisify(execFile);

function summary(file, ...more) {
  return JSON.parse(execFileSync(CLI, ['summary', '--json', '--include-admin', ...more, file], { maxBuffer: 1 << 26 }));
}

/** The file for `rows` rows (generated once), and the subscription and three resource groups of q2. */
function prepare(rows) {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `cost-management-${rows}.csv`);
  if (!existsSync(file)) execFileSync(CLI, ['generate', '--format', 'cost-management-csv', '--rows', String(rows), '--seed', '1', '--out', file]);
  const subscription = summary(file, '--by', 'subscription', '--top', '1').groups[0].key.subscription;
  const groups = summary(file, '--filter', `subscription=${subscription}`, '--by', 'resource_group', '--top', '3')
    .groups.map((g) => g.key.resource_group).filter((g) => g !== 'Others');
  return { file, bytes: statSync(file).size, q2: { subscription, groups } };
}

/** Samples the summed RSS of a browser's processes (found by its marker flag); `stop()` returns the peak growth. */
function rssSampler(marker) {
  let base = null;
  let peak = 0;
  let busy = false;
  // RSS per process kind (browser, renderer, utility…) at the start and at the peak.
  let baseDetail = null;
  let peakDetail = null;
  let peakAt = 0;
  const trace = [];
  const started = Date.now();
  const detail = (procs, lines, tree) => {
    const kinds = {};
    procs.forEach(([p, , rss], i) => {
      if (!tree.has(p)) return;
      const kind = lines[i].match(/--type=([\w-]+)/)?.[1] ?? 'browser';
      kinds[kind] = (kinds[kind] ?? 0) + rss;
    });
    return kinds;
  };
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const { stdout } = await run('ps', ['-e', '-o', 'pid=,ppid=,rss=,args='], { maxBuffer: 1 << 24 });
      const lines = stdout.trim().split('\n').map((l) => l.trim());
      const procs = lines.map((l) => l.split(/\s+/).slice(0, 3).map(Number));
      const tree = new Set(procs.filter((_, i) => lines[i].includes(marker)).map(([p]) => p));
      for (let grew = true; grew;) {
        grew = false;
        for (const [p, pp] of procs) if (tree.has(pp) && !tree.has(p)) { tree.add(p); grew = true; }
      }
      const kb = procs.filter(([p]) => tree.has(p)).reduce((s, [, , rss]) => s + rss, 0);
      base ??= kb;
      baseDetail ??= detail(procs, lines, tree);
      if (kb > peak) [peakDetail, peakAt] = [detail(procs, lines, tree), Date.now() - started];
      // BENCH_TRACE=1: the growth about every second, to see which phase the peak is in.
      if (process.env.BENCH_TRACE && Date.now() - started >= trace.length * 1000) trace.push(Math.round((kb - base) / 1024));
      peak = Math.max(peak, kb);
    } finally { busy = false; }
  };
  const timer = setInterval(sample, 150);
  return {
    ready: sample(),
    stop: async () => {
      clearInterval(timer);
      await sample();
      if (process.env.BENCH_DETAIL) {
        const growth = Object.fromEntries(Object.entries(peakDetail ?? {}).map(([k, kb]) => [k, Math.round((kb - (baseDetail?.[k] ?? 0)) / 1024)]));
        console.error(`peak RSS growth by process kind (MB), ${peakAt} ms after sampling started: ${JSON.stringify(growth)}`);
        if (trace.length) console.error(`RSS growth each second (MB): ${trace.join(' ')}`);
      }
      return (peak - base) * 1024;
    },
  };
}

let launches = 0;

/** A fresh browser with a profile on disk, as a user's is (an off-the-record context keeps site storage in
 *  memory, which would count a kept dataset as the browser's memory), and the marker flag that finds its
 *  processes. */
async function launch() {
  const marker = `--meterlens-bench-${process.pid}-${++launches}`;
  const profile = mkdtempSync(join(tmpdir(), 'meterlens-bench-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    viewport: { width: 1280, height: 800 },
    args: [marker, '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--enable-precise-memory-info',
      '--js-flags=--max-old-space-size=8192'],
  });
  browser.marker = marker;
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

/** Time (ms) from a click to the report having re-rendered, measured in the page. */
async function clickAndRender(page, selector) {
  return page.evaluate(async (sel) => {
    const yieldTask = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = r; c.port2.postMessage(0); });
    const marker = () => document.querySelector('[data-testid=kpi-rows]')?.dataset.value;
    const before = marker();
    const t0 = performance.now();
    document.querySelector(sel).click();
    while (marker() === before) await yieldTask();
    await yieldTask();
    return performance.now() - t0;
  }, selector);
}

async function meterlens(prep) {
  const browser = await launch();
  const page = await browser.newPage();
  await page.addInitScript(() => addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; }));
  // BENCH_NO_CACHE=1: the browser refuses to keep the dataset (what keeping it costs).
  if (process.env.BENCH_NO_CACHE) await page.addInitScript(() => { CacheStorage.prototype.open = () => Promise.reject(new Error('off')); });
  await page.goto(APP);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('embedded sample'));
  const rss = rssSampler(browser.marker);
  await rss.ready;
  const name = prep.file.split('/').pop();
  const t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles(prep.file);
  await page.waitForFunction((n) => document.querySelector('[data-testid=source]')?.textContent.includes(n), name, { timeout: 600000, polling: 50 });
  const load_ms = Date.now() - t0;
  // Cold: the engine forgets its cached dimension codes, selections and answers before each question.
  const timed = (spec) => page.evaluate((s) => {
    window.wasmBindings.meterlensClearCaches();
    const t = performance.now();
    const answer = JSON.parse(window.wasmBindings.meterlensQuery(s));
    return { ms: performance.now() - t, answer };
  }, spec);
  const groups = prep.q2.groups.join('|');
  const q1 = await timed('by=meter_category,day;admin=1');
  const q2 = await timed(`by=meter_name;admin=1;filter=subscription=${prep.q2.subscription};filter=resource_group=${groups}`);
  const q3 = await timed('by=resource;admin=1;sort=cost:USD;top=10');
  for (const q of [q1, q2, q3]) if (q.answer.error) throw new Error(q.answer.error);
  // q2 as a slicer click asks it in the app: the dataset's codes are built (once, at load), but no selection or
  // answer is cached. Median of five.
  const reaggregations = [];
  for (let i = 0; i < 5; i++) {
    reaggregations.push(await page.evaluate((s) => {
      window.wasmBindings.meterlensClearAnswers();
      const t = performance.now();
      window.wasmBindings.meterlensQuery(s);
      return performance.now() - t;
    }, `by=meter_name;admin=1;filter=subscription=${prep.q2.subscription};filter=resource_group=${groups}`));
  }
  reaggregations.sort((a, b) => a - b);
  // A slicer click in the UI: every visual of the Overview re-renders.
  await page.locator('[data-testid=slicer-resource_group] summary').click();
  await page.locator('[data-testid=slicer-resource_group] input[type=checkbox]').first().waitFor();
  // Each click adds another resource group: every state is new, so no answer comes from a cache.
  const groupsToClick = await page.locator('[data-testid=slicer-resource_group] input[type=checkbox]').evaluateAll((inputs, n) => inputs.slice(0, n).map((i) => i.dataset.value), SLICER_CLICKS);
  const clicks = [];
  for (const group of groupsToClick) {
    clicks.push(await clickAndRender(page, `[data-testid=slicer-resource_group] input[data-value="${group}"]`));
  }
  clicks.sort((a, b) => a - b);
  const memory = await page.evaluate(() => ({ js: performance.memory.usedJSHeapSize, wasm: window.__wasm?.memory?.buffer.byteLength ?? 0, worker: window.wasmBindings.meterlensWorkerMemory?.() ?? 0, handover: window.wasmBindings.meterlensHandover?.() ?? "buffers" }));
  if (process.env.BENCH_DETAIL) console.error(`page JS heap ${Math.round(memory.js / 1e6)} MB, page wasm memory ${Math.round(memory.wasm / 1e6)} MB; the ingest worker's wasm memory at its hand-over (through ${memory.handover}) ${Math.round(memory.worker / 1e6)} MB`);
  const peak = await rss.stop();
  const rows = summary(prep.file).rows + summary(prep.file).admin_rows_excluded;
  await browser.close();
  return { engine: 'MeterLens', load_ms, q1_ms: q1.ms, q2_ms: q2.ms, q3_ms: q3.ms, q2_reaggregation_ms: reaggregations[2], slicer_click_ms: clicks[Math.floor(clicks.length / 2)],
    rows, q1_groups: q1.answer.groups, q2_groups: q2.answer.groups, heap_bytes: memory.js + memory.wasm, peak_rss_bytes: peak };
}

async function peer(engine, prep) {
  const browser = await launch();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(PEERS);
  await page.waitForFunction(() => window.peersReady === true, null, { timeout: 60000 });
  await page.setInputFiles('#file', prep.file);
  const rss = rssSampler(browser.marker);
  await rss.ready;
  let result;
  try {
    result = await page.evaluate(async ({ engine, q2 }) => {
      const out = await window.peers[engine](document.getElementById('file').files[0], q2);
      return { ...out, heap_bytes: performance.memory.usedJSHeapSize };
    }, { engine, q2: prep.q2 });
  } catch (error) {
    result = { error: String(error).split('\n')[0] };
  }
  const peak = await rss.stop();
  await browser.close();
  const names = { duckdb: 'DuckDB-Wasm 1.32.0', papaparse: 'Papa Parse 5.7.1', arquero: 'Arquero 8.0.3' };
  return { engine: names[engine], ...result, peak_rss_bytes: peak, page_errors: errors };
}

/** One page session: twenty files at once, then the largest file, in the same tab; did it survive, how long. */
async function session(largest) {
  const files = [];
  for (let i = 0; i < 20; i++) {
    const file = join(DIR, `session-${i + 1}.csv`);
    if (!existsSync(file)) execFileSync(CLI, ['generate', '--format', 'cost-management-csv', '--rows', '50000', '--seed', String(101 + i), '--out', file]);
    files.push(file);
  }
  const browser = await launch();
  const page = await browser.newPage();
  const crashes = [];
  page.on('crash', () => crashes.push('renderer crashed'));
  await page.goto(APP);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('embedded sample'));
  const rss = rssSampler(browser.marker);
  await rss.ready;
  const rowsShown = () => page.evaluate(() => Number(document.querySelector('[data-testid=kpi-rows]')?.dataset.value) + Number(document.querySelector('[data-testid=kpi-admin]')?.dataset.value));
  let t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid=source]')?.textContent.includes('session-20.csv'), null, { timeout: 600000, polling: 100 });
  const twenty = { ms: Date.now() - t0, rows: await rowsShown() };
  t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles(largest.file);
  const name = largest.file.split('/').pop();
  await page.waitForFunction((n) => document.querySelector('[data-testid=source]')?.textContent.includes(n), name, { timeout: 1200000, polling: 200 });
  const big = { ms: Date.now() - t0, rows: await rowsShown() };
  const peak = await rss.stop();
  await browser.close();
  return { engine: 'MeterLens session', twenty_files: twenty, largest: { ...big, file_rows: largest.rows, file_bytes: largest.bytes }, peak_rss_bytes: peak, crashes };
}

const fmt = (v, d = 0) => (v === undefined || v === null || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

const results = [];
let largest = null;
for (const rows of ROWS) {
  const prep = prepare(rows);
  largest = { ...prep, rows };
  for (const engine of ENGINES.filter((e) => e !== 'session')) {
    const r = engine === 'meterlens' ? await meterlens(prep) : await peer(engine, prep);
    r.file_rows = rows;
    r.file_bytes = prep.bytes;
    results.push(r);
    process.stderr.write(`${rows} rows · ${r.engine}: ${r.error ?? `load ${fmt(r.load_ms)} ms`}\n`);
  }
}

let sessionResult = null;
if (ENGINES.includes('session') && largest) {
  sessionResult = await session(largest);
  process.stderr.write(`session: ${JSON.stringify(sessionResult)}\n`);
}

const lines = ['| engine | rows | load s | MB/s | q1 ms | q2 ms | q3 ms | q2 re-agg ms | slicer click ms | peak RSS growth MB | bytes/row |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
for (const r of results) {
  if (r.error) { lines.push(`| ${r.engine} | ${fmt(r.file_rows)} | failed: ${r.error} | | | | | | | | |`); continue; }
  lines.push(`| ${r.engine} | ${fmt(r.file_rows)} | ${fmt(r.load_ms / 1000, 2)} | ${fmt(r.file_bytes / 1e6 / (r.load_ms / 1000), 1)} | ${fmt(r.q1_ms, 1)} | ${fmt(r.q2_ms, 1)} | ${fmt(r.q3_ms, 1)} | ${fmt(r.q2_reaggregation_ms, 1)} | ${fmt(r.slicer_click_ms, 1)} | ${fmt(r.peak_rss_bytes / 1e6)} | ${fmt(r.peak_rss_bytes / r.file_rows)} |`);
}
lines.push('', '| rows | peer | load × | q1 × | q2 × | q3 × | q2 re-agg × | memory × |', '|---:|---|---:|---:|---:|---:|---:|---:|');
for (const rows of ROWS) {
  const ours = results.find((r) => r.file_rows === rows && r.engine === 'MeterLens');
  if (!ours) continue;
  for (const p of results.filter((r) => r.file_rows === rows && r.engine !== 'MeterLens' && !r.error)) {
    const x = (k) => fmt(p[k] / ours[k], 1);
    // A peer has no per-dataset codes to keep: its q2 is what it answers a slicer click with.
    const reaggregation = fmt(p.q2_ms / ours.q2_reaggregation_ms, 1);
    lines.push(`| ${fmt(rows)} | ${p.engine} | ${x('load_ms')} | ${x('q1_ms')} | ${x('q2_ms')} | ${x('q3_ms')} | ${reaggregation} | ${x('peak_rss_bytes')} |`);
  }
}
if (sessionResult) {
  const s = sessionResult;
  lines.push('', '| one tab | rows | time s | survived |', '|---|---:|---:|---|');
  lines.push(`| 20 files at once (50,000 rows each) | ${fmt(s.twenty_files.rows)} | ${fmt(s.twenty_files.ms / 1000, 1)} | ${s.crashes.length ? 'no' : 'yes'} |`);
  lines.push(`| then ${fmt(s.largest.file_rows)} rows (${fmt(s.largest.file_bytes / 1e9, 2)} GB) | ${fmt(s.largest.rows)} | ${fmt(s.largest.ms / 1000, 1)} | ${s.crashes.length ? 'no' : 'yes'} |`);
  lines.push(`| peak RSS growth of the session | | | ${fmt(s.peak_rss_bytes / 1e6)} MB |`);
}
const table = lines.join('\n');
console.log(table);
console.log('\n× = the peer\'s time (or memory) divided by MeterLens\'s: above 1, MeterLens is faster (or leaner).');
mkdirSync(dirname(OUT), { recursive: true });
const chromiumVersion = execFileSync(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version']).toString().trim();
writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), chromium: chromiumVersion, results, session: sessionResult, table }, null, 2));
if (args.check !== undefined) {
  // CI smoke: every engine must have answered, and the answers must agree on the shape of q1 and q2.
  const failed = results.filter((r) => r.error || r.page_errors?.length);
  const groups = new Set(results.filter((r) => !r.error).map((r) => `${r.q1_groups}/${r.q2_groups}`));
  if (failed.length || groups.size !== 1) {
    console.error('benchmark smoke failed:', JSON.stringify({ failed, groups: [...groups] }));
    process.exit(1);
  }
}

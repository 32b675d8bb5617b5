// The peers' side of the browser benchmark: each engine loads the picked File and answers the same three
// questions as MeterLens (q1 cost and quantity by meter category × day; q2 one subscription and three resource
// groups by meter, a slicer click; q3 top 10 resources by cost). Times in ms, measured in the page.
import * as duckdb from '@duckdb/duckdb-wasm-browser';

const now = () => performance.now();
const day = (mdy) => `${mdy.slice(6, 10)}-${mdy.slice(0, 2)}-${mdy.slice(3, 5)}`;

/** q1–q3 over an array of row objects (Papa Parse keeps rows as JS objects; this is how its users aggregate). */
function jsQueries(rows, q2) {
  const t1 = now();
  const q1 = new Map();
  for (const r of rows) {
    const k = `${r.MeterCategory}|${day(r.Date)}`;
    const a = q1.get(k) ?? [0, 0];
    a[0] += +r.Cost; a[1] += +r.Quantity;
    q1.set(k, a);
  }
  const t2 = now();
  const groups = new Set(q2.groups);
  const byMeter = new Map();
  for (const r of rows) {
    if (r.SubscriptionId === q2.subscription && groups.has(r.ResourceGroup)) {
      byMeter.set(r.MeterName, (byMeter.get(r.MeterName) ?? 0) + +r.Cost);
    }
  }
  const t3 = now();
  const byResource = new Map();
  for (const r of rows) byResource.set(r.ResourceId, (byResource.get(r.ResourceId) ?? 0) + +r.Cost);
  const top = [...byResource].sort((a, b) => b[1] - a[1]).slice(0, 10);
  const t4 = now();
  return { q1_ms: t2 - t1, q2_ms: t3 - t2, q3_ms: t4 - t3, q1_groups: q1.size, q2_groups: byMeter.size, q3_top: top.length };
}

async function papaparse(file, q2) {
  const t0 = now();
  const rows = await new Promise((resolve, reject) => {
    const out = [];
    Papa.parse(file, {
      header: true, skipEmptyLines: true, chunkSize: 4 << 20,
      chunk: (result) => { for (const r of result.data) out.push(r); },
      complete: () => resolve(out), error: reject,
    });
  });
  const load_ms = now() - t0;
  return { load_ms, rows: rows.length, ...jsQueries(rows, q2) };
}

async function arquero(file, q2) {
  const t0 = now();
  const dt = aq.fromCSV(await file.text(), { parse: { Date: (d) => day(d) } });
  const load_ms = now() - t0;
  const t1 = now();
  const q1 = dt.groupby('MeterCategory', 'Date').rollup({ cost: aq.op.sum('Cost'), qty: aq.op.sum('Quantity') });
  const t2 = now();
  const q2t = dt.params({ s: q2.subscription, g: q2.groups })
    .filter((d, $) => d.SubscriptionId === $.s && aq.op.includes($.g, d.ResourceGroup))
    .groupby('MeterName').rollup({ cost: aq.op.sum('Cost') });
  const t3 = now();
  const q3 = dt.groupby('ResourceId').rollup({ cost: aq.op.sum('Cost') }).orderby(aq.desc('cost')).slice(0, 10);
  const t4 = now();
  return { load_ms, rows: dt.numRows(), q1_ms: t2 - t1, q2_ms: t3 - t2, q3_ms: t4 - t3,
    q1_groups: q1.numRows(), q2_groups: q2t.numRows(), q3_top: q3.numRows() };
}

async function duckdbWasm(file, q2) {
  const dist = '/node_modules/@duckdb/duckdb-wasm/dist';
  const bundle = await duckdb.selectBundle({
    mvp: { mainModule: `${dist}/duckdb-mvp.wasm`, mainWorker: `${dist}/duckdb-browser-mvp.worker.js` },
    eh: { mainModule: `${dist}/duckdb-eh.wasm`, mainWorker: `${dist}/duckdb-browser-eh.worker.js` },
  });
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), new Worker(bundle.mainWorker));
  await db.instantiate(bundle.mainModule);
  const c = await db.connect();
  const t0 = now();
  await db.registerFileHandle('usage.csv', file, duckdb.DuckDBDataProtocol.BROWSER_FILEREADER, true);
  await c.query(`CREATE TABLE t AS SELECT * FROM read_csv('usage.csv', header = true, dateformat = '%m/%d/%Y')`);
  const load_ms = now() - t0;
  const rows = Number((await c.query('SELECT count(*) AS n FROM t')).getChildAt(0).get(0));
  const t1 = now();
  const q1 = await c.query('SELECT MeterCategory, Date, sum(Cost), sum(Quantity) FROM t GROUP BY ALL');
  const t2 = now();
  const groups = q2.groups.map((g) => `'${g.replaceAll("'", "''")}'`).join(',');
  const q2r = await c.query(`SELECT MeterName, sum(Cost) FROM t WHERE SubscriptionId = '${q2.subscription}' AND ResourceGroup IN (${groups}) GROUP BY ALL`);
  const t3 = now();
  const q3 = await c.query('SELECT ResourceId, sum(Cost) AS c FROM t GROUP BY ALL ORDER BY c DESC LIMIT 10');
  const t4 = now();
  return { load_ms, rows, q1_ms: t2 - t1, q2_ms: t3 - t2, q3_ms: t4 - t3,
    q1_groups: q1.numRows, q2_groups: q2r.numRows, q3_top: q3.numRows };
}

window.peers = { papaparse, arquero, duckdb: duckdbWasm };
window.peersReady = true;

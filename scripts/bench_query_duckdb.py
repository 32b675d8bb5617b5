"""Runs `meterlens bench-query` and the same queries in DuckDB on one CSV, and prints both with their ratio."""
import json
import statistics
import subprocess
import sys
import time

import duckdb

cli, path = sys.argv[1], sys.argv[2]
runs = 5
ml = json.loads(subprocess.run([cli, "bench-query", "--json", "--runs", str(runs), path],
                               check=True, capture_output=True, text=True).stdout)

con = duckdb.connect()
started = time.perf_counter()
con.execute(f"""CREATE TABLE t AS SELECT *, UsageStartTime::TIMESTAMP AS start
               FROM read_csv('{path}', header = true)""")
load_s = time.perf_counter() - started

quote = lambda s: "'" + s.replace("'", "''") + "'"
groups = ", ".join(quote(g) for g in ml["resource_groups"]) or "''"
queries = {
    "group_by_1": "SELECT MeterId, count(*), sum(Quantity) FROM t GROUP BY ALL",
    "group_by_2": "SELECT subscription, CAST(start AS DATE) AS day, count(*), sum(Quantity) FROM t GROUP BY ALL",
    "group_by_3": "SELECT subscription, resourceGroup, MeterId, count(*), sum(Quantity) FROM t GROUP BY ALL",
    "filter_group": f"""SELECT MeterId, count(*), sum(Quantity) FROM t
                        WHERE subscription = {quote(ml['subscription'])} AND resourceGroup IN ({groups}) GROUP BY ALL""",
    "top_10": "SELECT resourceUri, count(*) AS c, sum(Quantity) FROM t GROUP BY ALL ORDER BY c DESC LIMIT 10",
    "matrix": """SELECT MeterName, date_trunc('month', start) AS m, count(*), sum(Quantity) FROM t
                 GROUP BY GROUPING SETS ((MeterName, m), (MeterName), ())""",
}

def timed(sql):
    started = time.perf_counter()
    con.execute(sql).fetchall()
    return (time.perf_counter() - started) * 1000

print(f"\n{ml['rows']:,} rows ({path})")
print(f"load: MeterLens ingest {ml['ingest_s']:.2f} s (one thread), DuckDB CSV load {load_s:.2f} s "
      f"({con.execute('SELECT current_setting(' + quote('threads') + ')').fetchone()[0]} threads)")
print(f"{'query':<14}{'MeterLens cold ms':>19}{'MeterLens warm ms':>19}{'DuckDB ms':>11}{'warm/DuckDB':>13}{'cold/DuckDB':>13}")
for name, sql in queries.items():
    timed(sql)
    duck = statistics.median(timed(sql) for _ in range(runs))
    q = ml["queries"][name]
    print(f"{name:<14}{q['cold_ms']:>19.2f}{q['warm_ms']:>19.2f}{duck:>11.2f}"
          f"{q['warm_ms'] / duck:>13.3f}{q['cold_ms'] / duck:>13.3f}")

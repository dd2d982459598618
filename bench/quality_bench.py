"""Match quality at a month's scale: the engine vs pandas' score_frame vs a plain DuckDB query. Prints figures.

    .venv/bin/python bench/quality_bench.py [EVENTS ...] [--pandas-max N]   (default: 1000000 10000000)

For each size a server-event CSV is generated with DuckDB (identifiers repeat per customer and browser, with
the usual defects: unhashed and upper-case emails, private and IPv6 addresses, server-library user agents,
placeholder click ids), then three contenders each run in a fresh process (so each peak RSS is its own):

- engine:    core.engine.quality.quality_file, the review the page and the CLI show (memory bounded by DuckDB)
- pandas:    core.quality.load_quality_input + score_frame + core.review.build_review (the whole file in memory);
             skipped above --pandas-max events (default 10,000,000)
- reference: one hand-written DuckDB query of the same headline (mean score and per-key coverage per event
             type) with simplified rules, over the same file, same memory limit and threads

Wall time and peak RSS of each, and ratios to the reference measured in the same run. Asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMORY_LIMIT = "3GB"

GENERATE = """
COPY (
  SELECT 'C4A1B2C3D4E5F6G7H8I9' AS event_source_id,
    (['Pageview', 'ViewContent', 'AddToCart', 'InitiateCheckout', 'Purchase'])[
      CASE WHEN r % 20 < 9 THEN 1 WHEN r % 20 < 15 THEN 2 WHEN r % 20 < 17 THEN 3 WHEN r % 20 < 19 THEN 4 ELSE 5 END
    ] AS event,
    'ev_' || i AS event_id, 1700000000 + i // 100 AS event_time,
    CASE WHEN r % 100 >= 35 THEN '' WHEN u % 20 = 0 THEN 'user' || u || '@example.com'
         WHEN u % 15 = 0 THEN upper(sha256('user' || u || '@example.com')) ELSE sha256('user' || u || '@example.com')
    END AS email,
    CASE WHEN (r // 100) % 100 < 20 THEN sha256('+1555' || lpad(u::VARCHAR, 7, '0')) ELSE '' END AS phone,
    CASE WHEN (r // 10000) % 100 < 30 THEN sha256('cust-' || u) ELSE '' END AS external_id,
    CASE WHEN (r // 1000) % 100 >= 15 THEN '' WHEN u % 500 = 0 THEN 'undefined'
         ELSE 'E.C.P.' || md5('click' || (u // 4)) END AS ttclid,
    CASE WHEN (r // 100000) % 100 < 70 THEN substr(md5('ttp' || u) || md5('x' || u), 1, 27) ELSE '' END AS ttp,
    CASE WHEN (r // 7) % 100 >= 90 THEN '' WHEN u % 10 = 0 THEN '10.0.' || (u % 256) || '.' || (u // 256 % 256)
         WHEN u % 8 = 0 THEN '2606:4700:' || printf('%x', u % 65536) || '::1'
         ELSE (1 + u % 223) || '.' || (u // 223 % 256) || '.' || (u // 57088 % 256) || '.' || (1 + u % 254) END AS ip,
    CASE WHEN (r // 13) % 100 >= 90 THEN '' WHEN u % 100 = 0 THEN 'python-requests/2.' || (u % 30)
         ELSE 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
              || (100 + u % 30) || '.0.' || (u % 3000) || '.0 Safari/537.36' END AS user_agent
  FROM (SELECT i, hash(i) % 1000000007 AS r, hash(i * 7 + 1) % {users} AS u FROM range({n}) t(i))
) TO '{path}' (HEADER, DELIMITER ',')
"""

# the plain reference: one GROUP BY with simplified rules (valid hashes, plausible ids, public-looking IPv4/IPv6,
# a browser's user agent), the same weights
REFERENCE = """
SELECT event, count(*) AS n, avg(score) AS mean, avg(e) AS email, avg(ip) AS ip FROM (
  SELECT event,
    (CASE WHEN regexp_full_match(email, '[0-9a-f]{{64}}') THEN 1 ELSE 0 END) AS e,
    (CASE WHEN ip <> '' AND NOT starts_with(ip, '10.') AND NOT starts_with(ip, '192.168.') THEN 1 ELSE 0 END) AS ip,
    2.5 * (CASE WHEN regexp_full_match(email, '[0-9a-f]{{64}}') THEN 1 ELSE 0 END)
    + 2.0 * (CASE WHEN regexp_full_match(phone, '[0-9a-f]{{64}}') THEN 1 ELSE 0 END)
    + 1.5 * (CASE WHEN regexp_full_match(external_id, '[0-9a-f]{{64}}') THEN 1 ELSE 0 END)
    + 1.5 * (CASE WHEN length(ttclid) BETWEEN 10 AND 200 AND ttclid <> 'undefined' THEN 1 ELSE 0 END)
    + 1.0 * (CASE WHEN regexp_full_match(ttp, '[A-Za-z0-9]{{27}}') THEN 1 ELSE 0 END)
    + 0.75 * (CASE WHEN ip <> '' AND NOT starts_with(ip, '10.') AND NOT starts_with(ip, '192.168.') THEN 1 ELSE 0 END)
    + 0.75 * (CASE WHEN starts_with(user_agent, 'Mozilla/') THEN 1 ELSE 0 END) AS score
  FROM read_csv('{path}', header = true, all_varchar = true)
) GROUP BY ROLLUP (event)
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_one(kind: str, path: str) -> dict[str, float]:
    """One contender over `path`, in this process: seconds, peak RSS (MB) and its mean score."""
    t0 = time.perf_counter()
    if kind == "engine":
        from core.engine.quality import quality_file

        mean = quality_file(path, memory_limit=MEMORY_LIMIT).summary["mean_score"]
    elif kind == "pandas":
        from core.quality import load_quality_input, score_frame
        from core.review import build_review

        mean = build_review(score_frame(load_quality_input(path))).summary["mean_score"]
    else:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET threads = {os.cpu_count() or 1}")
        rows = con.execute(REFERENCE.format(path=path)).fetchall()
        mean = next(r[2] for r in rows if r[0] is None)
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "mean": float(mean)}


def _measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--run", kind, str(path)], check=True, capture_output=True,
                         text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(sizes: list[int], pandas_max: int) -> None:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="tec-quality-bench-") as folder:
        for n in sizes:
            path = Path(folder) / f"server_{n}.csv"
            t0 = time.perf_counter()
            duckdb.connect().execute(GENERATE.format(n=n, users=max(n // 5, 10), path=path))
            print(f"{n:>11,} events: generated {path.stat().st_size / 1e6:,.0f} MB of CSV in "
                  f"{time.perf_counter() - t0:.1f} s")
            ref = _measure("reference", path)
            figures = {"reference": ref, "engine": _measure("engine", path)}
            if n <= pandas_max:
                figures["pandas"] = _measure("pandas", path)
            for kind, f in figures.items():
                print(f"  {kind:<10}{f['seconds']:8.1f} s  {f['seconds'] / ref['seconds']:5.2f}x ref time   "
                      f"peak RSS {f['peak_mb']:8,.0f} MB  {f['peak_mb'] / ref['peak_mb']:5.2f}x ref   "
                      f"mean {f['mean']:.4f}")
            if "pandas" in figures:
                e, p = figures["engine"], figures["pandas"]
                print(f"  engine / pandas: {e['seconds'] / p['seconds']:.2f}x time, {e['peak_mb'] / p['peak_mb']:.2f}x "
                      f"peak RSS; same mean: {e['mean'] == p['mean']}")
            else:
                print(f"  pandas skipped above --pandas-max {pandas_max:,} events")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        print(json.dumps(run_one(sys.argv[2], sys.argv[3])))
        sys.exit(0)
    args = sys.argv[1:]
    limit = 10_000_000
    if "--pandas-max" in args:
        i = args.index("--pandas-max")
        limit = int(args[i + 1])
        del args[i:i + 2]
    main([int(a) for a in args] or [1_000_000, 10_000_000], limit)

"""Benchmark `tiktok-events dedup` at a store's month against a plain DuckDB SQL reference.

    .venv/bin/python bench/dedup_bench.py [--events 1000000] [--data DIR] [--repeat 2]
    .venv/bin/python bench/dedup_bench.py --month 10m|50m [--data DIR] [--repeat 1]

Writes (or reuses) DIR with N Pixel events, N server events and N orders from core.demo (or, with --month,
bench/engine_bench.py's month of 10M or 50M keys over every event type, generated with DuckDB), then runs,
each in its own process: (1) the whole command `tiktok-events dedup --pixel pixel.csv --server server.csv
--orders orders.csv --format json` and (2) a DuckDB SQL reference that computes the same counts from the
same CSV files (recursive CTE for the 48 h-from-first rule, full outer join for the pairs). Prints wall
time and peak memory (VmHWM) of each, their ratio, and whether every count agrees. Goals: the command
within 1.3x of the reference, at most 4 GB peak at the 10M-key month; the 50M-key month (run with
`--memory-limit 3GB` and without the reference, which needs more memory than the machine has) completes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMPARED = ("pixel_events", "server_events", "counted", "merged_pairs", "deduplicated_pairs", "pixel_only",
            "server_only", "same_source_duplicates", "outside_window", "missing_event_id", "truth",
            "truth_pixel", "truth_counted")

# The same counts in SQL. The server side's pixel code, event and order_id are trimmed as core.sources.server'
# loader trims them; event_id is kept exactly as sent on both sides (TikTok compares ids exactly).
REFERENCE_SQL = r"""
SET enable_progress_bar = false;
CREATE TEMP TABLE ev AS
  SELECT 0::TINYINT AS side, coalesce(pixel_code, '') AS pixel_code, coalesce(event, '') AS event,
         coalesce(event_id, '') AS event_id, TRY_CAST(timestamp AS DOUBLE) AS t, coalesce(order_id, '') AS order_id
  FROM read_csv('{pixel}', all_varchar = true)
  UNION ALL
  SELECT 1, coalesce(trim(event_source_id), ''), coalesce(trim(event), ''), coalesce(event_id, ''),
         TRY_CAST(event_time AS DOUBLE), coalesce(trim(order_id), '')
  FROM read_csv('{server}', all_varchar = true);
CREATE TEMP TABLE keyed AS
  SELECT side, pixel_code, event, event_id, CAST(round(t * 1000) AS BIGINT) AS tm, order_id
  FROM ev WHERE event_id <> '' AND t IS NOT NULL;
CREATE TEMP TABLE anchors AS
WITH RECURSIVE a(side, pixel_code, event, event_id, occ, tm, order_id) AS (
  SELECT side, pixel_code, event, event_id, 0, min(tm), arg_min(order_id, tm)
  FROM keyed GROUP BY side, pixel_code, event, event_id
  UNION ALL
  SELECT k.side, k.pixel_code, k.event, k.event_id, a.occ + 1, min(k.tm), arg_min(k.order_id, k.tm)
  FROM a JOIN keyed k ON k.side = a.side AND k.pixel_code = a.pixel_code AND k.event = a.event
    AND k.event_id = a.event_id AND k.tm > a.tm + 172800000
  GROUP BY k.side, k.pixel_code, k.event, k.event_id, a.occ
) SELECT * FROM a;
CREATE TEMP TABLE pairs AS
  SELECT p.tm AS ptm, s.tm AS stm, s.order_id AS s_order,
         CASE WHEN p.tm IS NULL THEN 'server only' WHEN s.tm IS NULL THEN 'pixel only'
              WHEN abs(s.tm - p.tm) <= 300000 THEN 'merged' WHEN abs(s.tm - p.tm) <= 172800000 THEN 'deduplicated'
              ELSE 'outside window' END AS verdict
  FROM (SELECT * FROM anchors WHERE side = 0) p
  FULL OUTER JOIN (SELECT * FROM anchors WHERE side = 1) s
    ON p.pixel_code = s.pixel_code AND p.event = s.event AND p.event_id = s.event_id AND p.occ = s.occ;
CREATE TEMP TABLE orders AS
  SELECT ltrim(trim("Name"), '#') AS order_id,
         coalesce(regexp_extract("Landing Site", '[?&]utm_source=([^&#]*)', 1), '') AS utm,
         coalesce(regexp_extract("Landing Site", '[?&]ttclid=([^&#]*)', 1), '') AS ttclid
  FROM read_csv('{orders}', all_varchar = true) WHERE coalesce("Created at", '') <> '';
CREATE TEMP TABLE truth AS
  SELECT DISTINCT order_id FROM orders WHERE lower(utm) = 'tiktok' OR ttclid <> '';
CREATE TEMP TABLE counted_orders AS
  SELECT order_id FROM ev WHERE side = 0 AND order_id <> ''
  UNION SELECT order_id FROM ev WHERE side = 1 AND order_id <> '' AND (event_id = '' OR t IS NULL)
  UNION SELECT s_order FROM pairs WHERE verdict IN ('server only', 'outside window');
SELECT
  (SELECT count(*) FROM ev WHERE side = 0) AS pixel_events,
  (SELECT count(*) FROM ev WHERE side = 1) AS server_events,
  (SELECT count(*) FILTER (WHERE verdict = 'merged') FROM pairs) AS merged_pairs,
  (SELECT count(*) FILTER (WHERE verdict = 'deduplicated') FROM pairs) AS deduplicated_pairs,
  (SELECT count(*) FILTER (WHERE verdict = 'outside window') FROM pairs) AS outside_window,
  (SELECT count(*) FILTER (WHERE verdict IN ('pixel only', 'outside window')) FROM pairs)
    + (SELECT count(*) FROM ev WHERE side = 0 AND (event_id = '' OR t IS NULL)) AS pixel_only,
  (SELECT count(*) FILTER (WHERE verdict IN ('server only', 'outside window')) FROM pairs)
    + (SELECT count(*) FROM ev WHERE side = 1 AND (event_id = '' OR t IS NULL)) AS server_only,
  (SELECT count(*) FROM keyed) - (SELECT count(*) FROM anchors) AS same_source_duplicates,
  (SELECT count(*) FROM ev WHERE event_id = '') AS missing_event_id,
  (SELECT count(*) FROM truth) AS truth,
  (SELECT count(*) FROM truth WHERE order_id IN (SELECT order_id FROM ev WHERE side = 0)) AS truth_pixel,
  (SELECT count(*) FROM truth WHERE order_id IN (SELECT order_id FROM counted_orders)) AS truth_counted;
"""

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
mode, args = sys.argv[1], json.loads(sys.argv[2])
if mode == "dedup":
    import contextlib, io
    from core.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    result = json.loads(buf.getvalue())
    assert rc == 0, rc
else:
    import duckdb
    con = duckdb.connect()
    *setup, query = [q for q in args.split(";") if q.strip()]
    for q in setup:
        con.execute(q)
    row = con.execute(query).fetchone()
    cols = [d[0] for d in con.description]
    result = dict(zip(cols, row))
    result["counted"] = (result["merged_pairs"] + result["deduplicated_pairs"] + result["pixel_only"]
                         + result["server_only"])
wall = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's peak
peak_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({"wall_s": wall, "peak_mb": peak_mb, "result": result}, default=str))
"""


def _run(mode: str, payload: object) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, json.dumps(payload)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _prepare(data: Path, n: int) -> dict[str, Path]:
    files = {k: data / f"{k}.csv" for k in ("pixel", "server", "orders")}
    if all(p.is_file() for p in files.values()) and (data / "SIZE").read_text().strip() == str(n):
        return files
    from core.demo import DemoStore, generate_store, write_store

    t0 = time.perf_counter()
    # ~0.87 Pixel and ~0.97 server events per order: generate a bit more, keep exactly n of each
    store = generate_store(int(n * 1.2), seed=7)
    trimmed = DemoStore(orders=store.orders.head(n), pixel=store.pixel.head(n), server=store.server.head(n),
                        seed=store.seed, start=store.start)
    write_store(trimmed, data)
    (data / "SIZE").write_text(str(n))
    print(f"data: generated {n:,} orders / Pixel / server events in {time.perf_counter() - t0:.1f} s -> {data}")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="rows per side and orders")
    parser.add_argument("--data", type=Path, default=Path("/tmp/tec-dedup-bench"))
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each, interleaved (ours, reference, ours, ...); the best wall time is kept")
    parser.add_argument("--month", choices=("10m", "50m"),
                        help="bench/engine_bench.py's month of 10M or 50M keys instead of --events")
    args = parser.parse_args()
    if args.month:
        from bench.engine_bench import KEYS, _generate, _lines

        data = args.data if args.data != Path("/tmp/tec-dedup-bench") else Path(f"/tmp/tec-engine-{args.month}")
        data.mkdir(parents=True, exist_ok=True)
        f = {k.removesuffix(".csv"): v for k, v in _generate(data, KEYS[args.month]).items()}
        title = ", ".join(f"{name} {_lines(path):,}" for name, path in f.items()) + " rows"
    else:
        args.data.mkdir(parents=True, exist_ok=True)
        f = _prepare(args.data, args.events)
        title = f"{args.events:,} Pixel events + {args.events:,} server events + {args.events:,} orders"
    cli = ["dedup", "--pixel", str(f["pixel"]), "--server", str(f["server"]), "--orders", str(f["orders"]),
           "--format", "json"] + (["--memory-limit", "3GB"] if args.month == "50m" else [])
    sql = REFERENCE_SQL.format(pixel=f["pixel"], server=f["server"], orders=f["orders"])
    if args.month == "50m":  # the reference would need more memory than the machine has: ours alone
        ours = min((_run("dedup", cli) for _ in range(max(1, args.repeat))), key=lambda r: r["wall_s"])
        print(f"\n50m: {title}\n{'tiktok-events dedup':28}{ours['wall_s']:>10.2f} s{ours['peak_mb']:>10.0f} MB peak")
        print(json.dumps({k: ours["result"][k] for k in COMPARED}))
        return
    runs = [(_run("dedup", cli), _run("duckdb", sql)) for _ in range(max(1, args.repeat))]
    ours = min((r[0] for r in runs), key=lambda r: r["wall_s"])
    ref = min((r[1] for r in runs), key=lambda r: r["wall_s"])
    print(f"\n{title}")
    print(f"{'':28}{'wall s':>10}{'peak MB':>10}")
    print(f"{'tiktok-events dedup':28}{ours['wall_s']:>10.2f}{ours['peak_mb']:>10.0f}")
    print(f"{'DuckDB SQL reference':28}{ref['wall_s']:>10.2f}{ref['peak_mb']:>10.0f}")
    ratio = ours["wall_s"] / ref["wall_s"]
    print(f"ratio dedup / reference: {ratio:.2f}x (goal ≤ 1.3x); dedup peak {ours['peak_mb'] / 1024:.2f} GB "
          f"(goal ≤ 4 GB at the 10M-key month)")
    diffs = {k: (ours["result"].get(k), ref["result"].get(k)) for k in COMPARED
             if ours["result"].get(k) != ref["result"].get(k)}
    print("counts equal:", "yes" if not diffs else f"NO {diffs}")
    print(json.dumps({k: ours["result"][k] for k in COMPARED}))


if __name__ == "__main__":
    main()

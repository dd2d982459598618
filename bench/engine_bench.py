"""Benchmark the analysis engine (core.engine.dedup_files) on a store's month beside a plain DuckDB SQL reference.

    .venv/bin/python bench/engine_bench.py [--size 1m|10m|50m] [--data DIR] [--memory-limit 3GB] [--repeat 1]

Sizes: `1m` is bench/dedup_bench.py's month (1M Pixel + 1M server events + 1M orders from core.demo);
`10m` is a month of 10M dedup keys over every event type (about 7.4M Pixel + 9.6M server events and 2M
orders), `50m` the same shape at 50M keys (about 85M events), both generated in seconds with DuckDB. Each
run is its own process: (1) the whole `dedup_files` call with orders (what `tiktok-events dedup` will call)
and (2) bench/dedup_bench.py's REFERENCE_SQL of the same rules on the same files. Prints wall time and peak
memory (VmHWM) of each, the ratio, and whether every count agrees. Goals: within 1.3x of the reference's
wall time, at most 4 GB peak at 10M keys; the 50M-key month completes under a 4 GB memory limit.
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

from bench.dedup_bench import COMPARED, REFERENCE_SQL  # noqa: E402

KEYS = {"10m": 10_000_000, "50m": 50_000_000}

# One month of keys, every event type; shares chosen so 10M keys give ~7.4M Pixel and ~9.6M server events
# and 2M orders. Purchases (one key in five) link to their order by order_id and event_id; a few events
# repeat within minutes, a few again days later (a new occurrence), some server events lack an event_id.
GENERATE_SQL = r"""
SET enable_progress_bar = false;
CREATE TEMP TABLE keys AS
  SELECT k, CAST(hash(k, 1) % 1000 AS BIGINT) AS r1, CAST(hash(k, 2) % 1000 AS BIGINT) AS r2,
         CAST(hash(k, 3) % 1000 AS BIGINT) AS r3, CAST(hash(k, 4) % 1000 AS BIGINT) AS r4,
         CAST(hash(k, 5) % 1000 AS BIGINT) AS r5,
         epoch_ms(TIMESTAMP '2026-05-01') + CAST(hash(k, 6) % 2592000000 AS BIGINT) AS t0,
         CASE k % 5 WHEN 0 THEN 'CompletePayment' WHEN 1 THEN 'Pageview' WHEN 2 THEN 'ViewContent'
                    WHEN 3 THEN 'AddToCart' ELSE 'InitiateCheckout' END AS event,
         CASE WHEN k % 5 = 0 THEN CAST(k // 5 + 1001 AS VARCHAR) ELSE '' END AS order_id
  FROM range({keys}) r(k);
COPY (
  SELECT 'CBENCH0PIXEL00000001' AS pixel_code, event,
         CASE WHEN order_id <> '' THEN 'ord_' || order_id || '_purchase' ELSE 'ev_' || k END AS event_id,
         round((t0 + CASE WHEN dup = 0 THEN 0 WHEN r3 < 100 THEN 50 * 3600000 + r4 * 1000 ELSE r4 * 600 END)
               / 1000.0, 3) AS timestamp, order_id
  FROM keys, (SELECT 0 AS dup UNION ALL SELECT 1) d
  WHERE r1 < 720 AND (dup = 0 OR r2 < 28)
) TO '{pixel}' (HEADER, DELIMITER ',');
COPY (
  SELECT 'CBENCH0PIXEL00000001' AS event_source_id, event,
         CASE WHEN r5 < 8 THEN '' WHEN order_id <> '' THEN 'ord_' || order_id || '_purchase' ELSE 'ev_' || k END
           AS event_id,
         round((t0 + CASE WHEN r3 < 800 THEN r4 * 410 - 120000 WHEN r3 < 960 THEN 600000 + r4 * 140000
                          ELSE 176400000 + r4 * 20000 END + CASE WHEN dup = 1 THEN 30000 + r2 * 1000 ELSE 0 END)
               / 1000.0, 3) AS event_time, order_id
  FROM keys, (SELECT 0 AS dup UNION ALL SELECT 1) d
  WHERE r2 < 930 AND (dup = 0 OR r1 < 35)
) TO '{server}' (HEADER, DELIMITER ',');
COPY (
  SELECT '#' || order_id AS "Name", strftime(to_timestamp(t0 / 1000 - 60), '%Y-%m-%d %H:%M:%S +0000') AS "Created at",
         '49.90' AS "Total", 'EUR' AS "Currency", 'T-shirt' AS "Lineitem name",
         CASE WHEN r4 < 600 THEN '/products/tee?utm_source=tiktok' WHEN r4 < 750 THEN '/?ttclid=E.C.P.' || k
              ELSE '/?utm_source=google' END AS "Landing Site"
  FROM keys WHERE order_id <> ''
) TO '{orders}' (HEADER, DELIMITER ',');
"""

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
mode, args = sys.argv[1], json.loads(sys.argv[2])
if mode == "engine":
    from core.engine import dedup_files
    result = dedup_files(args["pixel"], args["server"], args["orders"], memory_limit=args["memory_limit"],
                         progress=lambda line: print(f"  engine: {line}", file=sys.stderr, flush=True))
    result.pop("daily")
else:
    import duckdb
    con = duckdb.connect()
    *setup, query = [q for q in args.split(";") if q.strip()]
    for q in setup:
        con.execute(q)
    row = con.execute(query).fetchone()
    result = dict(zip([d[0] for d in con.description], row))
    result["counted"] = (result["merged_pairs"] + result["deduplicated_pairs"] + result["pixel_only"]
                         + result["server_only"])
wall = time.perf_counter() - t0
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's peak
peak_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak_mb, "result": result},
                 default=str))
"""


def _run(mode: str, payload: object) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, json.dumps(payload)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _generate(data: Path, keys: int) -> dict[str, Path]:
    files = {k: data / f"{k}.csv" for k in ("pixel", "server", "orders")}
    stamp = data / "SIZE"
    if all(p.is_file() for p in files.values()) and stamp.is_file() and stamp.read_text().strip() == f"keys {keys}":
        return files
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    for statement in GENERATE_SQL.format(keys=keys, **{k: str(v) for k, v in files.items()}).split(";"):
        if statement.strip():
            con.execute(statement)
    con.close()
    stamp.write_text(f"keys {keys}")
    print(f"data: generated a month of {keys:,} keys in {time.perf_counter() - t0:.1f} s -> {data}")
    return files


def _lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 24), b"")) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("1m", "10m", "50m"), default="1m")
    parser.add_argument("--data", type=Path, help="folder for the generated files (default /tmp/tec-engine-SIZE)")
    parser.add_argument("--memory-limit", default=None,
                        help="the engine's memory limit (default: the engine's own, an eighth of the RAM; 3GB at 50m)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, interleaved; the best wall time is kept")
    parser.add_argument("--no-reference", action="store_true", help="run the engine only (e.g. the 50M month)")
    args = parser.parse_args()
    data = args.data or Path(f"/tmp/tec-engine-{args.size}")
    data.mkdir(parents=True, exist_ok=True)
    if args.size == "1m":
        from bench.dedup_bench import _prepare

        files = _prepare(data, 1_000_000)
    else:
        files = _generate(data, KEYS[args.size])
    limit = args.memory_limit or ("3GB" if args.size == "50m" else None)
    payload = {k: str(v) for k, v in files.items()} | {"memory_limit": limit}
    sql = REFERENCE_SQL.format(**{k: str(v) for k, v in files.items()})
    runs = []
    for _ in range(max(1, args.repeat)):
        runs.append((_run("engine", payload), None if args.no_reference else _run("duckdb", sql)))
    ours = min((r[0] for r in runs), key=lambda r: r["wall_s"])
    sizes = ", ".join(f"{name} {_lines(path):,}" for name, path in files.items())
    print(f"\n{args.size}: {sizes} rows; engine memory_limit {limit or 'default (an eighth of the RAM)'}")
    # CPU seconds beside wall time: on a shared machine they say more about the work each one does
    print(f"{'':28}{'wall s':>10}{'CPU s':>10}{'peak MB':>10}")
    print(f"{'core.engine.dedup_files':28}{ours['wall_s']:>10.2f}{ours['cpu_s']:>10.2f}{ours['peak_mb']:>10.0f}")
    if not args.no_reference:
        ref = min((r[1] for r in runs if r[1]), key=lambda r: r["wall_s"])
        print(f"{'DuckDB SQL reference':28}{ref['wall_s']:>10.2f}{ref['cpu_s']:>10.2f}{ref['peak_mb']:>10.0f}")
        print(f"ratio engine / reference: {ours['wall_s'] / ref['wall_s']:.2f}x wall (goal ≤ 1.3x), "
              f"{ours['cpu_s'] / ref['cpu_s']:.2f}x CPU; engine peak "
              f"{ours['peak_mb'] / 1024:.2f} GB (goal ≤ 4 GB at 10M keys)")
        diffs = {k: (ours["result"].get(k), ref["result"].get(k)) for k in COMPARED
                 if ours["result"].get(k) != ref["result"].get(k)}
        print("counts equal:", "yes" if not diffs else f"NO {diffs}")
    print(json.dumps({k: ours["result"].get(k) for k in (*COMPARED, "truth_over_counted", "pixel_gap",
                                                         "recovered_share")}))


if __name__ == "__main__":
    main()

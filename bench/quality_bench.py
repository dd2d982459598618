"""Speed and memory of the EMQ proxy at a month's scale: prints figures, asserts nothing.

    .venv/bin/python bench/quality_bench.py [ROWS ...]      (default: 100000 1000000)

The synthetic frame mimics a real month: identifiers repeat per customer/browser (a few hundred thousand
distinct emails, ttp cookies and IPs; a few thousand user agents), with the usual defects mixed in
(unhashed emails, upper-case hashes, private IPs, server-library UAs, placeholders).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.identity import sha256_hex
from core.quality import score_frame
from core.review import build_review, result_csv, to_cli_json, what_if

EVENTS = np.array(["Pageview", "ViewContent", "AddToCart", "InitiateCheckout", "Purchase"])
EVENT_P = np.array([0.45, 0.3, 0.12, 0.08, 0.05])


def _pool(values: list[str], rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """n draws from `values`, with "" for a (1 - share) fraction of the rows."""
    arr = np.array(values, dtype=object)[rng.integers(0, len(values), n)]
    arr[rng.random(n) > share] = ""
    return arr


def synthetic_month(n: int, seed: int = 7) -> pd.DataFrame:
    """A SERVER_COLUMNS-like frame of n events with realistic repetition and defects."""
    rng = np.random.default_rng(seed)
    users = max(n // 5, 10)
    emails = [sha256_hex(f"user{i}@example.com") for i in range(users)]
    emails[: users // 20] = [f"user{i}@example.com" for i in range(users // 20)]  # unhashed
    emails[users // 20: users // 15] = [e.upper() for e in emails[users // 20: users // 15]]
    phones = [sha256_hex(f"+1555{i:07d}") for i in range(users)]
    ext = [sha256_hex(f"cust-{i}") for i in range(users)]
    alnum = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    ttps = ["".join(row) for row in alnum[rng.integers(0, 62, (users, 27))]]
    ttclids = [f"E.C.P.{''.join(row)}" for row in alnum[rng.integers(0, 62, (users // 4, 40))]]
    ttclids[:50] = ["undefined"] * 50
    octets = rng.integers(1, 224, (users * 2, 4))
    ips = [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets.tolist()]
    ips[: users // 10] = [f"10.0.{i % 256}.{i // 256 % 256}" for i in range(users // 10)]
    ips[users // 10: users // 8] = [f"2606:4700:{i:x}::1" for i in range(users // 8 - users // 10)]
    uas = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           f"Chrome/{100 + i % 30}.0.{i}.0 Safari/537.36" for i in range(3000)]
    uas[:30] = [f"python-requests/2.{i}" for i in range(30)]
    return pd.DataFrame({
        "event": EVENTS[rng.choice(len(EVENTS), n, p=EVENT_P)],
        "email": _pool(emails, rng, n, 0.35), "phone": _pool(phones, rng, n, 0.2),
        "external_id": _pool(ext, rng, n, 0.3), "ttclid": _pool(ttclids, rng, n, 0.15),
        "ttp": _pool(ttps, rng, n, 0.7), "ip": _pool(ips, rng, n, 0.9),
        "user_agent": _pool(uas, rng, n, 0.9), "index": np.arange(n),
    }).astype({c: "string[pyarrow]" for c in ("event", "email", "phone", "external_id", "ttclid", "ttp",
                                                "ip", "user_agent")})


def main(sizes: list[int]) -> None:
    for n in sizes:
        t0 = time.perf_counter()
        df = synthetic_month(n)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = build_review(score_frame(df))
        score_s = time.perf_counter() - t0
        # peak resident memory of the whole process so far (Linux reports KiB)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        what_if(result, {"phone": 0.6, "email": 0.8})
        wi = time.perf_counter() - t0
        t0 = time.perf_counter()
        csv = result_csv(result)
        csv_s = time.perf_counter() - t0
        head = result.by_event_type.iloc[0]
        print(f"{n:>9,} events  generate {gen:6.2f}s  score_frame {score_s:6.2f}s "
              f"({n / score_s / 1e6:.2f}M ev/s, process peak RSS {peak:,.0f} MB)  what_if {wi * 1e3:6.1f}ms  "
              f"result_csv {csv_s:5.2f}s ({len(csv) / 1e6:,.0f} MB)  mean {head.mean_score:.2f}")
        if n <= 100_000:
            t0 = time.perf_counter()
            to_cli_json(result)
            print(f"{'':>9}         to_cli_json {time.perf_counter() - t0:6.2f}s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])

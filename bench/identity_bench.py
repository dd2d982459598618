"""Throughput of identifier normalization + SHA-256: prints a table, asserts nothing.

    .venv/bin/python bench/identity_bench.py [EMAILS] [PHONES]     (default: 1000000 100000)

Rows: emails and phones through `hash_many` (the bulk path) and through `hash_identifier` one by one
(the path the builder uses), each with all-distinct inputs and with ~30% distinct values (a store month:
customers repeat). Caches are cleared before every run. Inputs look like real exports: mixed case,
stray spaces, +tags, a few invalid values. Phones go through `phonenumbers`, which is much slower than
SHA-256, so they run on fewer rows and the 1M figure is extrapolated (and says so).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.identity import hash_identifier, hash_many

SEED = 7


def make_emails(n: int, distinct_share: float, rng: random.Random) -> list[str]:
    """n addresses drawn from n*distinct_share distinct ones, messy the way CRM exports are."""
    pool_size = max(1, int(n * distinct_share))
    domains = ["gmail.com", "Yahoo.com", "outlook.com", "icloud.com", "shop.example.co.uk", "Mail.DE"]
    pool = []
    for i in range(pool_size):
        local = f"{rng.choice(['Alice', 'bob', 'C.J', 'dana+promo', 'eve_x'])}{i}"
        value = f"{local}@{rng.choice(domains)}"
        if i % 7 == 0:
            value = f"  {value.upper()} "
        if i % 97 == 0:
            value = value.replace("@", " at ")  # invalid: rejected
        pool.append(value)
    if pool_size == n:
        return pool
    return [pool[rng.randrange(pool_size)] for _ in range(n)]


def make_phones(n: int, distinct_share: float, rng: random.Random) -> list[str]:
    """n phone numbers (US and GB, several layouts) drawn from n*distinct_share distinct ones."""
    pool_size = max(1, int(n * distinct_share))
    pool = []
    for i in range(pool_size):
        line = f"{i % 10000:04d}"
        exchange = 200 + (i // 10000) % 700
        pool.append(rng.choice([
            f"+1 213 {exchange} {line}", f"(+1)213{exchange}{line}", f"+1 (415) {exchange}-{line}",
            f"+44 20 7{exchange % 1000:03d} {line}", f"0044 161 {exchange} {line}",
        ]))
    if pool_size == n:
        return pool
    return [pool[rng.randrange(pool_size)] for _ in range(n)]


def one_by_one(kind: str) -> Callable[[list[str]], list[str | None]]:
    """The builder's path: hash_identifier per value (LRU-cached dataclass per distinct value)."""
    def run(values: list[str]) -> list[str | None]:
        return [hash_identifier(kind, v).sha256 for v in values]
    return run


def bulk(kind: str) -> Callable[[list[str]], list[str | None]]:
    """The bulk path: hash_many (per-call dedup, email fast path)."""
    def run(values: list[str]) -> list[str | None]:
        return hash_many(kind, values)
    return run


def measure(func: Callable[[list[str]], list[str | None]], values: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds for one run over `values` from a cold cache, and the number rejected.

    CPU seconds are printed too because this machine is shared: wall time grows with other load, the
    process's own CPU time much less so.
    """
    hash_identifier.cache_clear()
    start, cpu_start = time.perf_counter(), time.process_time()
    out = func(values)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return elapsed, cpu, sum(v is None for v in out)


def main(argv: list[str]) -> None:
    """Run every case and print one row per case."""
    n_emails = int(argv[0]) if argv else 1_000_000
    n_phones = int(argv[1]) if len(argv) > 1 else 100_000
    rng = random.Random(SEED)
    cases = []
    for share, label in ((1.0, "distinct"), (0.3, "30% distinct")):
        emails = make_emails(n_emails, share, rng)
        phones = make_phones(n_phones, share, rng)
        cases += [
            ("email", label, "hash_many", bulk("email"), emails),
            ("email", label, "hash_identifier", one_by_one("email"), emails),
            ("phone", label, "hash_many", bulk("phone"), phones),
            ("phone", label, "hash_identifier", one_by_one("phone"), phones),
        ]
    print(f"{'kind':<6} {'inputs':<13} {'path':<16} {'rows':>9} {'rejected':>8} {'wall s':>7} {'cpu s':>7} "
          f"{'rows/s wall':>12} {'rows/s cpu':>11} {'1M rows (cpu s)':>16}")
    for kind, label, path, func, values in cases:
        seconds, cpu, rejected = measure(func, values)
        per_million = cpu * 1_000_000 / len(values)
        note = "" if len(values) >= 1_000_000 else " (extrapolated)"
        print(f"{kind:<6} {label:<13} {path:<16} {len(values):>9,} {rejected:>8,} {seconds:>7.2f} {cpu:>7.2f} "
              f"{len(values) / seconds:>12,.0f} {len(values) / cpu:>11,.0f} {per_million:>16.1f}{note}")


if __name__ == "__main__":
    main(sys.argv[1:])

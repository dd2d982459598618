"""Speed of the linter at realistic sizes: prints a table, asserts nothing.

    .venv/bin/python bench/lint_bench.py [REPEATS]     (default: 5)

Rows: a clean 1,000-event batch (the largest TikTok accepts), a messy 1,000-event batch where every event
has raw email/phone (distinct values, so each one is normalized and hashed: the worst case), a batch of
1,000 hashed events at the same clock, and the Lint page's extra work on the clean batch (pretty JSON,
locate_paths, annotate_json) plus parse_body of the text. Median of REPEATS runs; the identity cache is
cleared before each run so hashing is paid every time.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.identity import hash_identifier
from core.lint import SAMPLE_BODIES, annotate_json, lint, locate_paths, parse_body, pretty_json

NOW = 1_767_225_600


def clean_batch(n: int) -> dict[str, object]:
    """n valid purchases with distinct event_ids."""
    body = SAMPLE_BODIES["valid purchase"](NOW)
    event = body["data"][0]  # type: ignore[index]
    body["data"] = [{**copy.deepcopy(event), "event_id": f"ord_{i}_purchase"} for i in range(n)]
    body.pop("test_event_code")
    return body


def messy_batch(n: int) -> dict[str, object]:
    """n broken purchases: raw distinct email/phone, ms time, numeric ids, string value, private IP."""
    body = SAMPLE_BODIES["broken body"](NOW)
    event = body["data"][0]  # type: ignore[index]
    events = []
    for i in range(n):
        ev = copy.deepcopy(event)
        ev["event_id"] = 10_000 + i
        ev["user"]["email"] = f"Customer.{i}@Example.com"
        ev["user"]["phone"] = f"+1 213 555 {i % 10000:04d}"
        events.append(ev)
    body["data"] = events
    return body


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median seconds of `fn` over `repeats` runs (identity cache cleared first) and its last result."""
    times, result = [], None
    for _ in range(repeats):
        hash_identifier.cache_clear()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    clean, messy = clean_batch(1000), messy_batch(1000)
    clean_text = pretty_json(clean)
    rows = []
    t, res = timed(lambda: lint(clean, now=NOW), repeats)
    rows.append(("lint clean 1,000-event batch", t, len(res)))  # type: ignore[arg-type]
    t, res = timed(lambda: lint(messy, now=NOW), repeats)
    rows.append(("lint messy 1,000-event batch (raw PII hashed)", t, len(res)))  # type: ignore[arg-type]
    t, res = timed(lambda: parse_body(clean_text), repeats)
    rows.append((f"parse_body {len(clean_text) / 1e6:.1f} MB text", t, 1))
    t, res = timed(lambda: locate_paths(clean_text), repeats)
    rows.append(("locate_paths on it", t, len(res)))  # type: ignore[arg-type]
    findings = lint(messy, now=NOW)
    t, res = timed(lambda: annotate_json(messy, findings), repeats)
    rows.append(("annotate_json messy batch", t, len(findings)))
    print(f"{'case':<48}{'median ms':>11}{'events/s':>12}{'items':>8}")
    for name, secs, items in rows:
        print(f"{name:<48}{secs * 1000:>11.1f}{1000 / secs:>12,.0f}{items:>8}")
    print(f"(repeats={repeats}, Python {sys.version.split()[0]}, body {len(json.dumps(clean)):,} bytes compact)")


if __name__ == "__main__":
    main()

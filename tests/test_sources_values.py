"""core.sources.values: one text, one number and one event-time reader, and every caller reading alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from core.lint.checker import is_number, parse_iso_seconds
from core.payload import parse_event_time
from core.sources.pixel_body import pixel_event_from_body
from core.sources.server import event_row
from core.sources.values import as_text, is_json_number, parse_number, parse_time, time_column

T = 1777595035.0  # 2026-05-01 00:23:55 UTC

TIMES = [
    ("2026-05-01T00:23:55Z", T),
    ("2026-05-01T00:23:55.000Z", T),
    ("2026-05-01T00:23:55", T),  # naive: UTC
    ("2026-05-01T00:23:55+00:00", T),
    ("2026-05-01 00:23:55 +0000", T),  # Shopify
    ("2026-05-01 02:23:55 +0200", T),
    ("2026-04-30 20:23:55 -0400", T),
    (int(T), T),
    (str(int(T)), T),
    (int(T) * 1000, T),  # milliseconds
    (f"{int(T) * 1000}", T),
    (int(T) * 1_000_000, T),  # microseconds
    (int(T) * 1_000_000_000, T),  # nanoseconds
    (T + 0.5, T + 0.5),
]


@pytest.mark.parametrize(("raw", "expected"), TIMES)
def test_parse_time_valid(raw: object, expected: float) -> None:
    """ISO 8601 with or without a zone, Shopify's form and epoch s / ms / us / ns are UTC seconds."""
    assert parse_time(raw) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("raw", [None, "", "  ", "yesterday", True, float("nan"), float("inf"), {"t": 1}, [1],
                                 "2026-13-01T00:00:00Z", "1" * 400])
def test_parse_time_invalid(raw: object) -> None:
    """Absent or unreadable times are NaN, never an exception."""
    assert math.isnan(parse_time(raw))


def test_time_column_agrees_with_the_scalar_reader() -> None:
    """The vectorized reader gives the scalar reader's answer for every form, mixed in one column."""
    raws = [r for r, _ in TIMES] + ["yesterday", "", None]
    column = time_column(pd.Series([None if r is None else str(r) for r in raws], dtype="object"))
    for raw, got in zip(raws, column, strict=True):
        want = parse_time(None if raw is None else str(raw))
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-6), raw


@pytest.mark.parametrize("raw", ["2026-05-01 00:23:55 +0000", "2026-05-01T00:23:55Z", int(T) * 1000])
def test_pixel_server_payload_and_lint_read_one_time(raw: object) -> None:
    """A Pixel body, a server event, the builder and the linter read the same time from the same value."""
    pixel = pixel_event_from_body({"event": "Purchase", "timestamp": raw, "context": {"pixel": {"code": "C1"}}},
                                  entry=0, url="")[0]["timestamp"]
    server = event_row({}, {"event": "Purchase", "event_time": raw}, 0)["event_time"]
    built, _ = parse_event_time(raw)  # type: ignore[arg-type]
    assert pixel == pytest.approx(T) and server == pytest.approx(T) and built == int(T)
    if isinstance(raw, str):
        assert parse_iso_seconds(raw) == int(T)


def test_payload_notes_the_unit_it_converted() -> None:
    """The builder says which unit it read: milliseconds and microseconds are named."""
    assert parse_event_time(int(T) * 1000)[1] == "event_time was in milliseconds; converted to seconds " \
                                                 "(TikTok wants seconds)."
    assert "microseconds" in (parse_event_time(int(T) * 1_000_000)[1] or "")
    assert parse_event_time(datetime(2026, 5, 1, tzinfo=UTC))[1] is None


@pytest.mark.parametrize(("raw", "expected"), [
    (99.95, 99.95), ("99.95", 99.95), (" 12 ", 12.0), (3, 3.0), ("1e3", 1000.0), (10**400, math.nan),
    (None, math.nan), (True, math.nan), ("", math.nan), ("12,50", math.nan), ("$5", math.nan),
    (float("inf"), math.nan), ("nan", math.nan), ([1], math.nan),
])
def test_parse_number(raw: object, expected: float) -> None:
    """Finite floats from numbers and numeric text; NaN for everything else (booleans included)."""
    got = parse_number(raw)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (1, True), (1.5, True), (10**30, True), (True, False), (float("nan"), False), (float("inf"), False),
    ("1", False), (None, False),
])
def test_number_predicates_follow_the_reader(raw: object, expected: bool) -> None:
    """is_json_number (and lint's is_number built on it) is a JSON number the reader keeps."""
    assert is_json_number(raw) is expected and is_number(raw) is expected


@pytest.mark.parametrize(("raw", "expected"), [
    (None, ""), ("  a ", "a"), (1001.0, "1001"), (1.5, "1.5"), (7, "7"), (True, "true"), ({"a": 1}, ""),
    ([1], ""), (float("nan"), ""),
])
def test_as_text(raw: object, expected: str) -> None:
    """Scalars as the text TikTok compares: ids sent as numbers lose their ".0"."""
    assert as_text(raw) == expected

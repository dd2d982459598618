"""core.orders guessing: each canonical column guessed from the names, then from the values."""

from __future__ import annotations

import pandas as pd
import pytest

from core.orders import guess_mapping, read_sample, sample_values

ROWS = {
    "ref": ["1001", "1002", "1003", "1004"],
    "when": ["2026-05-01 00:23:55 +0000", "2026-05-02 10:00:00 -0400", "2026-05-03T01:00:00Z",
             "2026-05-04 09:00:00 +0000"],
    "paid": ["$12.50", "30.00", "7.99", "120.10"],
    "cur": ["USD", "USD", "EUR", "USD"],
    "came_from": ["tiktok", "google", "", "tiktok"],
    "click": ["E.C.P.123456789012", "", "E.C.P.223456789012", ""],
    "entry": ["/products/x?utm_source=tiktok", "https://shop.example/?ref=a", "/", "/products/y?ttclid=E.C.P.1"],
    "notes": ["gift", "", "leave at door", "fragile"],
}


@pytest.mark.parametrize(("canon", "column"), [
    ("order_id", "ref"), ("created_at", "when"), ("total", "paid"), ("currency", "cur"),
    ("utm_source", "came_from"), ("ttclid", "click"), ("landing_site", "entry"),
])
def test_columns_are_guessed_from_their_values(canon: str, column: str) -> None:
    """A column with an unknown name is guessed from what its values look like."""
    assert guess_mapping(pd.DataFrame(ROWS)).get(canon) == column


def test_known_names_win_and_free_text_is_never_guessed() -> None:
    """A known column name is taken as is; a notes column maps to nothing; each column is used once."""
    frame = pd.DataFrame({**ROWS, "Name": ["#1", "#2", "#3", "#4"], "Lineitem name": ["a", "b", "c", "d"]})
    got = guess_mapping(frame)
    assert got["order_id"] == "Name"
    assert "notes" not in got.values()
    assert len(set(got.values())) == len(got)


def test_read_sample_and_sample_values() -> None:
    """The first rows of an upload as text; distinct non-blank samples, long ones shortened."""
    data = pd.DataFrame({**ROWS, "ua": ["Mozilla/5.0 " + "x" * 80] * 4}).to_csv(index=False).encode()
    sample = read_sample(data, rows=3)
    assert len(sample) == 3 and sample["ref"].tolist() == ["1001", "1002", "1003"]
    assert sample_values(sample, "cur") == ["USD", "EUR"]
    assert sample_values(sample, "ua")[0].endswith("…") and len(sample_values(sample, "ua")[0]) == 40
    assert read_sample(b"").empty
    assert sample_values(sample, "missing") == []


@pytest.mark.parametrize(("site", "truth"), [
    ("https://www.tiktok.com/", True), ("http://vm.tiktok.com/ZMabc/", True), ("tiktok.com", True),
    ("https://www.google.com/?q=tiktok.com", False), ("https://nottiktok.com/", False), ("", False),
])
def test_a_referring_site_on_tiktok_makes_a_tiktok_order(site: str, truth: bool) -> None:
    """A referring-site URL mapped as the landing site counts the order as TikTok's when its host is tiktok.com."""
    from core.orders import truth_filter

    frame = pd.DataFrame({"order_id": ["1"], "utm_source": [""], "ttclid": [""], "landing_site": [site]})
    assert len(truth_filter(frame)) == int(truth)
    assert truth_filter(frame, utm_source="google").empty

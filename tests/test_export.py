"""CSV exports: formula-like text neutralized, numbers kept numeric, every console CSV through one writer."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from core.export import csv_bytes, is_formula_like, neutralize_cell

HOSTILE = ['=HYPERLINK("http://x")', "=1+1", "@SUM(A1)", "+1", "-2+3", "\tx", "\rx"]


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def assert_no_live_formula(data: bytes) -> None:
    """No cell of the CSV starts with a formula trigger unless it is a plain number."""
    for row in _cells(data):
        for cell in row:
            if is_formula_like(cell):
                float(cell)  # only a real number may start with - or +


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("ord_10492", "ord_10492"), ("a=b", "a=b"), ("", ""), (-2, -2), (None, None)],
)
def test_neutralize_cell(value: object, expected: object) -> None:
    """Text starting with = + - @ tab or CR gets a leading quote; other text and non-text stay as they are."""
    assert neutralize_cell(value) == expected


def test_csv_bytes_neutralizes_text_and_keeps_numbers() -> None:
    """Planted formulas in id, name and URL columns are quoted; a negative number column stays numeric."""
    frame = pd.DataFrame({
        "order_id": HOSTILE, "event": HOSTILE[::-1], "url": [f"http://x/{i}" for i in range(7)],
        "value": [-1.5, -2, 3, 0, -10, 1, 2], "count": [-1, 2, 3, 4, 5, 6, 7],
        "accepted": [True, False, True, False, True, False, True],
    })
    data = csv_bytes(frame)
    assert_no_live_formula(data)
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False)
    assert back["order_id"].tolist() == ["'" + v for v in HOSTILE]
    assert back["value"].tolist() == [-1.5, -2, 3, 0, -10, 1, 2]  # still numbers
    assert back["count"].dtype.kind == "i" and back["count"].min() == -1
    assert b'=HYPERLINK' not in data.replace(b"'=HYPERLINK", b"")


def test_csv_bytes_categorical_mixed_and_summary() -> None:
    """Categorical and mixed object columns are neutralized too; a summary dict becomes metric,value rows."""
    frame = pd.DataFrame({"event": pd.Categorical(["=1+1", "Purchase", None]), "mixed": [-3, "@SUM(A1)", None]})
    rows = _cells(csv_bytes(frame))
    assert rows == [["event", "mixed"], ["'=1+1", "-3"], ["Purchase", "'@SUM(A1)"], ["", ""]]
    summary = _cells(csv_bytes({"counted": 3, "note": "=1+1", "loss": -4}))
    assert summary == [["metric", "value"], ["counted", "3"], ["note", "'=1+1"], ["loss", "-4"]]


def test_per_event_quality_csv_is_neutralized() -> None:
    """The Match quality per-event download quotes an event name planted as a formula."""
    from core.quality import score_frame
    from core.review import build_review, result_csv

    rows = pd.DataFrame({"event": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "Purchase"],
                         "email": ["", "", ""], "index": [0, 1, 2]})
    data = result_csv(build_review(score_frame(rows)))
    assert_no_live_formula(data)
    assert "'=HYPERLINK" in data.decode()

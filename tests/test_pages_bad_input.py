"""Bad files on every uploader: a clear message on the page, never a traceback, never a silent pass."""

from __future__ import annotations

import pytest

GARBAGE = [
    b"\x00\xff\xfe garbage \x80",
    b'{"event_source": "web", "data": [}',
    b"",
    b'{"log": 5}',
    b"when,what\n1,2\n",
    b'{"event": "Purchase"}\n{"event": ',
]
# (page, widget key, radio key to select uploads first or None, radio value, extensions the uploader takes)
UPLOADERS = [
    ("pages/2_Lint.py", "lint_upload", None, None, ["json"]),
    ("pages/3_Send.py", "send_upload", "send_source", "Upload JSON/JSONL", ["json", "jsonl"]),
    ("pages/4_Compare.py", "compare_pixel_upload", None, None, ["har", "json", "jsonl", "csv"]),
    ("pages/4_Compare.py", "compare_server_upload", "compare_server_source", "Upload a file", ["json", "jsonl", "csv"]),
    ("pages/5_Match_quality.py", "quality_upload", "quality_source", "Upload file", ["json", "jsonl", "csv", "har"]),
    ("pages/6_Dedup_gap.py", "gap_pixel_upload", None, None, ["har", "json", "jsonl", "csv"]),
    ("pages/6_Dedup_gap.py", "gap_server_upload", None, None, ["json", "jsonl", "csv"]),
    ("pages/6_Dedup_gap.py", "gap_orders_upload", None, None, ["csv"]),
]


@pytest.mark.parametrize(("page", "key", "radio", "choice", "exts"), UPLOADERS, ids=[u[1] for u in UPLOADERS])
def test_garbage_uploads_show_an_error_not_a_traceback(app_test, page: str, key: str, radio: str | None,
                                                       choice: str | None, exts: list[str]) -> None:
    """Every garbage file on every uploader gives a readable message and no exception."""
    at = app_test(page).run()
    if radio:
        at.radio(key=radio).set_value(choice).run()
    for i, data in enumerate(GARBAGE):
        name = f"bad{i}.{exts[i % len(exts)]}"
        at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        alerts = " ".join(el.value for el in [*at.error, *at.warning, *at.info])
        findings = " ".join(el.value for el in at.markdown if "error" in el.value or "warning" in el.value)
        assert (alerts + findings).strip(), f"{key} said nothing about {name}"
        at.file_uploader(key=key).set_value(None).run()


def test_dedup_gap_with_both_files_and_a_broken_server_file(app_test) -> None:
    """Dedup gap reads the server file only once both sides are given: a non-UTF-8 one still gets a message."""
    at = app_test("pages/6_Dedup_gap.py").run()
    pixel = b"pixel_code,event,event_id,timestamp\nC1,Purchase,ord_1_purchase,1735689600\n"
    at.file_uploader(key="gap_pixel_upload").set_value(("pixel.csv", pixel, "text/csv")).run()
    for name, data in (("server.json", b"\xff\xfe\x00{"), ("server.csv", b"when,what\n1,2\n")):
        at.file_uploader(key="gap_server_upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.error, f"no error shown for {name}"


PASTES = ["{nope", "[1, 2, 3]", '"just a string"', "null", '{"data": "not a list"}', "\u0000\u00ff"]


@pytest.mark.parametrize(("page", "key", "radio", "choice"), [
    ("pages/2_Lint.py", "lint_text", None, None),
    ("pages/3_Send.py", "send_text", "send_source", "Paste JSON"),
    ("pages/5_Match_quality.py", "quality_text", "quality_source", "Paste JSON"),
], ids=["lint", "send", "quality"])
def test_garbage_pastes_show_a_message_not_a_traceback(app_test, page: str, key: str, radio: str | None,
                                                       choice: str | None) -> None:
    """Pasted text that is not a usable body is explained on the page, never a traceback."""
    at = app_test(page).run()
    if radio:
        at.radio(key=radio).set_value(choice).run()
    for text in PASTES:
        at.text_area(key=key).set_value(text).run()
        assert not at.exception, (text, [e.value for e in at.exception])
        alerts = " ".join(el.value for el in [*at.error, *at.warning, *at.info])
        findings = " ".join(el.value for el in at.markdown if "error" in el.value or "warning" in el.value)
        assert (alerts + findings).strip(), f"{key} said nothing about {text!r}"


@pytest.mark.parametrize(("page", "key", "radio", "choice"), [
    ("pages/2_Lint.py", "lint_upload", None, None),
    ("pages/3_Send.py", "send_upload", "send_source", "Upload JSON/JSONL"),
])
def test_errors_name_the_file_and_the_fix(app_test, page: str, key: str, radio: str | None,
                                          choice: str | None) -> None:  # type: ignore[no-untyped-def]
    """A file that is not UTF-8 is shown by the one error helper: the file's name, what is wrong, the fix."""
    at = app_test(page).run()
    if radio:
        at.radio(key=radio).set_value(choice).run()
    at.file_uploader(key=key).set_value(("latin1.json", "café".encode("latin-1"), "application/json")).run()
    assert not at.exception
    error = at.error[0].value
    assert "latin1.json" in error and "UTF-8" in error and "**Fix:**" in error


def test_lint_page_lints_a_whole_jsonl_upload(app_test) -> None:  # type: ignore[no-untyped-def]
    """A JSONL upload of 2,500 events is linted whole: the bad event far down is named by path, line, event_id."""
    import json

    from core.lint import sample_body_text

    event = json.loads(sample_body_text("valid purchase"))["data"][0]
    lines = [json.dumps({**event, "event_id": f"ord_{i}_purchase"}) for i in range(2500)]
    lines[2100] = json.dumps({**event, "event_id": "ord_2100_purchase", "event_time": "soon"})
    at = app_test("pages/2_Lint.py").run()
    at.file_uploader(key="lint_upload").set_value(("batch.jsonl", "\n".join(lines).encode(), "text/plain")).run()
    assert not at.exception
    rows = at.dataframe[0].value.to_dict("records")
    bad = next(r for r in rows if r["code"] == "event.event_time.string")
    assert (bad["path"], bad["line"], bad["event_id"]) == ("data[2100].event_time", 2101, "ord_2100_purchase")

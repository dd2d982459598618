"""Lint page (AppTest): samples, pasted text, uploads and bad JSON drive findings and the marked body."""

from __future__ import annotations

import json

from core.lint import lint, parse_body, sample_body_text

PAGE = "pages/2_Lint.py"


def _table(at) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The findings table as records."""
    return at.dataframe[0].value.to_dict("records")  # type: ignore[no-any-return]


def test_sample_then_paste_then_bad_json(app_test) -> None:  # type: ignore[no-untyped-def]
    """Empty page guides; the broken sample shows findings with paths and markers; valid is quiet; bad JSON errs."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert "Paste a body" in at.info[0].value

    at.selectbox(key="lint_sample").set_value("broken body").run()
    assert not at.exception
    text = at.text_area(key="lint_text").value
    expected = lint(parse_body(text))
    rows = _table(at)
    assert [(r["code"], r["path"]) for r in rows] == [(f.code, f.path) for f in expected]
    email = next(r for r in rows if r["code"] == "user.email.unhashed")
    assert email["path"] == "data[0].user.email" and email["severity"].startswith("🔴")
    assert "sha256" in email["fix"].lower() or len(email["fix"]) > 64
    n_err = sum(f.severity == "error" for f in expected)
    assert any(f"**{n_err}** error" in m.value for m in at.markdown)
    marked = at.code[0].value
    email_line = next(s for s in marked.split("\n") if '"email"' in s)
    assert "◀" in email_line and "user.email.unhashed" in email_line
    assert at.download_button(key="lint_download") is not None

    at.text_area(key="lint_text").set_value(sample_body_text("valid purchase")).run()
    assert not at.exception
    assert at.success and "No findings" in at.success[0].value

    at.text_area(key="lint_text").set_value('{"data": [\n  {"event": "Purchase",}\n]}').run()
    assert not at.exception
    assert "line 2" in at.error[0].value and "column" in at.error[0].value


def test_upload_bare_event_and_meta_sample(app_test) -> None:  # type: ignore[no-untyped-def]
    """An uploaded bare event lints with event-relative paths; the Meta sample is flagged at its keys."""
    event = json.loads(sample_body_text("broken body"))["data"][0]
    at = app_test(PAGE).run()
    at.file_uploader(key="lint_upload").set_value(
        ("event.json", json.dumps(event).encode(), "application/json")).run()
    assert not at.exception
    pairs = {(r["code"], r["path"]) for r in _table(at)}
    assert ("body.bare_event", "") in pairs and ("user.email.unhashed", "user.email") in pairs
    assert json.loads(at.text_area(key="lint_text").value) == event

    at.selectbox(key="lint_sample").set_value("Meta CAPI body").run()
    pairs = {(r["code"], r["path"]) for r in _table(at)}
    assert ("meta.key", "data[0].user_data") in pairs and ("meta.user_key", "data[0].user_data.em") in pairs


def test_the_built_body_can_be_linted(app_test) -> None:  # type: ignore[no-untyped-def]
    """After the Build page made a body, the Lint page offers it as a sample and lints it."""
    at = app_test("pages/2_Lint.py")
    at.session_state["built_body"] = {"event_source": "web", "event_source_id": "C1", "data": [
        {"event": "Purchase", "event_time": 1735689600000, "event_id": "ord_1_purchase"}]}
    at.run()
    at.selectbox(key="lint_sample").set_value("the body built on the Build page").run()
    assert not at.exception
    assert '"event_source_id": "C1"' in at.text_area(key="lint_text").value
    rows = _table(at)
    assert ("event.event_time.milliseconds", "data[0].event_time") in [(r["code"], r["path"]) for r in rows]

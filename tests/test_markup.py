"""User text never renders as markup: the escape helpers, then hostile ids, names and file names on the pages."""

from __future__ import annotations

import json
import re

import pytest

from ui.markup import code, plain

HOSTILE = "![x](http://127.0.0.1:9/x.png) [y](http://127.0.0.1:9) <img src=x> **b**"
_CODE_SPAN = re.compile(r"(`+).*?\1")
_LIVE = [
    ("a link or image", re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")),
    ("an opening bracket", re.compile(r"(?<!\\)\[(?=[xy]\])")),
    ("HTML", re.compile(r"(?<!\\)<img")),
    ("bold", re.compile(r"(?<!\\)\*\*b(?<!\\)\*\*")),
    ("an autolink", re.compile(r"http://")),  # GFM links it even with the colon escaped (seen in Chromium)
    ("a www autolink", re.compile(r"www\\?\.")),
    ("an e-mail autolink", re.compile(r"[a-z0-9]\\?@")),
]


def live_markup(markdown: str) -> list[str]:
    """What in `markdown` (outside code spans) would render as a link, image, HTML, bold or autolink."""
    text = _CODE_SPAN.sub("", markdown)
    return [name for name, pattern in _LIVE if pattern.search(text)]


def rendered_markdown(at) -> list[str]:  # type: ignore[no-untyped-def]
    """Every string the page renders as markdown: text elements, alerts, headings, labels."""
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        out.extend(str(e.value) for e in at.get(kind))
    out.extend(e.label for e in at.get("expander"))
    out.extend(e.label for e in at.get("metric"))
    out.extend(str(e.value) for e in at.get("metric"))
    for kind in ("button", "download_button", "checkbox", "selectbox", "text_input", "radio"):
        out.extend(e.label for e in at.get(kind))
    return out


def assert_no_live_markup(at) -> None:  # type: ignore[no-untyped-def]
    """No rendered markdown element carries the hostile string as live markup, and it was shown somewhere."""
    texts = rendered_markdown(at)
    bad = {t: live_markup(t) for t in texts if live_markup(t)}
    assert not bad, bad


@pytest.mark.parametrize("text", [HOSTILE, "a`b", "<script>x</script>", "[z]: http://x", "__init__", "line\n# h",
                                  "https://shop.example/p?x=1 www.evil.com a@b.co"])
def test_plain_and_code_leave_no_live_markup(text: str) -> None:
    """Escaped text and code spans carry no link, image, HTML or bold; snake_case stays readable."""
    assert not live_markup(plain(text))
    assert not live_markup(code(text))
    assert "\n" not in plain(text) and "\n" not in code(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("ord_10492_purchase", "ord_10492_purchase"), ("checkout.har", "checkout.har"),
    ("[y](http://x)", "\\[y\\](http:\u2060//x)"), ("<img>", r"\<img\>"), ("a@b.co", "a\u2060\\@b.co"),
    ("**b**", r"\*\*b\*\*"), ("_x_", r"\_x\_"), ("www.evil.com", "www\u2060.evil.com"),
])
def test_plain_escapes(text: str, expected: str) -> None:
    """Backslash escapes only what could become markup; ordinary ids and file names read as they are."""
    assert plain(text) == expected


def test_code_fences_past_backticks() -> None:
    """A code span is fenced with more backticks than the value holds."""
    assert code("x") == "`x`" and code("a`b") == "`` a`b ``"


def test_build_page_order_id_is_text(app_test) -> None:  # type: ignore[no-untyped-def]
    """A hostile order id reaches the notes (the derived event_id) as escaped text, never a link or image."""
    at = app_test("pages/1_Build.py")
    at.session_state["tec_pixel_code"] = "CEXAMPLEPIXEL0000001"
    at.run()
    at.text_input(key="build_order_id").input(HOSTILE).run()
    assert not at.exception
    texts = rendered_markdown(at)
    assert any("derived from the order id" in t and r"\[y\]" in t for t in texts)  # it is shown, escaped
    assert_no_live_markup(at)


def test_lint_page_file_name_is_text(app_test) -> None:  # type: ignore[no-untyped-def]
    """A hostile upload file name in an error message is escaped."""
    at = app_test("pages/2_Lint.py").run()
    at.file_uploader(key="lint_upload").set_value((f"{HOSTILE}.json", b"\xff\xfe\x00bad", "application/json"))
    at.run()
    assert not at.exception and at.error
    assert any(r"\<img" in e.value for e in at.error)
    assert_no_live_markup(at)


def test_quality_page_event_name_is_text(app_test) -> None:  # type: ignore[no-untyped-def]
    """A hostile event name in the advice heading and messages is escaped."""
    body = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9",
            "data": [{"event": HOSTILE, "event_time": 1700000000, "event_id": "e1", "user": {"ip": "8.8.8.8"}}]}
    at = app_test("pages/5_Match_quality.py").run()
    at.radio(key="quality_source").set_value("Paste JSON").run()
    at.text_area(key="quality_text").input(json.dumps(body)).run()
    at.selectbox(key="quality_scope").set_value(HOSTILE).run()
    assert not at.exception
    assert any(r"\[y\]" in s.value for s in at.subheader)
    assert_no_live_markup(at)


def test_compare_page_event_name_and_file_name_are_text(app_test) -> None:  # type: ignore[no-untyped-def]
    """A hostile event name and event_id on both sides, and a hostile file name, render as text."""
    event = {"event": HOSTILE, "event_id": f"{HOSTILE}_1", "event_time": 1700000000,
             "user": {"ip": "8.8.8.8"}, "page": {"url": "http://127.0.0.1:9/[a](b)"}}
    pixel = [{"event": HOSTILE, "event_id": f"x{HOSTILE}_1", "timestamp": "2023-11-14T22:13:20Z",
              "pixel_code": "C4A1B2C3D4E5F6G7H8I9"}]
    body = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [event]}
    at = app_test("pages/4_Compare.py").run()
    at.file_uploader(key="compare_pixel_upload").set_value(("pixel.json", json.dumps(pixel).encode(),
                                                             "application/json"))
    at.radio(key="compare_server_source").set_value("Upload a file").run()
    at.file_uploader(key="compare_server_upload").set_value(("server.json", json.dumps(body).encode(),
                                                              "application/json"))
    at.run()
    assert not at.exception
    assert any("Near miss" in w.value and r"\[y\]" in w.value for w in at.warning)  # shown, as text
    assert_no_live_markup(at)
    at.file_uploader(key="compare_server_upload").set_value((f"{HOSTILE}.json", b"{", "application/json")).run()
    assert not at.exception and at.error
    assert_no_live_markup(at)


def test_custom_endpoint_url_is_text(app_test) -> None:  # type: ignore[no-untyped-def]
    """A hostile custom base URL shows in the sidebar and the Send page's target banner as code, not a link."""
    at = app_test("pages/3_Send.py")
    at.session_state["tec_target"] = "custom"
    at.session_state["tec_base_url"] = f"http://127.0.0.1:9/{HOSTILE}"
    at.run()
    assert not at.exception
    texts = rendered_markdown(at) + [c.value for c in at.sidebar.caption]
    assert any("custom endpoint" in t and "127.0.0.1:9" in t for t in texts)
    bad = {t: live_markup(t) for t in texts if live_markup(t)}
    assert not bad, bad

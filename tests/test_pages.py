"""Smoke test: the home page and every page render from a fresh session without an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


def test_home_renders_target_and_links(app_test) -> None:
    """Home says what the console does, that the target is the local emulator, and links every page."""
    at = app_test().run()
    assert not at.exception
    assert at.title[0].value == "TikTok Events Console"
    assert any("local emulator" in i.value for i in at.info)
    linked = {pl.proto.page for pl in at.main.get("page_link")}
    expected = {Path(p).stem.split("_", 1)[1] for p in PAGES}
    assert linked == expected

def test_sidebar_menu_names_home_and_every_page(app_test) -> None:
    """The sidebar menu reads Home (not the entry file's name) and links every page, on every page."""
    for page in (None, *PAGES):
        at = app_test(page).run()
        labels = [pl.proto.label for pl in at.sidebar.get("page_link")]
        assert labels == ["Home", "Build", "Lint", "Send", "Compare", "Match quality", "Dedup gap", "Outbox",
                          "Live session", "TikTok counts"], page


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(app_test, page: str) -> None:
    """Each page runs from a fresh session (no state from other pages) and shows no traceback."""
    at = app_test(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} shows no title"


def test_sidebar_settings_persist_across_pages(app_test) -> None:
    """Pixel and test event codes typed in the sidebar survive a page switch."""
    at = app_test().run()
    at.sidebar.text_input(key="_tec_pixel_code").set_value("C4A1B2C3D4E5F6G7H8I9").run()
    at.sidebar.text_input(key="_tec_test_event_code").set_value("TEST12345").run()
    at.switch_page(PAGES[0]).run()
    assert at.session_state["tec_pixel_code"] == "C4A1B2C3D4E5F6G7H8I9"
    assert at.sidebar.text_input(key="_tec_test_event_code").value == "TEST12345"
    assert not at.exception


def test_token_is_never_rendered(app_test, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token from the environment is reported as set, and its value appears nowhere on the page."""
    token = "tok_SECRET_1234567890"
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", token)
    at = app_test().run()
    rendered = " ".join(str(el.proto) for el in [*at.main, *at.sidebar])
    assert "from environment" in rendered
    assert token not in rendered


def test_home_shows_outbox_status_from_the_store(app_test, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events queued in the SQLite store show on the home page as waiting in the outbox."""
    from core.store import Store

    db = tmp_path / "status.db"
    monkeypatch.setenv("TEC_DB", str(db))
    with Store(db) as store:
        sid = store.create_session("t", target="emulator")
        store.add_outbox(sid, {"event_source": "web", "event_source_id": "C1",
                                "data": [{"event": "Purchase", "event_id": f"ord_{i}_purchase",
                                          "event_time": 1735689600} for i in range(3)]})
    at = app_test().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Send sessions"] == "1"
    assert metrics["Waiting in outbox"] == "3"
    assert metrics["Events accepted"] == "0"

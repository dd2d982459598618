"""TikTok counts page (AppTest): TikTok's counts from the emulator beside the console's own and the orders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from core.cli import EXIT_OK, main
from core.emulator import EmulatorServer
from tests.conftest import download_bytes

PAGE = "pages/9_TikTok_counts.py"
PIXEL = "CCOUNTSPAGE00000001"
T1 = int(datetime(2026, 5, 14, 15, 0, tzinfo=UTC).timestamp())
ORDERS = (b"order_id,created_at,total,currency\n"
          b"1001,2026-05-14T10:00:00Z,10.00,USD\n1002,2026-05-14T11:00:00Z,12.00,USD\n"
          b"1003,2026-05-14T23:30:00Z,9.00,USD\n1004,2026-05-15T00:30:00Z,9.00,USD\n")


@pytest.fixture
def emu(emu_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    emu_server.clear()
    for name in ("TIKTOK_MARKETING_TOKEN", "TEC_ADVERTISER_ID"):
        monkeypatch.delenv(name, raising=False)
    return emu_server


def _send(emu: EmulatorServer, tmp_path: Path, n: int, *extra: str) -> None:
    """Events through `tiktok-events send` (the outbox in this test's database, then the emulator)."""
    path = tmp_path / f"send{n}{len(extra)}.jsonl"
    path.write_text("\n".join(json.dumps({"event": "Purchase", "event_time": T1, "event_id": f"o{n}_{i}{len(extra)}"})
                              for i in range(n)))
    argv = ["send", str(path), "--pixel-code", PIXEL, "--base-url", emu.url, "--format", "json", *extra]
    assert main(argv) == EXIT_OK


def _page(app_test, emu: EmulatorServer):  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    for key, value in {"tec_target": "custom", "tec_base_url": emu.url, "tec_pixel_code": PIXEL,
                       "counts_since": date(2026, 5, 14), "counts_until": date(2026, 5, 15)}.items():
        at.session_state[key] = value
    return at.run()


def test_counts_beside_the_console_and_orders(app_test, emu: EmulatorServer, tmp_path: Path,  # type: ignore[no-untyped-def]
                                              capsys: pytest.CaptureFixture[str], media: list[Any]) -> None:
    """After a send, the page says what TikTok counted, what the console accepted and what the orders say."""
    _send(emu, tmp_path, 3, "--live")
    _send(emu, tmp_path, 2, "--test-event-code", "TEST9")
    capsys.readouterr()
    at = _page(app_test, emu)
    assert not at.exception
    assert any("UTC" in i.value and "every few hours" in i.value for i in at.info)
    at.text_input(key="counts_advertiser").input("7000000000000000007")
    at.file_uploader(key="counts_orders").set_value(("orders.csv", ORDERS, "text/csv"))
    at.button(key="counts_read").click().run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.get_by_key("counts_sentences").markdown)
    assert "TikTok counted 0 browser and 3 server Purchase events on 2026-05-14" in text
    assert "2 test/preview events kept apart" in text and "the console had 3 accepted (+2 test)" in text
    assert "your orders say 3" in text
    table = next(d.value for d in at.dataframe if "TikTok server" in d.value.columns)
    row = table.iloc[0]
    assert (row["UTC day"], row["event"], row["TikTok server"], row["TikTok preview (test)"], row["your orders"]) == (
        "2026-05-14", "Purchase", 3, 2, 3)
    assert any("advanced matching: email off, phone off" in c.value for c in at.caption)
    from io import BytesIO

    import pandas as pd

    back = pd.read_csv(BytesIO(download_bytes(at, "counts_download", media)))  # the same rows, as CSV
    assert back.loc[0, ["day", "event", "tiktok_server", "tiktok_preview", "orders"]].tolist() == [
        "2026-05-14", "Purchase", 3, 2, 3]


def test_refused_advertiser_shows_tiktoks_message(app_test, emu: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    """An empty advertiser id is named with its fix; TikTok's own refusal code shows through show_error."""
    at = _page(app_test, emu)
    at.button(key="counts_read").click().run()
    assert any("No advertiser id" in e.value and "TEC_ADVERTISER_ID" in e.value for e in at.error)
    emu.set_fault("code", count=2, code=40001, message="No permission to operate pixel code")
    at.text_input(key="counts_advertiser").input("7000000000000000007")
    at.button(key="counts_read").click().run()
    assert any("40001" in e.value and "No permission to operate pixel code" in e.value for e in at.error)
    assert not at.dataframe


def test_without_pixel_code_the_page_asks_for_one(app_test) -> None:  # type: ignore[no-untyped-def]
    """No Pixel code: a warning naming the sidebar field, and no read button result."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("Pixel code" in w.value for w in at.warning)


def test_nothing_counted_says_so(app_test, emu: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    """A Pixel that sent nothing: one plain line, no empty table, and the note that the list did not know it."""
    at = _page(app_test, emu)
    at.text_input(key="counts_advertiser").input("7000000000000000007")
    at.button(key="counts_read").click().run()
    assert not at.exception and not at.error and not at.dataframe
    assert any("TikTok counted no events for" in i.value and "the console sent none" in i.value for i in at.info)
    assert any("does not list" in c.value for c in at.caption)


def test_token_and_advertiser_from_secrets_never_shown(app_test, emu: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    """secrets.toml's TIKTOK_MARKETING_TOKEN and TEC_ADVERTISER_ID are used; the token appears nowhere on the page."""
    secret_token = "secret-marketing-token-0f9e8d7c"
    at = app_test(PAGE)
    at.secrets["TIKTOK_MARKETING_TOKEN"] = secret_token
    at.secrets["TEC_ADVERTISER_ID"] = "7000000000000000099"
    for key, value in {"tec_target": "custom", "tec_base_url": emu.url, "tec_pixel_code": PIXEL}.items():
        at.session_state[key] = value
    at.run()
    assert at.text_input(key="counts_advertiser").value == "7000000000000000099"
    assert any("from TIKTOK_MARKETING_TOKEN (secrets)" in c.value for c in at.caption)
    at.button(key="counts_read").click().run()
    assert not at.exception and not at.error
    shown = [str(el.value) for kind in (at.markdown, at.caption, at.info, at.warning, at.text_input, at.code)
             for el in kind]
    assert any("TikTok counted no events" in t for t in shown)  # the page did render its answer
    assert not [t for t in shown if secret_token in t]
    assert any(r.get("headers", {}).get("Access-Token") == "***redacted***" for r in emu.requests)

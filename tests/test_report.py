"""The audit report (core.report): a real session sent through the emulator and demo files become one
self-contained HTML file holding the pages' figures, no token, no network reference, escaped user text, a
JSON appendix equal to the figures; and every page's download (AppTest) serves such a report."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from core.cli import main
from core.dedup import VERDICTS, dedup_files, simulate
from core.demo import generate_store, write_store
from core.emulator import EmulatorServer
from core.lint import count_findings, lint_bodies, lint_upload
from core.quality import load_quality_input, score_frame, sent_events_frame
from core.report import (
    build_report,
    files_material,
    page_material,
    problems,
    report_figures,
    session_material,
)
from core.review import build_review
from core.store import Store
from tests.conftest import download_bytes

TOKEN = "tok-REPORT-must-never-appear-7f3a9c1e5b"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
HOSTILE = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def _event(event_id: str, **over: Any) -> dict[str, Any]:
    ev = {"event": "Purchase", "event_time": 1735689600, "event_id": event_id,
          "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
          "properties": {"currency": "USD", "value": 46.0}}
    ev.update(over)
    return ev


def session_body() -> dict[str, Any]:
    """Three good events, one with an unknown currency (a lint error TikTok refuses), one hostile name."""
    return {"event_source": "web", "event_source_id": "CPIXEL123", "data": [
        _event("ord_1"), _event("ord_2"), _event("ord_3"),
        _event("ord_4", properties={"currency": "XXX", "value": 5}),
        _event("ord_5", event=HOSTILE)]}


def send_session(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Send `session_body` through the emulator with the CLI (the invalid one too); the session id."""
    path = tmp_path / "body.json"
    path.write_text(json.dumps(session_body()))
    code = main(["send", str(path), "--test-event-code", "TEST42", "--base-url", emu.url, "--send-invalid",
                 "--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    return str(json.loads(out)["session_id"])


@pytest.fixture
def emu(token_emu: EmulatorServer) -> EmulatorServer:
    return token_emu


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def parse(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    return tags


def appendix(page: str) -> dict[str, Any]:
    """The JSON appendix, read the way a machine would."""
    found = [text for attrs, text in parse(page).scripts if attrs.get("id") == "report-data"]
    assert len(found) == 1 and parse(page).scripts[-1][0].get("type") == "application/json"
    doc: dict[str, Any] = json.loads(found[0])
    return doc


def assert_offline(page: str) -> None:
    """No element loads anything: no src/href/action/srcset, no <link>/<iframe>/<img>; plotly.js inline once."""
    tags = parse(page)
    loaders = [(t, a) for t, a in tags.tags if t in ("link", "iframe", "img", "object", "embed", "base")
               or {"src", "href", "srcset", "action", "data"} & set(a)]
    assert loaders == []
    assert page.count(get_plotlyjs()[:400]) == 1  # one inline copy of plotly.js, no CDN
    assert "cdn.plot.ly/plotly" not in page.replace(get_plotlyjs(), "")


def test_session_report_holds_the_pages_figures_and_no_token(emu: EmulatorServer, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A session sent through the emulator: delivery, findings, EMQ proxy and pairs equal the core functions
    the pages call; every request id is listed; the token set for the send is nowhere in the file."""
    sid = send_session(emu, tmp_path, capsys)
    db = Path(os.environ["TEC_DB"])
    material = session_material(db, sid)
    page = build_report(material)
    figures = report_figures(material)
    with Store(db) as store:
        counts, bodies, exchanges = store.outbox_counts(sid), store.server_events(sid), store.exchanges(sid)
    assert figures["delivery"] == counts and counts["rejected"] >= 1 and counts["accepted"] >= 3
    assert figures["events_checked"] == 5 and figures["report"]["period"].startswith("sent from 20")
    assert figures["findings"] == count_findings(lint_bodies(bodies)) and figures["findings"]["error"] >= 1
    review = build_review(score_frame(sent_events_frame(db, sid)))
    assert figures["quality"]["mean_score"] == pytest.approx(review.summary["mean_score"], abs=1e-4)
    assert figures["quality"]["events"] == review.summary["events"] == 5
    keys = simulate(pytest.importorskip("pandas").DataFrame(
        {"pixel_code": [], "event": [], "event_id": [], "timestamp": []}), sent_events_frame(db, sid)).keys
    assert figures["pairs"] == {v: int((keys["verdict"] == v).sum()) for v in VERDICTS}
    assert figures["exchanges"]["requests"] == len(exchanges) >= 1
    for ex in exchanges:
        assert ex.request_id and ex.request_id in page
    assert TOKEN not in page and TOKEN not in json.dumps(figures)
    assert appendix(page) == figures
    assert any("rejected" in p for p in problems(figures)) and any("error" in p for p in problems(figures))
    assert_offline(page)


def test_hostile_event_names_are_text(emu: EmulatorServer, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An event named like markup stays text: no extra element, no extra script, verbatim in the appendix."""
    sid = send_session(emu, tmp_path, capsys)
    material = session_material(Path(os.environ["TEC_DB"]), sid)
    page = build_report(material)
    tags = parse(page)
    assert not [t for t, _ in tags.tags if t == "img"]
    assert all("__pwned" not in text for attrs, text in tags.scripts if attrs.get("type") != "application/json"
               and "newPlot" not in text)
    for _, text in tags.scripts:  # inside chart specs and the appendix only as \u003c-escaped JSON text
        assert "<script>window.__pwned" not in text
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1" in page  # the tables show it as text
    events = {r["event"] for r in appendix(page)["quality"]["by_event_type"]}
    assert HOSTILE in events


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_store(generate_store(orders=300, seed=7), tmp_path_factory.mktemp("demo"))


def test_files_report_equals_the_dedup_command_and_the_quality_review(demo_files: dict[str, Path]) -> None:
    """--pixel/--server/--orders: the dedup figures are `tiktok-events dedup`'s, the EMQ proxy the quality
    command's, the findings the linter's over the JSONL; the gap and its charts are drawn."""
    pixel, server, orders = demo_files["pixel.csv"], demo_files["server.jsonl"], demo_files["orders.csv"]
    material = files_material(pixel, server, orders)
    figures = report_figures(material)
    run = dedup_files(pixel, server, orders)
    assert figures["dedup"] == json.loads(json.dumps(run.report.summary.to_dict()))
    assert figures["dedup"]["truth"] > 0 and figures["dedup"]["pixel_gap"] is not None
    days = run.report.daily["day"].astype(str)
    assert figures["report"]["period"] == f"events of {days.min()} to {days.max()}, UTC days"
    assert figures["events_checked"] == run.report.summary.pixel_events + run.report.summary.server_events
    review = build_review(score_frame(load_quality_input(server)))
    assert figures["quality"]["mean_score"] == pytest.approx(review.summary["mean_score"], abs=1e-4)
    by_type = {r["event"]: r for r in figures["quality"]["by_event_type"]}
    assert set(by_type) == set(review.by_event_type["event"])
    firsts = {}
    for rec in review.recommendations:
        firsts.setdefault(rec.event, rec.key)
    assert {e: r["next_key"] for e, r in by_type.items() if r["next_key"]} == firsts
    assert figures["findings"] == count_findings(lint_upload(server.read_text())[1])
    page = build_report(material)
    assert appendix(page) == figures
    assert page.count("Plotly.newPlot(") == 4 + 5  # waterfall, verdicts, daily, 5 segments, coverage heat map
    assert "Pixel gap" in page and f"{figures['dedup']['pixel_gap']:.1%}" in page
    assert_offline(page)


def test_csv_server_file_is_said_not_linted(demo_files: dict[str, Path]) -> None:
    """A CSV of server events cannot be linted: the report says so instead of claiming zero findings."""
    material = files_material(demo_files["pixel.csv"], demo_files["server.csv"])
    figures = report_figures(material)
    assert figures["findings"] is None and "delivery" in figures and figures["delivery"] is None
    assert any("not linted" in n for n in figures["notes"])
    assert "Nothing was linted" in build_report(material)


def test_page_material_counts_the_linted_events() -> None:
    """A page's findings over its documents: events counted across bodies, errors named as problems."""
    docs: list[object] = [session_body(), _event("x_1")]
    findings = lint_bodies(docs)
    figures = report_figures(page_material("pasted", findings=findings, records=docs))
    assert figures["events_checked"] == 6
    assert figures["findings"] == count_findings(findings) and figures["pairs"] is None
    assert problems(figures) == [f"{figures['findings']['error']:,} finding(s) of severity error"]
    assert problems(report_figures(page_material("clean", findings=[], records=[_event("y")]))) == []


# --- every page's download (AppTest) ---------------------------------------------------------------
def downloaded_report(at: Any, key: str, storages: list[Any]) -> tuple[str, dict[str, Any]]:
    """Click the page's 'Prepare' button, then read the bytes its download button `key` serves."""
    assert not at.exception
    at.button(key=f"{key}_prepare").click().run()
    assert not at.exception and not at.error
    page = download_bytes(at, key, storages).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "TikTok events audit" in page
    return page, appendix(page)


def metrics(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_lint_page_download_is_the_findings_report(app_test: Any, media: list[Any]) -> None:
    """Lint: the report counts the findings the page lists, by severity, with their fixes."""
    at = app_test("pages/2_Lint.py").run()
    at.selectbox(key="lint_sample").set_value("broken body").run()
    records, findings = lint_upload(at.text_area(key="lint_text").value)
    page, figures = downloaded_report(at, "lint_report", media)
    assert figures["findings"] == count_findings(findings) and figures["findings"]["error"] > 0
    assert figures["events_checked"] == sum(len(r["data"]) for r in records if isinstance(r, dict)) > 0
    assert findings[0].code in page and "Findings and their fixes" in page


def test_send_page_download_is_the_session_report(app_test: Any, media: list[Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Send: after a send to the app's emulator, the report holds the session's outbox counts and request ids."""
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TEST777")
    at = app_test("pages/3_Send.py")
    at.session_state["built_body"] = {"event_source": "web", "event_source_id": "CPIXEL123",
                                      "data": [_event("ord_1"), _event("ord_2")]}
    at.run()
    at.button(key="send_go").click().run()
    sid = at.session_state["send_session_id"]
    page, figures = downloaded_report(at, "send_report", media)
    with Store(Path(os.environ["TEC_DB"])) as store:
        assert figures["delivery"] == store.outbox_counts(sid)
        exchanges = store.exchanges(sid)
    assert figures["delivery"]["accepted"] == 2 and figures["report"]["checked"] == f"send session {sid}"
    assert all(ex.request_id in page for ex in exchanges)
    assert figures["pairs"]["server only"] == 2 and figures["pairs"]["merged"] == 0
    # with the browser half simulated on the page, the same download pairs them: merged within 5 min
    at.button(key="send_simulate_pixel").click().run()
    _, figures = downloaded_report(at, "send_report", media)
    assert figures["pairs"]["merged"] == 2 and figures["pairs"]["server only"] == 0
    assert "simulated on the Send page" in figures["report"]["checked"]


def test_compare_page_download_holds_its_pair_counts(app_test: Any, media: list[Any]) -> None:
    """Compare: the report's pairs by verdict are the metrics the page shows."""
    at = app_test("pages/4_Compare.py").run()
    at.button(key="compare_demo").click().run()
    shown = metrics(at)
    _, figures = downloaded_report(at, "compare_report", media)
    labels = {"Merged": "merged", "Deduplicated": "deduplicated", "Outside window": "outside window",
              "Pixel only": "pixel only", "Server only": "server only", "No event_id": "missing event_id"}
    assert {label: f"{figures['pairs'][v]:,}" for label, v in labels.items()} == {k: shown[k] for k in labels}
    assert f"{figures['dedup']['pixel_events']:,}" == shown["Pixel events"]


def test_quality_page_download_holds_its_metrics(app_test: Any, media: list[Any]) -> None:
    """Match quality: the report's EMQ proxy mean, median, events and 7+ share read as the page's metrics."""
    at = app_test("pages/5_Match_quality.py").run()
    at.radio(key="quality_source").set_value("Paste JSON").run()
    at.text_area(key="quality_text").set_value(json.dumps(session_body())).run()
    shown = metrics(at)
    page, figures = downloaded_report(at, "quality_report", media)
    q = figures["quality"]
    assert shown["EMQ proxy (mean)"] == f"{q['mean_score']:.2f} / 10" and shown["Events"] == f"{q['events']:,}"
    assert shown["Median EMQ proxy"] == f"{q['median_score']:.2f}"
    assert shown["Events at 7 or more"] == f"{q['share_7_plus']:.0%}"
    assert "&lt;/script&gt;" in page and not [t for t, _ in parse(page).tags if t == "img"]


def test_gap_page_download_holds_its_counts_and_gap(app_test: Any, media: list[Any]) -> None:
    """Dedup gap: every count metric and the gap figures of the page are in the report."""
    from ui.gap import COUNTS

    at = app_test("pages/6_Dedup_gap.py").run()
    at.number_input(key="gap_demo_orders").set_value(500)
    at.button(key="gap_demo").click().run()
    shown = metrics(at)
    page, figures = downloaded_report(at, "gap_report", media)
    d = figures["dedup"]
    assert {label: f"{d[k]:,}" for label, k in COUNTS} == {label: shown[label] for label, _ in COUNTS}
    assert shown["Truth orders"] == f"{d['truth']:,}" and shown["Pixel gap"] == f"{d['pixel_gap']:.1%}"
    assert shown["Recovered by server"] == f"{d['recovered_share']:.1%}"
    assert page.count("Plotly.newPlot(") == 3 + 5  # waterfall, verdicts, daily, gap by each of 5 segments
    assert "Gap against truth by cookie age" in page


def test_outbox_page_download_holds_the_outbox_counts(app_test: Any, media: list[Any]) -> None:
    """Outbox: the report's delivery figures are the whole history's outbox counts the page shows."""
    with Store(Path(os.environ["TEC_DB"])) as store:
        sid = store.create_session("seeded", target="emulator")
        ids = store.add_outbox(sid, {"event_source": "web", "event_source_id": "CPIXEL123",
                                     "data": [_event("ord_1"), _event("ord_2"), _event("ord_3")]})
        store.settle([ids[0]], "accepted")
        store.settle([ids[1]], "rejected", reason="invalid", code=40002, error="Invalid value")
    at = app_test("pages/7_Outbox.py").run()
    _, figures = downloaded_report(at, "outbox_report", media)
    with Store(Path(os.environ["TEC_DB"])) as store:
        assert figures["delivery"] == store.outbox_counts()
    assert figures["delivery"]["rejected"] == 1 and figures["delivery"]["pending"] == 1
    assert metrics(at)["Rejected"] == "1"


def test_gzipped_server_file_is_linted_like_the_plain_one(demo_files: dict[str, Path], tmp_path: Path) -> None:
    """A .jsonl.gz of server events is read through the one sniffing reader: the same findings and figures."""
    import gzip

    packed = tmp_path / "server.jsonl.gz"
    packed.write_bytes(gzip.compress(demo_files["server.jsonl"].read_bytes()))
    plain = report_figures(files_material(demo_files["pixel.csv"], demo_files["server.jsonl"]))
    zipped = report_figures(files_material(demo_files["pixel.csv"], packed))
    assert zipped["findings"] == plain["findings"] and zipped["findings"]["warning"] > 0
    assert zipped["dedup"] == plain["dedup"] and zipped["quality"] == plain["quality"]

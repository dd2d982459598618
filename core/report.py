"""The audit report: one self-contained HTML file (and its PDF print) of what the console checked.

A report is built from a `ReportMaterial`: the findings, the outbox counts, the exchanges, the dedup
report and the EMQ proxy review, each optional, gathered from a send session (`session_material`) or from
files (`files_material`) or handed over by a page. It never receives the access token: its inputs are the
store's records (whose exchanges carry no token) and analysis results, so no token can reach the file.

`report_figures` gives the figures (the statistics block and the JSON appendix are both made from it);
`build_report` the HTML: every chart is drawn by core.charts (the pages' own figures), plotly.js is
embedded once inline, all user text is HTML-escaped, and no URL is loaded when it opens. `print_pdf`
prints the same HTML through the console's browser (core.browser), no second rendering stack.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from core.dedup import DedupReport
    from core.exchange import Exchange
    from core.lint import Finding
    from core.review import Review

MAX_ROWS = 1000  # table rows per section; every figure is still counted in full
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
HEADLINE_STATUSES = ("accepted", "rejected", "pending", "blocked", "held", "dropped")


@dataclass(frozen=True)
class ReportMaterial:
    """What one report covers; every part is optional (a page hands over what it has).

    `checked` says in words what was checked (a session, files, a pasted body); `events_checked` how many
    events that was; `outbox` the events per outbox status (core.store.Store.outbox_counts); `exchanges`
    the stored requests (token redacted by the send path); `dedup` a core.dedup report; `quality` a
    core.review Review; `notes` sentences the reader should see (what was not checked and why).
    """

    checked: str
    events_checked: int
    created_at: float = field(default_factory=time.time)
    findings: Sequence[Finding] = ()
    linted: bool = False
    outbox: Mapping[str, int] | None = None
    exchanges: Sequence[Exchange] = ()
    dedup: DedupReport | None = None
    quality: Review | None = None
    notes: Sequence[str] = ()
    period: str = ""  # when the checked events happened, e.g. "2026-05-01 to 2026-05-31 (UTC)"


# --- gathering the material ------------------------------------------------------------------------
def _empty_pixel_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"pixel_code": pd.Series([], dtype=object), "event": pd.Series([], dtype=object),
                         "event_id": pd.Series([], dtype=object), "timestamp": pd.Series([], dtype=float)})


def session_material(db_path: str | Path, session_id: str | None = None, *,
                     pixel: pd.DataFrame | None = None, pixel_label: str = "") -> ReportMaterial:
    """A send session's material (`session_id` None: the whole history): what was sent, linted, answered.

    The sent events (hashed identifiers only, as the store keeps them) are linted, scored with the EMQ
    proxy and paired by TikTok's dedup rules with `pixel` (Pixel rows, e.g. from a HAR; without them every
    key is server only). Raises StoreError for an unreadable database, InvalidInput for an unknown session.
    TikTok: what Events API v1.3 received, request by request, with its request ids.
    """
    from core.dedup import simulate
    from core.errors import InvalidInput
    from core.lint import lint_bodies
    from core.quality import score_frame
    from core.review import build_review
    from core.sources.server import server_frame
    from core.store import Store

    with Store(db_path) as store:
        if session_id is not None and store.session(session_id) is None:
            known = ", ".join(s["id"] for s in store.sessions()[:5]) or "none yet"
            raise InvalidInput(f"No send session {session_id!r} in {db_path}.",
                               hint=f"Pick one of the sessions in the history (newest first: {known}), or leave "
                                    "--session out for the whole history.")
        bodies = store.server_events(session_id)
        outbox = store.outbox_counts(session_id)
        exchanges = store.exchanges(session_id)
    server = server_frame(bodies)
    findings = lint_bodies(bodies) if bodies else []
    quality = build_review(score_frame(server)) if len(server) else None
    dedup = simulate(pixel if pixel is not None else _empty_pixel_frame(), server) if len(server) else None
    notes = [] if pixel is not None else ["No Pixel events were given, so every sent key shows as server only; "
                                          "add a DevTools HAR of the site (--pixel) to see the pairs."]
    what = f"send session {session_id}" if session_id else "every send in the history"
    sent = [ex.started_at for ex in exchanges if ex.started_at]
    period = f"sent from {_iso(min(sent))} to {_iso(max(sent))}" if sent else "nothing sent yet"
    return ReportMaterial(checked=what + (f", with the Pixel events of {pixel_label}" if pixel_label else ""),
                          events_checked=sum(outbox.values()), findings=findings, linted=bool(bodies),
                          outbox=outbox, exchanges=exchanges, dedup=dedup, quality=quality, notes=notes,
                          period=period)


def files_material(pixel: str | Path, server: str | Path, orders: str | Path | None = None) -> ReportMaterial:
    """Files' material: dedup and gap (core.dedup.dedup_files, as `tiktok-events dedup`), the EMQ proxy of
    the server events, and the lint of them when they are v1.3 bodies (JSON / JSONL).

    Raises InvalidFile / InvalidInput for unreadable files. TikTok: the dedup rules of contract §8.
    """
    from core.dedup import dedup_files
    from core.lint import lint_upload
    from core.quality import load_quality_input, score_frame
    from core.review import build_review
    from core.sources.source import open_source

    run = dedup_files(pixel, server, orders)
    src = open_source(server)
    findings: list[Finding] = []
    notes = list(run.warnings)
    linted = src.format in ("json", "jsonl")
    if linted:
        findings = lint_upload(src.read_bytes().decode("utf-8", errors="replace"))[1]  # gzip too, within limits
    else:
        notes.append(f"The server events are a {src.format.upper()} file, so they were not linted: the linter "
                     "reads v1.3 bodies (JSON or JSONL).")
    quality = build_review(score_frame(load_quality_input(server)))
    s = run.report.summary
    names = ", ".join(Path(p).name for p in (pixel, server, orders) if p is not None)
    return ReportMaterial(checked=f"files {names}", events_checked=s.pixel_events + s.server_events,
                          findings=findings, linted=linted, dedup=run.report, quality=quality, notes=notes,
                          period=_days(run.report))


def page_material(checked: str, *, findings: Sequence[Finding] | None = None, records: Sequence[object] = (),
                  dedup: DedupReport | None = None, quality: Review | None = None) -> ReportMaterial:
    """A page's results as report material: the findings over `records` (the linted documents), a dedup
    report, an EMQ proxy review. Events checked: the linted events, else the dedup's Pixel + server
    events, else the scored ones."""
    from core.sources.server import iter_events

    if findings is not None:
        events = sum(1 for doc in records for _ in iter_events(doc))
    elif dedup is not None:
        events = int(dedup.summary.pixel_events + dedup.summary.server_events)
    else:
        events = int(quality.summary["events"]) if quality is not None else 0
    return ReportMaterial(checked=checked, events_checked=events, findings=list(findings or ()),
                          linted=findings is not None, dedup=dedup, quality=quality,
                          period=_days(dedup) if dedup is not None else "")


def _days(dedup: DedupReport) -> str:
    """The UTC days the dedup's events (and orders) fall on, first to last."""
    days = dedup.daily["day"].dropna().astype(str) if dedup.daily is not None and len(dedup.daily) else None
    return "" if days is None or days.empty else f"events of {days.min()} to {days.max()}, UTC days"


# --- figures ---------------------------------------------------------------------------------------
def _plain(obj: Any) -> Any:
    """JSON-safe copy: numpy numbers become Python numbers, NaN and infinities None, tuples lists."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def _quality_figures(review: Review) -> dict[str, Any]:
    """The EMQ proxy's headline figures and, per event type, the key to add or fix next."""
    s, by = review.summary, review.by_event_type
    first: dict[str, Any] = {}
    for r in review.recommendations:
        first.setdefault(r.event, r)
    rows = []
    for r in by.itertuples(index=False):
        rec = first.get(str(r.event))
        rows.append({"event": str(r.event), "events": int(r.events), "mean_score": round(float(r.mean_score), 4),
                     "share_7_plus": round(float(r.share_7_plus), 4),
                     "next_key": rec.key if rec else None, "next_action": rec.action if rec else None,
                     "gain": round(rec.gain, 4) if rec else None, "advice": rec.message if rec else None})
    return {"label": s["label"], "events": int(s["events"]), "mean_score": round(float(s["mean_score"]), 4),
            "median_score": round(float(s["median_score"]), 4),
            "share_7_plus": round(float(by["share_7_plus"].iloc[0]), 4) if len(by) else 0.0,
            "by_event_type": rows, "note": s["note"]}


def _exchange_figures(exchanges: Sequence[Exchange]) -> dict[str, int]:
    out = {"requests": len(exchanges), "accepted": 0, "partial": 0, "rejected": 0, "undelivered": 0}
    for ex in exchanges:
        out[ex.outcome] += 1
    return out


def report_figures(m: ReportMaterial) -> dict[str, Any]:
    """Every figure the report states, as plain JSON data (the appendix; the CLI's `figures`).

    Keys: report (checked, period, created_at in UTC ISO 8601), events_checked, findings (per severity, or None
    when nothing was linted), delivery (events per outbox status, or None), exchanges (requests per
    outcome, or None), pairs (keys per dedup verdict, counted from the pairs table as Compare does),
    dedup (core.dedup's summary, as `tiktok-events dedup`), quality (the EMQ proxy per event type with
    the next key), notes.
    """
    from core.dedup import VERDICTS
    from core.lint import count_findings

    pairs = None
    if m.dedup is not None:
        counts = m.dedup.keys["verdict"].value_counts()
        pairs = {v: int(counts.get(v, 0)) for v in VERDICTS}
    figures: dict[str, Any] = _plain({
        "report": {"checked": m.checked, "period": m.period, "created_at": _iso(m.created_at)},
        "events_checked": int(m.events_checked),
        "findings": count_findings(m.findings) if m.linted or m.findings else None,
        "delivery": dict(m.outbox) if m.outbox is not None else None,
        "exchanges": _exchange_figures(m.exchanges) if m.outbox is not None or m.exchanges else None,
        "pairs": pairs,
        "dedup": m.dedup.summary.to_dict() if m.dedup is not None else None,
        "quality": _quality_figures(m.quality) if m.quality is not None else None,
        "notes": list(m.notes),
    })
    return figures


def problems(figures: Mapping[str, Any]) -> list[str]:
    """Why the checked material needs attention (exit 1 in the CLI): error findings, rejected events."""
    out = []
    if errors := (figures.get("findings") or {}).get("error", 0):
        out.append(f"{errors:,} finding(s) of severity error")
    if rejected := (figures.get("delivery") or {}).get("rejected", 0):
        out.append(f"{rejected:,} event(s) rejected by the Events API")
    elif rejected_requests := (figures.get("exchanges") or {}).get("rejected", 0):
        out.append(f"{rejected_requests:,} request(s) rejected by the Events API")
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- HTML ------------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    """User text as HTML text: never markup."""
    return html.escape("" if value is None else str(value), quote=True)


def _json_for_script(obj: Any) -> str:
    """JSON that cannot end its <script> element: <, > and & are written as \\u escapes (still valid JSON)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], total: int | None = None, *,
           css: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    more = (f'<p class="note">{len(rows):,} of {total:,} rows shown; the counts above include every one.</p>'
            if total is not None and total > len(rows) else "")
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _stat(label: str, value: Any, css: str = "") -> str:
    shown = "n/a" if value is None else (f"{value:,}" if isinstance(value, int) else str(value))
    return f'<div class="stat {css}"><div class="v">{_e(shown)}</div><div class="l">{_e(label)}</div></div>'


def _chart(fig: go.Figure, n: int) -> str:
    """A plotly figure drawn by the inline plotly.js; its JSON cannot close the script element."""
    spec = json.loads(fig.to_json())
    spec["config"] = {"displaylogo": False, "responsive": True, "showLink": False, "staticPlot": False}
    return (f'<div class="chart" id="chart-{n}"></div><script>(function(){{var s={_json_for_script(spec)};'
            f'Plotly.newPlot("chart-{n}",s.data,s.layout,s.config);}})();</script>')


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _add_chart(charts_out: list[go.Figure], fig: go.Figure) -> str:
    charts_out.append(fig)
    return _chart(fig, len(charts_out) - 1)


def _stats_html(f: Mapping[str, Any]) -> str:
    cells = [_stat("events checked", f["events_checked"])]
    for sev in ("error", "warning", "info"):
        cells.append(_stat(f"{sev} findings", (f["findings"] or {}).get(sev) if f["findings"] else None,
                           sev if (f["findings"] or {}).get(sev) else ""))
    delivery = f["delivery"]
    if delivery is not None:
        cells += [_stat(s, delivery.get(s, 0), "error" if s == "rejected" and delivery.get(s) else "")
                  for s in HEADLINE_STATUSES[:3]]
        cells += [_stat(s, delivery[s], "warning") for s in HEADLINE_STATUSES[3:] if delivery.get(s)]
    sent = "" if delivery is not None else ('<p class="note">Accepted / rejected / pending: these events were not '
                                            "sent from the console, so TikTok's answers are not part of this check."
                                            "</p>")
    pair_cells = "".join(_stat(v, n) for v, n in f["pairs"].items()) if f["pairs"] else \
        '<p class="note">No Pixel/server pairing in this check.</p>'
    return (f'<section id="statistics"><h2>Statistics</h2><div class="stats">{"".join(cells)}</div>{sent}'
            f'<h3>Pairs by verdict</h3><div class="stats">{pair_cells}</div></section>')


def _findings_html(m: ReportMaterial, f: Mapping[str, Any]) -> str:
    if f["findings"] is None:
        return '<section id="findings"><h2>Findings</h2><p class="note">Nothing was linted in this check.</p></section>'
    if not m.findings:
        return '<section id="findings"><h2>Findings</h2><p class="ok">The linter found no problem.</p></section>'
    by_code: dict[tuple[str, str], list[Finding]] = {}
    for x in m.findings:
        by_code.setdefault((x.severity, x.code), []).append(x)
    summary = [(sev, code, len(xs), xs[0].message, xs[0].fix) for (sev, code), xs in
               sorted(by_code.items(), key=lambda kv: (_SEVERITY_ORDER.get(kv[0][0], 9), -len(kv[1])))]
    rows = [(x.severity, x.code, x.path or "(body)", x.event_id or "", x.message, x.fix)
            for x in list(m.findings)[:MAX_ROWS]]
    return ('<section id="findings"><h2>Findings and their fixes</h2>'
            + _table(("severity", "code", "findings", "for example", "fix"), summary, css="findings")
            + f"<details><summary>Every finding ({len(m.findings):,})</summary>"
            + _table(("severity", "code", "where", "event_id", "problem", "fix"), rows, len(m.findings),
                     css="findings") + "</details></section>")


def _exchanges_html(m: ReportMaterial) -> str:
    if not m.exchanges:
        return ""
    rows = []
    for ex in list(m.exchanges)[-MAX_ROWS:]:  # the latest requests
        d = ex.decoded
        rows.append((_iso(ex.started_at).replace("T", " ") if ex.started_at else "", ex.outcome, ex.status or "",
                     "" if ex.code is None else f"{ex.code} {d.name}", ex.message or ex.error or "",
                     ex.request_id or "", ex.event_count, len(ex.attempts), f"{ex.latency_ms:.0f}"))
    return ('<section id="exchanges"><h2>Requests and TikTok\'s answers</h2><p class="note">The access token '
            'is not part of this report: the console never stores it.</p>'
            + _table(("sent (UTC)", "outcome", "HTTP", "code", "message", "request_id", "events", "tries",
                      "ms"), rows, len(m.exchanges), css="exchanges") + "</section>")


def _dedup_html(m: ReportMaterial, f: Mapping[str, Any], charts_out: list[go.Figure]) -> str:
    from core import charts
    from core.orders import SEGMENT_DIMENSIONS

    if m.dedup is None:
        return ""
    s = f["dedup"]
    labels = [("Pixel events", "pixel_events"), ("Server events", "server_events"), ("Counted by TikTok", "counted"),
              ("Merged pairs", "merged_pairs"), ("Deduplicated pairs", "deduplicated_pairs"),
              ("Outside 48 h", "outside_window"), ("Pixel only", "pixel_only"), ("Server only", "server_only"),
              ("Same-side repeats", "same_source_duplicates"), ("No event_id", "missing_event_id")]
    cells = [_stat(label, s[key]) for label, key in labels]
    if "truth" in s:
        cells += [_stat("Truth orders", s["truth"]), _stat("Pixel gap", _pct(s["pixel_gap"])),
                  _stat("Recovered by server", _pct(s["recovered_share"])),
                  _stat("Orders counted twice", s["truth_over_counted"])]
    figs = _add_chart(charts_out, charts.gap_waterfall(m.dedup.summary))
    figs += _add_chart(charts_out, charts.verdict_mix(m.dedup.keys))
    if m.dedup.segments is not None:  # every dimension the page's picker offers
        for by in (d for d in SEGMENT_DIMENSIONS if d != "day"):
            figs += _add_chart(charts_out, charts.gap_by_segment(m.dedup.segments, by))
    if m.dedup.daily is not None and len(m.dedup.daily):
        figs += _add_chart(charts_out, charts.daily_series(m.dedup.daily))
    link = (s.get("link") or {}).get("message") or ""
    return ('<section id="dedup"><h2>Deduplication and the gap</h2><p class="note">TikTok\'s published rules '
            'simulated (key = Pixel code + event + event_id; merged within 5 min, deduplicated within 48 h): a '
            f'simulation, not TikTok\'s report.</p><div class="stats">{"".join(cells)}</div>'
            + (f'<p class="note">{_e(link)}</p>' if link else "") + figs + "</section>")


def _quality_html(m: ReportMaterial, f: Mapping[str, Any], charts_out: list[go.Figure]) -> str:
    from core import charts

    if m.quality is None:
        return ""
    q = f["quality"]
    cells = [_stat("EMQ proxy (mean)", f"{q['mean_score']:.2f} / 10"), _stat("Events", q["events"]),
             _stat("Median EMQ proxy", f"{q['median_score']:.2f}"),
             _stat("Events at 7 or more", f"{q['share_7_plus']:.0%}")]
    rows = [(r["event"], r["events"], f"{r['mean_score']:.2f}", f"{r['share_7_plus']:.0%}",
             f"{r['next_action']} {r['next_key']}" if r["next_key"] else "every key meets its target",
             "" if r["gain"] is None else f"+{r['gain']:.2f}", r["advice"] or "") for r in q["by_event_type"]]
    return ('<section id="quality"><h2>Match quality (EMQ proxy)</h2>'
            f'<p class="note">{_e(q["note"])}</p><div class="stats">{"".join(cells)}</div>'
            + _table(("event type", "events", "mean", "at 7+", "next key", "gain", "what to do"), rows,
                     css="quality") + _add_chart(charts_out, charts.quality_coverage_heatmap(m.quality.coverage))
            + "</section>")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}h1{margin-bottom:.2rem}h2{border-bottom:2px solid #eee;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#555}.note{color:#555;font-size:.9rem}.ok{color:#1a7f37}.stats{display:flex;flex-wrap:wrap;gap:.5rem}
.stat{border:1px solid #ddd;border-radius:6px;padding:.4rem .7rem;min-width:7.5rem}.stat .v{font-size:1.35rem;
font-weight:600}.stat .l{font-size:.8rem;color:#555}.stat.error{border-color:#d73027;background:#fdf0ef}
.stat.warning{border-color:#f0ad4e;background:#fff8ec}table{border-collapse:collapse;width:100%;font-size:.82rem;
margin:.6rem 0}th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}th{background:#f6f6f6;overflow-wrap:normal}
table.exchanges td:nth-child(2),table.exchanges td:nth-child(3),table.exchanges td:nth-child(n+7){white-space:nowrap}
table.exchanges td:first-child,table.exchanges td:nth-child(4){overflow-wrap:normal}
table.findings td:first-child,table.findings td:nth-child(2)
{white-space:nowrap}.chart{width:100%;height:360px;margin:.8rem 0;break-inside:avoid}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.75rem;white-space:pre-wrap}
@media print{body{margin:0;max-width:none}details{display:none}}
"""


def build_report(m: ReportMaterial) -> str:
    """The report as one self-contained HTML document (str): no external URL, figures embedded.

    Sections: what was checked and when, statistics, findings with fixes, requests with request ids,
    dedup verdicts and gap with charts, the EMQ proxy per event type with the next key, and the JSON
    appendix (`<script type="application/json" id="report-data">`, the figures of `report_figures`).
    """
    from plotly.offline import get_plotlyjs

    f = report_figures(m)
    figs: list[go.Figure] = []
    body = [_stats_html(f), _findings_html(m, f), _exchanges_html(m), _dedup_html(m, f, figs),
            _quality_html(m, f, figs)]
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in f["notes"])
    plotly_js = f"<script>{get_plotlyjs()}</script>" if figs else ""
    appendix = (f'<section id="appendix"><h2>Appendix: the figures as JSON</h2><p class="note">The same figures '
                'for machines, in the element <code>script#report-data</code>.</p>'
                f'<script type="application/json" id="report-data">{_json_for_script(f)}</script>'
                f'<details><summary>Show</summary><pre>{_e(json.dumps(f, indent=2, ensure_ascii=False))}</pre>'
                "</details></section>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:\">"
            f"<title>TikTok events audit: {_e(m.checked)}</title><style>{_CSS}</style>{plotly_js}</head><body>"
            f"<h1>TikTok events audit</h1><p class=\"meta\">Checked: {_e(m.checked)}"
            + (f" ({_e(m.period)})" if m.period else "") + " · written "
            f"{_e(f['report']['created_at'])} by tiktok-events-console; this file opens offline."
            f"</p>{notes}{''.join(body)}{appendix}</body></html>")


def report_bytes(m: ReportMaterial) -> bytes:
    """`build_report` as UTF-8 bytes (the pages' download)."""
    return build_report(m).encode("utf-8")


def print_pdf(html_text: str, out: str | Path, *, timeout_s: float = 60.0) -> Path:
    """Print the report's HTML to a PDF through the console's browser (core.browser), the same page.

    Raises BrowserMissing (with the install command) when no Chromium or Chrome can be started.
    """
    from core.browser import launch_chromium

    path = Path(out)
    with launch_chromium() as browser:
        page = browser.new_page()
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("data:")
                   else route.continue_())
        page.set_content(html_text, wait_until="load", timeout=timeout_s * 1000)
        charts = html_text.count('<div class="chart" id="chart-')
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                               timeout=timeout_s * 1000)  # every chart drawn before it is printed
        page.emulate_media(media="print")
        page.pdf(path=str(path), format="A4", print_background=True,
                 margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
        page.close()
    return path

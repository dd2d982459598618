"""Hostile files through every reading command and every uploader: a message, never a traceback or a blow-up.

The corpus is generated here, small on disk: nesting 100k deep, integers of 4,000 and 5,000 digits, a lone
surrogate, invalid UTF-8, a cut-off gzip, gzip bombs (~1 MB inflating past 1 GB), a 200 KB HAR of nested
arrays, JSON given as orders, a CSV with 100k columns, an empty file and valid JSON in no supported shape.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidFile, LimitExceeded
from core.sources.jsondoc import parse_json_documents
from core.sources.limits import JsonGuard, Limits
from core.sources.pixel import load_pixel_events
from core.sources.source import open_source

ROOT = Path(__file__).resolve().parents[1]
MEMORY_CAP = 2 << 30
TIMEOUT_S = 60


def _body(event_time: str, event: str = "Purchase") -> str:
    return ('{"event_source": "web", "event_source_id": "C1", "data": [{"event": "' + event + '", '
            '"event_time": ' + event_time + ', "event_id": "ord_1_purchase"}]}')


def _bomb(path: Path, first: bytes, filler: bytes, megabytes: int = 1100, last: bytes = b"") -> None:
    """A gzip file of about a megabyte that inflates to `megabytes` MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = filler * ((1 << 20) // len(filler))
    with path.open("wb") as fh:
        fh.write(packer.compress(first))
        for _ in range(megabytes):
            fh.write(packer.compress(block))
        fh.write(packer.compress(last) + packer.flush())


# name -> (file content or builder, words one of which the message must contain)
CORPUS: dict[str, tuple[object, tuple[str, ...]]] = {
    "deep.json": ("[" * 100_000 + "]" * 100_000, ("nested",)),
    "deep.har": ('{"log": {"version": "1.2", "entries": [' + "[" * 100_000 + "]" * 100_000 + "]}}", ("nested",)),
    "int4000.json": (_body("1" + "0" * 3_999), ("digits",)),
    "int5000.json": (_body("1" + "0" * 4_999), ("digits",)),
    "surrogate.json": (_body("1735689600", event="\\ud800"), ("surrogate",)),
    "badutf8.json": (_body("1735689600").encode().replace(b"Purchase", b"\xff\xfePurchase"), ("UTF-8",)),
    "cut.json.gz": (gzip.compress(_body("1735689600").encode() * 50)[:-30], ("gzip", "UTF-8")),
    "bomb.json.gz": (lambda p: _bomb(p, b"[", b" ", last=b"]"), ("inflates", "UTF-8")),
    "bomb.csv.gz": (lambda p: _bomb(p, b"order_id,created_at,total,currency\n", b"\n"), ("inflates", "UTF-8")),
    "orders.json": (_body("1735689600"), ()),  # valid events: hostile only as orders
    "wide.csv": (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n",
                 ("columns", "not valid JSON")),
    "empty.json": ("", ("empty",)),
    "noshape.json": ('{"hello": "world", "items": [1, 2, 3]}', ("no events", "lacks the column", "error")),
}
GOOD = {
    "pixel": "pixel_code,event,event_id,timestamp\nC1,Purchase,ord_1_purchase,1735689600\n",
    "server": "event_source_id,event,event_id,event_time\nC1,Purchase,ord_1_purchase,1735689600\n",
    "orders": "order_id,created_at,total,currency,utm_source\n1,2026-05-01 00:23:55 +0000,10,USD,tiktok\n",
}
SLOTS = ("pixel", "server", "orders")


def _cases() -> list[tuple[str, str, str | None]]:
    cases: list[tuple[str, str, str | None]] = []
    for name in CORPUS:
        if name != "orders.json":
            cases += [(name, command, None) for command in ("validate", "pixels", "quality")]
            cases += [(name, "dedup", slot) for slot in SLOTS]
    cases.append(("orders.json", "dedup", "orders"))
    return cases


CASES = _cases()


def _write_corpus(folder: Path) -> None:
    for name, (content, _) in CORPUS.items():
        path = folder / name
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(str(content), encoding="utf-8")
    for slot, text in GOOD.items():
        (folder / f"good_{slot}.csv").write_text(text)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run(folder: Path, case: tuple[str, str, str | None]) -> tuple[int, str, str]:
    name, command, slot = case
    if command == "dedup":
        files = {s: str(folder / (name if s == slot else f"good_{s}.csv")) for s in SLOTS}
        args = ["dedup", "--pixel", files["pixel"], "--server", files["server"], "--orders", files["orders"]]
    else:
        args = [command, str(folder / name)]
    try:
        done = subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True,
                              timeout=TIMEOUT_S, preexec_fn=_cap_memory, cwd=ROOT, errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {TIMEOUT_S} s"
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    _write_corpus(folder)
    return folder


@pytest.fixture(scope="module")
def cli_results(corpus: Path) -> dict[tuple[str, str, str | None], tuple[int, str, str]]:
    """Every case run once, two at a time (each in its own capped process)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CASES, pool.map(lambda case: _run(corpus, case), CASES), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=["-".join(p for p in c if p) for c in CASES])
def test_reading_commands_refuse_hostile_files_with_a_message(
        cli_results: dict[tuple[str, str, str | None], tuple[int, str, str]], case: tuple[str, str, str | None],
) -> None:
    """Exit 1 or 2 within 60 s and 2 GB, no traceback, and a message that names the problem."""
    code, out, err = cli_results[case]
    name, _command, slot = case
    assert code in (1, 2), (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    wrong_kind = ("is a HAR, not", "not a CSV export of orders") if slot in ("server", "orders") else ()
    words = CORPUS[name][1] + wrong_kind
    said = err + out
    assert any(w.lower() in said.lower() for w in words), (words, said[-1000:])
    if code == 2:
        assert err.strip().count("\n") == 0, err  # one line


# --- the same corpus through every uploader of the app ----------------------------------------------
# (page, uploader key, radio key to pick uploads first or None, its value, extensions it takes)
UPLOADERS = [
    ("pages/2_Lint.py", "lint_upload", None, None, ["json"]),
    ("pages/4_Compare.py", "compare_pixel_upload", None, None, ["har", "json", "jsonl", "csv", "gz"]),
    ("pages/4_Compare.py", "compare_server_upload", "compare_server_source", "Upload a file",
     ["json", "jsonl", "csv"]),
    ("pages/5_Match_quality.py", "quality_upload", "quality_source", "Upload file", ["json", "jsonl", "csv", "har"]),
    ("pages/6_Dedup_gap.py", "gap_pixel_upload", None, None, ["har", "json", "jsonl", "csv", "gz"]),
    ("pages/6_Dedup_gap.py", "gap_server_upload", None, None, ["json", "jsonl", "csv"]),
    ("pages/6_Dedup_gap.py", "gap_orders_upload", None, None, ["csv"]),
]
UPLOAD_FILES = [n for n in CORPUS if n not in ("orders.json", "noshape.json")]


def _upload_name(name: str, exts: list[str]) -> str:
    ext = name.rsplit(".", 1)[-1]
    return name if ext in exts else f"{name.split('.', 1)[0]}.{exts[0]}"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "key", "radio", "choice", "exts"), UPLOADERS, ids=[u[1] for u in UPLOADERS])
def test_uploaders_show_the_file_name_and_the_problem(app_test, corpus: Path, page: str, key: str,
                                                      radio: str | None, choice: str | None,
                                                      exts: list[str]) -> None:
    """Each hostile file on each uploader: st.error naming the file, no exception box."""
    at = app_test(page).run()
    if radio:
        at.radio(key=radio).set_value(choice).run()
    if key.startswith("gap_"):  # Dedup gap reads the files once both event files are there
        for slot in ("pixel", "server"):
            if key != f"gap_{slot}_upload":
                at.file_uploader(key=f"gap_{slot}_upload").set_value(
                    (f"good_{slot}.csv", GOOD[slot].encode(), "text/csv")).run()
    for name in UPLOAD_FILES:
        upload = _upload_name(name, exts)
        at.file_uploader(key=key).set_value((upload, (corpus / name).read_bytes(), "application/octet-stream"))
        at.run()
        assert not at.exception, (upload, [e.value for e in at.exception])
        errors = " ".join(el.value for el in at.error)
        assert upload in errors, (upload, errors, [w.value for w in at.warning])
        at.file_uploader(key=key).set_value(None).run()


# --- the limits themselves, in process ----------------------------------------------------------------
@pytest.mark.parametrize(("text", "limit"), [
    ("[" * 65 + "]" * 65, "max_depth"),
    ('{"a": ' * 70 + "1" + "}" * 70, "max_depth"),
    ('{"n": ' + "9" * 41 + "}", "max_number_digits"),
    ('{"n": 0.' + "1" * 41 + "}", "max_number_digits"),
])
def test_guard_names_the_limit(text: str, limit: str) -> None:
    """Each limit raises LimitExceeded carrying the limit's name, before json.loads runs."""
    with pytest.raises(LimitExceeded) as exc:
        parse_json_documents(text, "x.json")
    assert exc.value.limit == limit and "x.json" in exc.value.message


@pytest.mark.parametrize("text", [
    "[" * 64 + "]" * 64,
    '{"s": "' + "[" * 5000 + '"}',  # brackets inside text do not nest
    '{"s": "\\ud83d\\ude00", "t": "a\\"[[[["}',  # a surrogate pair is a character
    '{"n": ' + "9" * 40 + "}",
])
def test_guard_lets_valid_json_through(text: str) -> None:
    """Inputs at the limits, brackets in text and escaped pairs read as before."""
    assert parse_json_documents(text, "x.json")


def test_guard_follows_values_across_chunks() -> None:
    """Text values, numbers and nesting cut across chunk boundaries are judged whole."""
    guard = JsonGuard("x.json", Limits(max_depth=3, max_number_digits=5))
    for piece in (b'{"a": "[[[[', b'[[[", "n": 12', b"345, ", b'"b": [[1]]}'):
        guard.feed(piece)
        guard.flush()
    guard.close()
    deep = JsonGuard("x.json", Limits(max_number_digits=5))
    deep.feed(b'{"n": 123')
    deep.flush()
    with pytest.raises(LimitExceeded, match="digits"):
        deep.feed(b"456}")
        deep.close()


def test_string_limit_and_a_text_value_cut_off() -> None:
    """A text value longer than the limit is refused, however it is split."""
    with pytest.raises(LimitExceeded, match="text value"):
        parse_json_documents('{"s": "' + "x" * 2000 + '"}', "x.json", limits=Limits(max_string_bytes=1000))


def test_gzip_bomb_stops_early(corpus: Path) -> None:
    """The bomb is refused by ratio after a few tens of megabytes, not after inflating a gigabyte."""
    with pytest.raises(LimitExceeded, match="inflates more than") as exc:
        load_pixel_events(corpus / "bomb.json.gz")
    assert exc.value.limit == "max_ratio"


def test_sniffing_reads_gzip_once_and_names_formats(corpus: Path, tmp_path: Path) -> None:
    """open_source names the format after undoing gzip; the extension only breaks ties."""
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"event": "Purchase"}\n{"event": "Lead"}\n'))
    assert (open_source(packed).format, open_source(packed).compressed) == ("json", True)
    assert open_source(corpus / "deep.har").format == "har"
    assert open_source(corpus / "wide.csv").format == "csv"
    assert open_source(corpus / "empty.json").format == "empty"
    with pytest.raises(InvalidFile, match="gzip"):
        open_source(corpus / "cut.json.gz").read_bytes()


def test_no_supported_shape_names_the_shapes(corpus: Path) -> None:
    """Valid JSON with no events in any shape is an error that lists the shapes the console reads."""
    from core.sources.server import load_server_events

    with pytest.raises(InvalidFile, match="holds no events") as exc:
        load_server_events(corpus / "noshape.json")
    assert "v1.3 bodies" in str(exc.value) and "CSV" in str(exc.value)
    assert json.loads((corpus / "noshape.json").read_text())  # it is valid JSON


# --- the guard's nesting count agrees with the parser's, however the bytes are cut --------------------
def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_TEXT = st.text(alphabet=st.sampled_from(list('ab"\\[]{}0123456789 \n\u00e9\U0001f600')), max_size=12)
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=30)


@given(value=_JSON, cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=6), ascii=st.booleans())
@settings(max_examples=150, deadline=None)
def test_guard_counts_nesting_like_the_parser(value: object, cuts: list[int], ascii: bool) -> None:
    """Brackets, quotes and backslashes inside text never count; the depth limit bites exactly at the depth;
    escaped surrogate pairs and multi-byte characters cut by a chunk boundary read whole."""
    data = json.dumps(value, ensure_ascii=ascii).encode()
    depth = _depth(value)

    def run(max_depth: int) -> None:
        guard = JsonGuard("x.json", Limits(max_depth=max_depth))
        start = 0
        for cut in sorted(set(cuts)):
            guard.feed(data[start:cut])
            guard.flush()
            start = max(start, min(cut, len(data)))
        guard.feed(data[start:])
        guard.close()

    run(depth)
    if depth:
        with pytest.raises(LimitExceeded):
            run(depth - 1)

"""`tiktok-events dedup` / `demo`: held-out scenarios from CSV and JSONL files, exit codes, JSON names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import EXIT_OK, EXIT_USAGE, main
from core.dedup import SUMMARY_FIELDS

T = 1_780_000_000
PX = "CPIXEL0000000000001"
H = 3600

# Held-out scenario: (event_id, pixel second offsets, server second offsets) per key, with the answer
# worked out by hand from TikTok's rules (contract §8).
KEYS = [
    ("m1", [0], [120]),                   # merged
    ("m2", [0, 600], [30]),               # merged + 1 Pixel repeat
    ("d1", [0], [2 * H]),                 # deduplicated
    ("p1", [0], []),                      # pixel only
    ("s1", [], [0]),                      # server only
    ("s2", [], [0, 10]),                  # server only + 1 server repeat
    ("o1", [0], [49 * H]),                # outside window: both count
    ("", [0, 5], [9]),                    # 2 Pixel + 1 server without event_id
]
EXPECTED = dict(pixel_events=8, server_events=8, counted=11, merged_pairs=2, deduplicated_pairs=1,
                pixel_only=4, server_only=4, same_source_duplicates=2, outside_window=1, missing_event_id=3)


def _rows():
    for eid, pix, srv in KEYS:
        for dt in pix:
            yield "pixel", eid, T + dt, eid
        for dt in srv:
            yield "server", eid, T + dt, eid


def write_inputs(tmp_path: Path, fmt: str) -> tuple[Path, Path]:
    """The scenario as Pixel and server files in `fmt` (csv or jsonl)."""
    pixel = [(eid, t) for side, eid, t, _ in _rows() if side == "pixel"]
    server = [(eid, t) for side, eid, t, _ in _rows() if side == "server"]
    if fmt == "csv":
        p = tmp_path / "pixel.csv"
        p.write_text("pixel_code,event,event_id,timestamp\n"
                     + "".join(f"{PX},Purchase,{e},{t}\n" for e, t in pixel))
        s = tmp_path / "server.csv"
        s.write_text("event_source_id,event,event_id,event_time,order_id\n"
                     + "".join(f"{PX},Purchase,{e},{t},{e}\n" for e, t in server))
    else:
        p = tmp_path / "pixel.jsonl"
        p.write_text("".join(json.dumps({"event": "Purchase", "event_id": e, "timestamp": t * 1000,
                                         "context": {"pixel": {"code": PX}}}) + "\n" for e, t in pixel))
        s = tmp_path / "server.jsonl"
        s.write_text("".join(json.dumps({"event_source": "web", "event_source_id": PX, "data": [
            {"event": "Purchase", "event_time": t, **({"event_id": e} if e else {})}]}) + "\n"
            for e, t in server))
    return p, s


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_held_out_scenario_gives_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              fmt: str) -> None:
    """Every summary figure of the hand-worked scenario comes out exactly, from CSV and from JSONL."""
    p, s = write_inputs(tmp_path, fmt)
    code, out, _ = run(capsys, "dedup", "--pixel", str(p), "--server", str(s), "--format", "json")
    assert code == EXIT_OK
    got = json.loads(out)
    assert set(SUMMARY_FIELDS) <= set(got)
    assert {k: got[k] for k in EXPECTED} == EXPECTED
    assert "keys" not in got


def test_details_and_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--details adds one verdict per key; the text form lists figures and verdicts."""
    p, s = write_inputs(tmp_path, "csv")
    _, out, _ = run(capsys, "dedup", "--pixel", str(p), "--server", str(s), "--details", "--format", "json")
    keys = json.loads(out)["keys"]
    verdicts = {k["event_id"]: k["verdict"] for k in keys if k["event_id"]}
    assert verdicts == {"m1": "merged", "m2": "merged", "d1": "deduplicated", "p1": "pixel only",
                        "s1": "server only", "s2": "server only", "o1": "outside window"}
    assert sum(k["counted"] for k in keys) == EXPECTED["counted"]
    _, text, _ = run(capsys, "dedup", "--pixel", str(p), "--server", str(s), "--details")
    assert "merged_pairs" in text and "server arrived 2 min after pixel: merged" in text


def test_demo_then_dedup_with_orders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`demo` writes files that `dedup --orders` reads, adding the gap figures."""
    code, out, _ = run(capsys, "demo", "--orders", "1500", "--out", str(tmp_path), "--format", "json")
    assert code == EXIT_OK
    files = json.loads(out)["files"]
    results = []
    for kind in ("csv", "jsonl"):
        code, out, _ = run(capsys, "dedup", "--pixel", files[f"pixel.{kind}"], "--server", files[f"server.{kind}"],
                           "--orders", files["orders.csv"], "--format", "json")
        assert code == EXIT_OK
        results.append(json.loads(out))
    got = results[0]
    assert 0 < got["truth_pixel"] <= got["truth_counted"] <= got["truth"]
    assert got["pixel_gap"] == pytest.approx(1 - got["truth_pixel"] / got["truth"], abs=1e-6)
    assert got["recovered_share"] == pytest.approx(
        (got["truth_counted"] - got["truth_pixel"]) / (got["truth"] - got["truth_pixel"]), abs=1e-6)
    assert got["near_misses"]
    same = ("pixel_events", "server_events", "missing_event_id", "same_source_duplicates", "truth", "truth_pixel")
    assert {k: results[1][k] for k in same} == {k: got[k] for k in same}
    _, all_orders, _ = run(capsys, "dedup", "--pixel", files["pixel.csv"], "--server", files["server.csv"],
                           "--orders", files["orders.csv"], "--all-orders", "--format", "json")
    assert json.loads(all_orders)["truth"] == 1500


@pytest.mark.parametrize("args", [
    ["dedup", "--pixel", "/nonexistent/p.csv", "--server", "/nonexistent/s.csv"],
    ["dedup", "--pixel", "{p}", "--server", "{s}", "--link", "event_id_template", "--template", "x",
     "--orders", "{o}"],
    ["demo", "--orders", "0", "--out", "{d}"],
])
def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    """Missing files, a template without {order_id} and a zero-size demo exit 2 with a message."""
    p, s = write_inputs(tmp_path, "csv")
    o = tmp_path / "orders.csv"
    o.write_text("order_id,created_at,total,currency\n1,2026-05-01T00:00:00Z,1,USD\n")
    argv = [a.format(p=p, s=s, o=o, d=tmp_path / "d") for a in args]
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE
    assert err.startswith(f"tiktok-events {argv[0]}:")


@pytest.mark.parametrize("link", [[], ["--link", "order_id"],
                                  ["--link", "event_id_template", "--template", "ord_{order_id}_purchase"]])
def test_duckdb_engine_gives_the_memory_engines_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch, link: list[str]) -> None:
    """DuckDB, the default engine (SQL over the files, bounded memory), prints the memory engine's whole
    document: counts, gap, link, segment sources, near misses, daily; progress only on stderr."""
    assert run(capsys, "demo", "--orders", "400", "--out", str(tmp_path))[0] == EXIT_OK
    files = ["--pixel", str(tmp_path / "pixel.csv"), "--server", str(tmp_path / "server.csv"),
             "--orders", str(tmp_path / "orders.csv"), *link, "--format", "json"]
    code, out, _ = run(capsys, "dedup", *files, "--engine", "memory")
    memory = json.loads(out)
    monkeypatch.setattr("core.cli.PROGRESS_AFTER_S", 0.0)  # every stage shown, however quick
    code2, out2, err2 = run(capsys, "dedup", *files)
    engine = json.loads(out2)  # stdout is the JSON alone
    assert code == code2 == EXIT_OK and engine.pop("engine") == "duckdb" and memory.pop("engine") == "memory"
    assert "dedup (duckdb): done" in err2
    assert engine == memory
    assert sum(d["truth"] for d in engine["daily"]) == engine["truth"] - engine["truth_undated"]


def test_details_list_the_same_keys_on_both_engines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--details: every key verdict with its reason, the same on DuckDB and in memory."""
    p, s = write_inputs(tmp_path, "csv")
    _, out, _ = run(capsys, "dedup", "--pixel", str(p), "--server", str(s), "--details", "--format", "json")
    _, mem, _ = run(capsys, "dedup", "--pixel", str(p), "--server", str(s), "--details", "--format", "json",
                    "--engine", "memory")
    def key(k: dict) -> tuple:
        return (k["event_id"], k["occurrence"], k["verdict"], k["reason"], k["counted"])

    assert sorted(map(key, json.loads(out)["keys"])) == sorted(map(key, json.loads(mem)["keys"]))


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`tiktok-events dedup --details | head -1`: the first line, then a quiet end (no BrokenPipe traceback)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-m", "core.cli", "demo", "--orders", "2000", "--out", str(tmp_path)],
                          cwd=root, capture_output=True, timeout=120).returncode == EXIT_OK
    cmd = (f"{sys.executable} -m core.cli dedup --pixel {tmp_path / 'pixel.csv'} --server {tmp_path / 'server.csv'} "
           "--details | head -1")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("pixel_events") and len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr and proc.returncode == 0


def test_the_engine_command_counts_without_loading_pandas(tmp_path: Path) -> None:
    """`tiktok-events dedup` on the engine (summary, order gap, segment sources, near misses) runs without
    pandas: loading it alone would cost a third of a second on every run."""
    import subprocess
    import sys

    from core.demo import generate_store, write_store

    files = write_store(generate_store(60, seed=5), tmp_path)
    args = ["dedup", "--pixel", str(files["pixel.csv"]), "--server", str(files["server.csv"]),
            "--orders", str(files["orders.csv"]), "--format", "json"]
    code = ("import io, contextlib, json, sys\n"
            "from core.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            f"    rc = main({args!r})\n"
            "doc = json.loads(out.getvalue())\n"
            "print(rc, 'pandas' in sys.modules, doc['truth'] > 0, bool(doc['segment_sources']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1], check=False)
    assert done.stdout.split() == ["0", "False", "True", "True"], done.stderr[-2000:]

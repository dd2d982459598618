"""The reliability probes, measured again: faults while sending and hostile files through every command.

    .venv/bin/python bench/reliability_probe.py [--events 100000] [--only send|files]

Every delivery figure is counted at the server side, by the independent stand-in of the test suite
(tests/standin.py): per event_id, how many times it arrived. Hostile files run each command in its own
process with a 60 s limit; peak memory is that process's own (VmHWM through getrusage of a wrapper).
Prints a table: probe, what happened. Asserts nothing (the tests do).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.standin import StandIn  # noqa: E402 - after the path set-up above

TOKEN = "standin-token"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
_WRAP = ("import resource, subprocess, sys, json; p = subprocess.run(sys.argv[1:], capture_output=True, text=True, "
         "timeout=60); print(json.dumps({'code': p.returncode, 'err': p.stderr[-400:], "
         "'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")


def events(n: int) -> list[dict[str, Any]]:
    now = int(time.time()) - 60
    return [{"event": "Purchase", "event_time": now, "event_id": f"ord_{i}_purchase",
             "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"},
             "page": {"url": "https://shop.example/thanks"},
             "properties": {"currency": "USD", "value": 10.0}} for i in range(n)]


def write_body(path: Path, n: int) -> Path:
    path.write_text(json.dumps({"event_source": "web", "event_source_id": "CSTANDIN0000000000AB",
                                "test_event_code": "TEST1", "data": events(n)}))
    return path


def cli(db: Path, *argv: str, token: str = TOKEN) -> subprocess.Popen[str]:
    env = {**os.environ, "TEC_DB": str(db), "TIKTOK_ACCESS_TOKEN": token, "TEC_MAX_ATTEMPTS": "3"}
    return subprocess.Popen([sys.executable, "-m", "core.cli", *argv], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(db: Path, *argv: str, token: str = TOKEN) -> tuple[int, str, str]:
    proc = cli(db, *argv, token=token)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def wait(cond: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.005)


def rows_in(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return int(con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    except sqlite3.Error:
        return 0


def delivered(server: StandIn, n: int) -> str:
    got = server.delivered()
    twice = server.twice()
    return f"{len(got):,}/{n:,} delivered, {len(twice):,} twice"


def probe_kill_while_recording(tmp: Path, n: int) -> str:
    db, src = tmp / "kill.db", write_body(tmp / "kill.json", n)
    with StandIn() as server:
        proc = cli(db, "send", str(src), "--base-url", server.url)
        wait(lambda: rows_in(db) > 0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        err = run(db, "outbox", "list")[2]
        says = "says interrupted" if "interrupted while recording" in err else "DOES NOT say interrupted"
        run(db, "outbox", "retry", "--base-url", server.url)
        after_retry = len(server.delivered())
        before = server.requests
        run(db, "send", str(src), "--base-url", server.url)
        return (f"outbox list {says}; after retry {after_retry:,} delivered; same send again: {delivered(server, n)} "
                f"({server.requests - before} requests)")


def probe_retry_beside_send(tmp: Path, n: int) -> str:
    db, src = tmp / "beside.db", write_body(tmp / "beside.json", n)
    with StandIn(delay_s=0.02) as server:
        sender = cli(db, "send", str(src), "--base-url", server.url)
        wait(lambda: server.requests >= 2)
        retry = cli(db, "outbox", "retry", "--base-url", server.url)
        sender.communicate(timeout=600)
        retry.communicate(timeout=600)
        return delivered(server, n)


def probe_partial(tmp: Path) -> str:
    db, src = tmp / "partial.db", write_body(tmp / "partial.json", 1000)
    with StandIn(partial_first=1) as server:
        code, _, _ = run(db, "send", str(src), "--base-url", server.url)
        return f"exit {code}; {delivered(server, 1000)} (the kept half again: TikTok drops copies by event_id)"


def probe_slow(tmp: Path) -> str:
    db, src = tmp / "slow.db", write_body(tmp / "slow.json", 1000)
    with StandIn(delay_s=1.5) as server:
        code, _, _ = run(db, "send", str(src), "--base-url", server.url, "--timeout", "0.5")
        return f"exit {code}; {delivered(server, 1000)}"


def probe_refused_bodies(tmp: Path) -> str:
    out = []
    for name, text in (("data object", '{"event_source": "web", "event_source_id": "C1", "data": {"event": "X"}}'),
                       ("data null", '{"event_source": "web", "event_source_id": "C1", "data": null}'),
                       ("NaN", '{"event_source": "web", "event_source_id": "C1", "data": [{"event": "Purchase", '
                               '"properties": {"value": NaN}}]}')):
        src = tmp / "refuse.json"
        src.write_text(text)
        with StandIn() as server:
            code, _, _ = run(tmp / "refuse.db", "send", str(src), "--test-event-code", "T", "--base-url", server.url)
            out.append(f"{name}: exit {code}, {server.requests} posted")
    return "; ".join(out)


def probe_raw_pii(tmp: Path) -> str:
    db = tmp / "pii.db"
    raw = ["alice@example.com", "+1 415 555 0100", "bob@shop.example", "+44 20 7946 0958"]
    body = {"event_source": "web", "event_source_id": "CSTANDIN0000000000AB", "test_event_code": "T", "data": [
        {"event": "Purchase", "event_time": int(time.time()), "event_id": "p1", "context": {"user": {"email": raw[0]}},
         "user": {"phone_number": raw[1], "emails": [HASH, raw[2]], "external_id": raw[2]},
         "properties": {"note": raw[3]}}]}
    src = tmp / "pii.json"
    src.write_text(json.dumps(body))
    with StandIn() as server:
        run(db, "send", str(src), "--base-url", server.url, "--send-invalid")
        run(db, "outbox", "retry", "--rejected", "--base-url", server.url)
    data = b"".join(p.read_bytes() for p in tmp.glob("pii.db*"))
    found = [v for v in raw if v.encode() in data]
    return f"{len(found)} of {len(raw)} raw values in the database files"


def hostile_files(tmp: Path) -> dict[str, Path]:
    files = {
        "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,
        "integer of 5,000 digits": b'{"data": [{"event": "Purchase", "event_time": ' + b"9" * 5000 + b"}]}",
        "integer of 4,000 digits": b'{"data": [{"event": "Purchase", "event_time": ' + b"9" * 4000 + b"}]}",
        "lone surrogate": b'{"data": [{"event": "\\ud800"}]}',
        "invalid UTF-8": b'{"data": [{"event": "\xff\xfe"}]}',
        "bad .gz": gzip.compress(b'{"data": []}')[:20],
        "no events": b'{"hello": "world"}',
        "200 KB HAR of nested arrays": (b'{"log": {"entries": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}}"),
        "1 MB gzip bomb": gzip.compress(b"0" * (1024**3), compresslevel=9),
    }
    out = {}
    for name, data in files.items():
        suffix = ".gz" if name in ("bad .gz", "1 MB gzip bomb") else (".har" if "HAR" in name else ".json")
        path = tmp / (name.replace(" ", "_").replace(",", "") + suffix)
        path.write_bytes(data)
        out[name] = path
    return out


def probe_files(tmp: Path) -> list[tuple[str, str]]:
    files = hostile_files(tmp)
    db = tmp / "files.db"
    commands = {
        "validate": lambda f: ["validate", str(f)],
        "pixels": lambda f: ["pixels", str(f)],
        "quality": lambda f: ["quality", str(f)],
        "dedup --pixel": lambda f: ["dedup", "--pixel", str(f), "--server", str(files["no events"])],
        "dedup --server": lambda f: ["dedup", "--pixel", str(files["no events"]), "--server", str(f)],
        "dedup --orders": lambda f: ["dedup", "--pixel", str(files["no events"]), "--server",
                                     str(files["no events"]), "--orders", str(f)],
        "send": lambda f: ["send", str(f), "--test-event-code", "T", "--base-url", "http://127.0.0.1:9"],
    }
    results = []
    env = {**os.environ, "TEC_DB": str(db), "TIKTOK_ACCESS_TOKEN": TOKEN, "TEC_PIXEL_CODE": "CPIX"}
    for name, path in files.items():
        tracebacks, codes, peak, slowest = 0, set(), 0.0, 0.0
        for argv in commands.values():
            t0 = time.perf_counter()
            try:
                p = subprocess.run([sys.executable, "-c", _WRAP, sys.executable, "-m", "core.cli", *argv(path)],
                                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
                doc = json.loads(p.stdout.strip().splitlines()[-1])
            except (subprocess.TimeoutExpired, ValueError, IndexError):
                doc = {"code": "timeout", "err": "", "rss_mb": float("nan")}
            slowest = max(slowest, time.perf_counter() - t0)
            tracebacks += "Traceback" in doc["err"]
            codes.add(doc["code"])
            peak = max(peak, doc["rss_mb"])
        results.append((name, f"{len(commands)} commands: exit codes {sorted(map(str, codes))}, {tracebacks} "
                              f"traceback(s), slowest {slowest:.1f} s, peak {peak:,.0f} MB"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--only", choices=("send", "files"))
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only in (None, "send"):
            n = args.events
            rows += [(f"send of {n:,} killed while recording, outbox retry, same send",
                      probe_kill_while_recording(tmp, n)),
                     (f"outbox retry beside a running send ({n:,})", probe_retry_beside_send(tmp, n)),
                     ("a 20001 partial answer (1,000 events)", probe_partial(tmp)),
                     ("answers 1.5 s late, --timeout 0.5 (1,000 events)", probe_slow(tmp)),
                     ("send of data object / null / NaN", probe_refused_bodies(tmp)),
                     ("raw email/phone under odd keys, sent and retried", probe_raw_pii(tmp))]
        if args.only in (None, "files"):
            rows += probe_files(tmp)
    width = max(len(r[0]) for r in rows)
    for probe, result in rows:
        print(f"{probe:<{width}}  {result}")


if __name__ == "__main__":
    main()

"""Send throughput to the local emulator: events per second and peak memory for a bulk send.

    .venv/bin/python bench/send_bench.py [--events 100000] [--batch 1000] [--rounds 3] [--in-process]

Runs two passes over the same events against `tiktok-events emulator` in its own process (as TikTok is
another machine; --in-process shares this process and its GIL instead):
  transport  Sender.send_one of prepared ≤1,000-event bodies: serialize, POST, parse, retry bookkeeping
  outbox     outbox.send: the real path (recorded in the SQLite outbox, claimed, sent, settled; exchanges kept)
The two passes alternate for --rounds rounds (the machine may be loaded: each outbox figure sits beside
the transport figure measured just before it), and the outbox/transport ratio is printed per round with
its min/median, by wall clock and by this process's CPU time (steadier when other
processes compete). Prints figures only; asserts nothing (speed is measured here, never in tests).

    .venv/bin/python bench/send_bench.py --events 20000 --rounds 3 [--in-process] --against ../wt-old

compares with another checkout (e.g. `git worktree add ../wt-old COMMIT`; it needs no venv of its own):
each round runs that checkout's bench and this one's, each in a fresh process with the same arguments,
in alternating order, and prints both outbox figures and their ratio (this / other), then min/median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import outbox  # noqa: E402
from core.config import Settings  # noqa: E402 - after the path set-up above
from core.store import Store  # noqa: E402
from core.transport import Sender, split_body  # noqa: E402

TOKEN = "bench-token-not-a-secret"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def make_events(n: int) -> list[dict[str, Any]]:
    """Realistic Purchase events (~550 bytes each): hashed keys, ip/ua, ttp, page, contents."""
    return [{
        "event": "Purchase", "event_time": 1735689600 + i, "event_id": f"ord_{i}_purchase",
        "user": {"email": [HASH], "phone": [HASH], "external_id": [HASH], "ip": "203.0.113.7",
                 "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
                 "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1"},
        "page": {"url": f"https://shop.example/thanks?order={i}"},
        "properties": {"currency": "USD", "value": 46.0, "content_type": "product",
                       "contents": [{"content_id": "1077218", "price": 8, "quantity": 2}]},
    } for i in range(n)]


def start_emulator_process() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "emulator", "--token", TOKEN, "--format", "json"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())["url"]


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, this one by default."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def transport_pass(sender: Sender, parts: list[dict[str, Any]], n_events: int) -> tuple[float, float]:
    """Sender.send_one of every prepared part; prints and returns (events per second, client CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    exchanges = [sender.send_one(p) for p in parts]
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = sum(e.event_count for e in exchanges if e.accepted)
    lat = sorted(e.latency_ms for e in exchanges)
    print(f"transport: {n_events / dt:,.0f} events/s ({dt:.2f} s, client CPU {cpu:.2f} s; {ok:,} accepted; "
          f"request latency p50 {lat[len(lat) // 2]:.1f} ms, p95 {lat[int(len(lat) * 0.95)]:.1f} ms)")
    return n_events / dt, cpu


def outbox_pass(sender: Sender, body: dict[str, Any], events: list[dict[str, Any]]) -> tuple[float, float]:
    """outbox.send of the whole input into a fresh database; prints and returns (events/s, client CPU seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store(db) as store:
            t0, c0 = time.perf_counter(), time.process_time()
            report = outbox.send(store, sender, [{**body, "data": events}], label="bench")
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*")) / 2**20
    print(f"outbox:    {len(events) / dt:,.0f} events/s ({dt:.2f} s, client CPU {cpu:.2f} s; {report.accepted:,} "
          f"accepted; database {size:.0f} MiB)")
    return len(events) / dt, cpu


_OUTBOX_LINE: Final = re.compile(r"^outbox:\s+([\d,]+) events/s", re.MULTILINE)


def outbox_rate(checkout: Path, argv: list[str]) -> float:
    """The outbox figure (events/s) of one run of `checkout`'s bench with `argv`, in a process of its own."""
    done = subprocess.run([sys.executable, str(checkout / "bench" / "send_bench.py"), *argv], cwd=checkout,
                          capture_output=True, text=True, timeout=3600, check=False)
    found = _OUTBOX_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{checkout}: its bench printed no outbox figure (exit {done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return float(found.group(1).replace(",", ""))


def against(other: Path, args: argparse.Namespace) -> None:
    """This checkout's outbox pass beside `other`'s, alternately, each run in a fresh process."""
    if not (other / "bench" / "send_bench.py").is_file():
        raise SystemExit(f"--against {other}: no bench/send_bench.py there (a checkout of this repository?)")
    argv = [f"--events={args.events}", f"--batch={args.batch}"] + (["--in-process"] if args.in_process else [])
    mine = [*argv, "--rounds=1"]  # the other checkout's bench may predate --rounds: it runs one pass of each
    print(f"{args.events:,} events, {args.rounds} round(s), emulator "
          f"{'in-process' if args.in_process else 'in its own process'}: {ROOT} against {other}")
    ratios = []
    for n in range(1, args.rounds + 1):
        runs = [(other, argv), (ROOT, mine)] if n % 2 else [(ROOT, mine), (other, argv)]
        rates = {str(path): outbox_rate(path, a) for path, a in runs}
        this, that = rates[str(ROOT)], rates[str(other)]
        ratios.append(this / that)
        print(f"round {n}: outbox this {this:,.0f} events/s, other {that:,.0f} events/s, this/other "
              f"{ratios[-1]:.2f} (load {os.getloadavg()[0]:.2f})")
    print(f"this/other over {len(ratios)} round(s): min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000, help="events per request (TikTok's maximum is 1,000)")
    ap.add_argument("--rounds", type=int, default=3, help="transport and outbox passes, alternating")
    ap.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    ap.add_argument("--against", type=Path, metavar="PATH",
                    help="a checkout of another commit: compare its outbox figure with this one's, alternately")
    args = ap.parse_args()
    if args.against is not None:
        against(args.against.resolve(), args)
        return

    proc = None
    if args.in_process:
        from core.emulator import start_emulator

        emu = start_emulator(token=TOKEN)
        url = emu.url
    else:
        proc, url = start_emulator_process()
    events = make_events(args.events)
    body = {"event_source": "web", "event_source_id": "CBENCHPIXEL", "test_event_code": "TESTBENCH", "data": events}
    parts = split_body(body, args.batch)
    settings = Settings(target="custom", base_url=url, access_token=TOKEN, timeout_s=30, max_attempts=2)
    print(f"{args.events:,} events in {len(parts)} requests of ≤{args.batch:,} to the emulator "
          f"({'in-process' if args.in_process else 'own process'}); machine load {os.getloadavg()[0]:.2f}")
    try:
        with Sender(settings) as sender:
            sender.send_one(parts[0])  # warm-up: connection, imports
            ratios: list[float] = []
            cpu_ratios: list[float] = []  # client CPU per event, transport / outbox: steadier on a loaded machine
            for n in range(1, args.rounds + 1):
                transport, transport_cpu = transport_pass(sender, parts, args.events)
                rate, cpu = outbox_pass(sender, body, events)
                ratios.append(rate / transport)
                cpu_ratios.append(transport_cpu / cpu)
                print(f"round {n}: outbox/transport {ratios[-1]:.3f} by wall clock, {cpu_ratios[-1]:.3f} by client "
                      f"CPU (load {os.getloadavg()[0]:.2f})")
            for name, values in (("wall clock", ratios), ("client CPU", cpu_ratios)):
                print(f"outbox/transport by {name} over {len(values)} round(s): min {min(values):.3f}, "
                      f"median {statistics.median(values):.3f}, max {max(values):.3f}")
        print(f"peak memory: client {peak_rss_mib():.0f} MiB"
              + (f", emulator {peak_rss_mib(proc.pid):.0f} MiB" if proc else " (emulator included)"))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()

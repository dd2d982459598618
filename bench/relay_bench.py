"""The recording relay's overhead: added latency at ~100 requests/s, and its memory over 100k requests.

    .venv/bin/python bench/relay_bench.py [--rate 100] [--seconds 10] [--requests 100000] [--clients 4]

Three processes, as in production: the upstream (`tiktok-events emulator`), the relay (`tiktok-events relay
--forward URL`, recording into a temporary database), and this script as the backend (httpx, keep-alive).
  latency  each tick of a --rate Hz clock posts the same one-event body once straight to the emulator and
           once through the relay (order alternating); p50/p95 of both and what the relay adds, in ms
  memory   --requests posts through the relay from --clients threads; the relay's RSS (/proc) after the
           first 10k and the last 10k, and the growth over each
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-not-a-secret"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
TRACK = "/open_api/v1.3/event/track/"


def body(i: int) -> bytes:
    """A realistic one-event Purchase body (~600 bytes) with hashed keys: what a backend sends per order."""
    return json.dumps({"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [{
        "event": "Purchase", "event_time": int(time.time()), "event_id": f"ord_{i}_purchase",
        "user": {"email": [HASH], "phone": [HASH], "external_id": [HASH], "ip": "203.0.113.7",
                 "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
                 "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1"},
        "page": {"url": f"https://shop.example/thanks?order={i}"},
        "properties": {"currency": "USD", "value": 46.0, "content_type": "product",
                       "contents": [{"content_id": "1077218", "price": 8, "quantity": 2}]}}]}).encode()


def start(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start a `tiktok-events` subcommand; its first stdout line (JSON) and the process. The rest is drained."""
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", *argv, "--format", "json"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    out: IO[str] = proc.stdout
    threading.Thread(target=lambda: [None for _ in out], daemon=True).start()
    return proc, info


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def paced(base: str, rate: float, seconds: float, offset: int) -> tuple[list[float], float]:
    """Post one-event bodies to `base` on a `rate` Hz clock for `seconds`; (latencies in ms, achieved rate)."""
    headers = {"Access-Token": TOKEN, "Content-Type": "application/json"}
    out: list[float] = []
    with httpx.Client(headers=headers) as client:
        for i in range(20):  # warm-up: the connection open, code paths hot
            client.post(base + TRACK, content=body(offset + i)).raise_for_status()
        ticks = int(rate * seconds)
        t0 = time.perf_counter()
        for i in range(ticks):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            clock = time.perf_counter()
            resp = client.post(base + TRACK, content=body(offset + 100 + i))
            out.append((time.perf_counter() - clock) * 1000)
            assert resp.json()["code"] == 0, resp.text
        return out, ticks / (time.perf_counter() - t0)


def latency(direct: str, relay: str, rate: float, seconds: float) -> None:
    with ThreadPoolExecutor(2) as pool:  # both at once: the same machine load for both
        d_job = pool.submit(paced, direct, rate, seconds, 0)
        r_job = pool.submit(paced, relay, rate, seconds, 10_000_000)
        (d_times, d_rate), (r_times, r_rate) = d_job.result(), r_job.result()
    d50, d95 = pct(d_times, 50), pct(d_times, 95)
    r50, r95 = pct(r_times, 50), pct(r_times, 95)
    print(f"latency, {len(r_times)} one-event requests each way at the same time "
          f"(direct {d_rate:.0f}/s, relay {r_rate:.0f}/s):")
    print(f"  direct to upstream   p50 {d50:6.2f} ms   p95 {d95:6.2f} ms")
    print(f"  through the relay    p50 {r50:6.2f} ms   p95 {r95:6.2f} ms")
    print(f"  added by the relay   p50 {r50 - d50:6.2f} ms   p95 {r95 - d95:6.2f} ms   "
          f"(ratio relay/direct p50 {r50 / d50:.2f}x, p95 {r95 / d95:.2f}x)")


def memory(relay: str, pid: int, requests: int, clients: int) -> None:
    headers = {"Access-Token": TOKEN, "Content-Type": "application/json"}
    marks: dict[int, float] = {0: rss_mb(pid)}
    step = max(1, min(10_000, requests // 10))
    sent = 0
    t0 = time.perf_counter()
    with httpx.Client(headers=headers, limits=httpx.Limits(max_connections=clients)) as client, \
            ThreadPoolExecutor(clients) as pool:
        def post(i: int) -> int:
            return client.post(relay + TRACK, content=body(i)).status_code

        while sent < requests:
            n = min(step, requests - sent)
            statuses = list(pool.map(post, range(sent, sent + n)))
            assert statuses.count(200) == n, f"{n - statuses.count(200)} requests failed"
            sent += n
            marks[sent] = rss_mb(pid)
    took = time.perf_counter() - t0
    keys = sorted(marks)
    first = marks[keys[1]] - marks[keys[0]]
    last = marks[keys[-1]] - marks[keys[-2]]
    print(f"memory over {requests:,} requests through the relay ({requests / took:.0f} requests/s with {clients} "
          f"clients, each recorded and linted):")
    shown = sorted({keys[0], keys[1], keys[len(keys) // 2], keys[-2], keys[-1]})
    print("  relay RSS after " + ", ".join(f"{k:,}: {marks[k]:.1f} MB" for k in shown))
    print(f"  growth over the first {keys[1]:,}: {first:+.1f} MB; over the last {keys[-1] - keys[-2]:,}: "
          f"{last:+.1f} MB (flat when the last is near zero)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TEC_DB": str(Path(tmp) / "relay.db")}
        emu, emu_info = start(["emulator"], env)
        relay_proc, relay_info = start(["relay", "--forward", emu_info["url"], "--session", "bench",
                                        "--timeout", "30"], env)
        try:
            latency(emu_info["url"], relay_info["relay"], args.rate, args.seconds)
            memory(relay_info["relay"], relay_proc.pid, args.requests, args.clients)
        finally:
            for proc in (relay_proc, emu):
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()

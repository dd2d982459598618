"""The recording relay's memory and threads under a hostile flood, beside the same number of normal requests.

    .venv/bin/python bench/relay_hostile_bench.py [--rounds 20] [--clients 8]

Three processes, as in production (see relay_bench.py): the emulator upstream, the relay recording into a
temporary database, and this script. Each round sends one of each hostile request (garbage request line,
conflicting Content-Length, bad chunk size, a 10 MB gzip bomb that inflates to 200 MB, JSON nested 200k deep,
a 5 MB non-JSON body, a body that ends early) and as many normal one-event bodies. Prints the relay's RSS
and thread count before, after the normal requests (the reference) and after the hostile flood, and the ratio
of the hostile growth to the normal growth. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relay_bench import body, rss_mb, start  # a sibling script, not a package

PATH = b"/open_api/v1.3/event/track/"


def post(data: bytes, *headers: bytes) -> bytes:
    return b"POST " + PATH + b" HTTP/1.1\r\nHost: x\r\nAccess-Token: t\r\n" + b"".join(headers) + b"\r\n" + data


def hostile() -> list[bytes]:
    bomb = gzip.compress(b'{"data":[' + b" " * (200 * 2**20) + b"]}")
    junk = os.urandom(5 * 2**20)
    return [b"\x00\xff garbage\r\n\r\n",
            post(b"{}", b"Content-Length: 2\r\nContent-Length: 9\r\n"),
            post(b"zz\r\n{}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"),
            post(bomb, b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb)),
            post(b"[" * 200_000, b"Content-Length: 200000\r\n"),
            post(junk, b"Content-Length: %d\r\n" % len(junk)),
            post(b'{"data": [', b"Content-Length: 100\r\n")]


def send_raw(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def threads(pid: int) -> int:
    return int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("Threads:")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    requests = hostile()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TEC_DB": str(Path(tmp) / "relay.db")}
        emu, emu_info = start(["emulator"], env)
        relay, info = start(["relay", "--forward", emu_info["url"], "--session", "bench", "--timeout", "5"], env)
        port = int(info["relay"].rsplit(":", 1)[1])
        try:
            with httpx.Client(timeout=30) as client:  # warm-up: imports, pools, first database pages
                for i in range(50):
                    client.post(info["track_url"], content=body(i), headers={"Access-Token": "t"})
            base_rss, base_threads = rss_mb(relay.pid), threads(relay.pid)
            n = args.rounds * len(requests)
            with httpx.Client(timeout=30) as client, ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(lambda i: client.post(info["track_url"], content=body(1000 + i),
                                                    headers={"Access-Token": "t"}), range(n)))
            normal_rss = rss_mb(relay.pid)
            started = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(lambda r: send_raw(port, r), requests * args.rounds))
            took = time.monotonic() - started
            time.sleep(1.0)  # let finished handler threads exit before counting them
            hostile_rss, hostile_threads = rss_mb(relay.pid), threads(relay.pid)
        finally:
            for proc in (relay, emu):
                proc.terminate()
                proc.wait(timeout=30)
    normal_growth, hostile_growth = normal_rss - base_rss, hostile_rss - normal_rss
    print(f"relay RSS: {base_rss:.1f} MB after warm-up; +{normal_growth:.1f} MB over {n} normal requests "
          f"(reference); +{hostile_growth:.1f} MB over {n} hostile requests ({took:.1f} s)")
    print(f"hostile/normal growth ratio: {hostile_growth / max(normal_growth, 0.1):.2f}; threads "
          f"{base_threads} before, {hostile_threads} after the flood")


if __name__ == "__main__":
    main()

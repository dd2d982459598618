"""Speed and peak memory of core.sources.har.parse_har on a large synthetic DevTools HAR (default ~100 MB).

    .venv/bin/python bench/har_bench.py [--mb 100] [--pixel-share 0.05] [--keep PATH]

The HAR mimics a real capture: mostly non-TikTok requests with response bodies (HTML, JS, JSON) and a
share of TikTok Pixel hits (POST /api/v2/pixel, /act fan-out, telemetry, loader). Parsing runs in a child
process so its peak RSS (ru_maxrss) is measured apart from building the file; the figure printed is the
growth over the interpreter with core.sources.har already imported. The reference, timed in the same
process, is a plain `ijson.items` pass over the same entries (C parser, no limits, nothing extracted).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
C1, C2 = "CQ1ABCDE2FGH3IJK4LMN", "CP9ZYXWV8UTS7RQP6ONM"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"


def _pixel_body(rng: random.Random, i: int, act: bool) -> dict[str, object]:
    ms = 1773483302311 + i * 1700
    pixel = {"codes": f"{C1}|{C2}"} if act else {"code": C1}
    return {
        "event": rng.choice(["Pageview", "ViewContent", "AddToCart", "InitiateCheckout", "Purchase"]),
        "event_id": f"ord_{10000 + i}_purchase" if rng.random() < 0.7 else "",
        "message_id": f"messageId-{ms}-{rng.randrange(10**12, 10**13)}-{C1}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z",
        "context": {"pixel": pixel, "page": {"url": f"https://shop.example.com/p/{i}?ttclid=E.C.P.{i}"},
                    "user": {"email": f"{rng.getrandbits(256):064x}"}, "userAgent": UA,
                    "library": {"name": "pixel.js", "version": "2.2.1"}},
        "properties": {"value": f"{rng.uniform(5, 300):.2f}", "currency": "EUR",
                       "contents": [{"content_id": str(rng.randrange(1000)), "quantity": 1}]},
        "signal_diagnostic_labels": {"hashed_email": {"label": "valid"}, "raw_phone": {"label": "missing"}},
    }


def _entry(url: str, method: str = "GET", post: str | None = None, body: str = "") -> dict[str, object]:
    req: dict[str, object] = {"method": method, "url": url, "httpVersion": "http/2.0",
                              "headers": [{"name": "user-agent", "value": UA}], "queryString": [], "cookies": [],
                              "headersSize": -1, "bodySize": len(post or "")}
    if post is not None:
        req["postData"] = {"mimeType": "text/plain;charset=UTF-8", "text": post}
    return {"startedDateTime": "2026-03-14T10:15:02.320Z", "time": 40.1, "request": req,
            "response": {"status": 200, "statusText": "", "httpVersion": "http/2.0", "headers": [], "cookies": [],
                         "content": {"size": len(body), "mimeType": "text/html", "text": body},
                         "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
            "cache": {}, "timings": {"send": 0.1, "wait": 38.0, "receive": 2.0}}


def write_har(path: Path, target_mb: float, pixel_share: float, seed: int = 7) -> tuple[int, int]:
    """Stream a HAR of about `target_mb` MB to `path`; returns (entries, Pixel hits written)."""
    rng = random.Random(seed)
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz <>/=\"") for _ in range(60_000))
    target = int(target_mb * 1024 * 1024)
    entries = hits = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, '
                 '"pages": [], "entries": [\n')
        while fh.tell() < target:
            if entries:
                fh.write(",\n")
            roll = rng.random()
            if roll < pixel_share:
                act = rng.random() < 0.2
                path_ = "/api/v2/pixel/act" if act else "/api/v2/pixel"
                e = _entry(f"https://analytics.tiktok.com{path_}", "POST",
                           json.dumps(_pixel_body(rng, entries, act)), '{"code":0}')
                hits += 1
            elif roll < pixel_share * 1.5:
                e = _entry("https://analytics.tiktok.com/api/v2/pixel/perf", "POST", '{"perf":1}')
            else:
                size = rng.choice((200, 2_000, 20_000, 60_000))
                e = _entry(f"https://shop.example.com/assets/{entries}.js", body=filler[:size])
            fh.write(json.dumps(e))
            entries += 1
        fh.write("\n]}}\n")
    return entries, hits


_CHILD = """
import resource, sys, time, json
import ijson
sys.path.insert(0, {root!r})
from core.sources.har import parse_har
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times, refs = [], []
for _ in range(3):  # the best of three, alternating, so a busy machine weighs on both alike
    t = time.perf_counter()
    with open({path!r}, "rb") as fh:
        n = sum(1 for _ in ijson.items(fh, "log.entries.item", use_float=True))
    refs.append(time.perf_counter() - t)
    t = time.perf_counter()
    r = parse_har({path!r})
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": min(times), "reference": min(refs), "events": len(r.events),
                  "skipped": len(r.skipped), "entries": r.entries, "rss_base_kb": base, "rss_peak_kb": peak}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0, help="HAR size to generate (MB)")
    ap.add_argument("--pixel-share", type=float, default=0.05, help="share of entries that are Pixel hits")
    ap.add_argument("--keep", type=Path, help="write the HAR here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.har"
        t = time.perf_counter()
        entries, hits = write_har(path, args.mb, args.pixel_share)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"HAR: {size_mb:,.1f} MB, {entries:,} entries, {hits:,} Pixel hits (written in "
              f"{time.perf_counter() - t:,.1f} s)")
        out = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), path=str(path))],
                             capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        growth_mb = (res["rss_peak_kb"] - res["rss_base_kb"]) / 1024
        print(f"parse_har: {res['seconds']:,.2f} s ({size_mb / res['seconds']:,.1f} MB/s), "
              f"{res['events']:,} events, {res['skipped']:,} skipped, {res['entries']:,} entries")
        print(f"reference (plain ijson.items over the entries, no limits, nothing extracted): "
              f"{res['reference']:,.2f} s; parse_har is {res['seconds'] / res['reference']:.2f}x the reference")
        print(f"peak RSS growth while parsing: {growth_mb:,.1f} MB "
              f"({growth_mb / size_mb:.2f}x the file; interpreter + imports {res['rss_base_kb'] / 1024:,.0f} MB)")


if __name__ == "__main__":
    main()

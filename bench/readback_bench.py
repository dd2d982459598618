"""Speed of `tiktok-events stats` over the longest range TikTok allows (30 UTC days) against the emulator.

    .venv/bin/python bench/readback_bench.py [--events 100000]

The emulator is filled with live server events spread over 30 days (plus Pixel hits and test events), then
core.readback reads the counts the way the CLI does: one /pixel/list/ call and one /pixel/event/stats/ call
per UTC day (TikTok's statistics carry no day of their own). The reference, measured in the same run, is one
stats request over the whole range (what a single call costs, without per-day rows). Prints the figures and
checks the counts add up; times are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import time

import httpx

from core.emulator import start_emulator
from core.readback import MarketingClient, day_range, read_stats

START = 1746662400  # 2025-05-08 00:00 UTC
PIXEL = "CBENCHREADBACK00001"


def fill(track_url: str, pixel_url: str, n: int) -> None:
    """n server events over 30 days in batches of 1,000; every 10th batch a test batch; n/100 Pixel hits."""
    step = 30 * 86_400 / n
    with httpx.Client(headers={"Access-Token": "bench"}) as client:
        for b in range(n // 1000):
            data = [{"event": ("Purchase", "AddToCart", "ViewContent")[i % 3],
                     "event_time": int(START + (b * 1000 + i) * step), "event_id": f"e{b}_{i}"} for i in range(1000)]
            body = {"event_source": "web", "event_source_id": PIXEL, "data": data}
            if b % 10 == 9:
                body["test_event_code"] = "TEST1"
            assert client.post(track_url, json=body).json()["code"] == 0
        for i in range(n // 100):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(START + i * step * 100))
            hit = {"event": "Purchase", "timestamp": stamp, "context": {"pixel": {"code": PIXEL}}}
            client.post(pixel_url, json=hit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with start_emulator() as emu:
        t0 = time.perf_counter()
        fill(emu.track_url, emu.url + "/api/v2/pixel", args.events)
        print(f"filled the emulator with {args.events:,} server events in {time.perf_counter() - t0:.1f} s")
        days = day_range("2025-05-08", "2025-06-06")
        with MarketingClient(emu.url, "bench") as client:
            t0 = time.perf_counter()
            result = read_stats(client, pixel_code=PIXEL, advertiser_id="1", days=days)
            per_day = time.perf_counter() - t0
            t0 = time.perf_counter()
            client.event_stats("1", [PIXEL], days[0].isoformat(), days[-1].isoformat())
            one = time.perf_counter() - t0
    counted = sum(r.server + r.preview for r in result.rows)
    assert counted == args.events // 1000 * 1000, counted
    print(f"stats over {len(days)} UTC days: {len(result.rows)} rows, {counted:,} server+preview events, "
          f"{sum(r.browser for r in result.rows):,} browser")
    print(f"per-day read (1 list + {len(days)} stats requests): {per_day:.2f} s; reference, one range request: "
          f"{one:.2f} s; ratio {per_day / one:.1f}x for per-day rows")


if __name__ == "__main__":
    main()

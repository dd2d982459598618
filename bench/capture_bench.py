"""Benchmark a capture of the demo shop against the same journey clicked through by plain Playwright.

    .venv/bin/python bench/capture_bench.py [--runs 3]

Both start the same Chromium (core.browser), walk core.demo_shop.DEMO_JOURNEY on a local demo shop with
every non-127.0.0.1 request answered locally, and wait for the thank-you page. The reference only clicks;
the capture also records every request, reads the Pixel hits with the HAR importer's parser, builds the
pages, cookies, findings and the HAR, and settles 0.6 s after the last step. Prints the median wall time
of each and their ratio. Goal: the capture within 2x of clicking alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.browser import find_chromium, launch_chromium  # noqa: E402
from core.capture import CaptureOptions, parse_journey, run_capture  # noqa: E402
from core.demo_shop import DEMO_JOURNEY, start_demo_shop  # noqa: E402


def _reference(url: str) -> float:
    """The journey in plain Playwright: same browser, same local answers, nothing recorded."""
    steps = parse_journey(DEMO_JOURNEY)
    started = time.perf_counter()
    with launch_chromium(executable=find_chromium()) as browser:
        context = browser.new_context()
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1")
                      else r.fulfill(status=200, body='{"code":0}'))
        page = context.new_page()
        for step in steps:
            if step.action == "goto":
                page.goto(url + step.target, wait_until="load")
            elif step.action == "click":
                page.click(step.target)
            elif step.action == "fill":
                page.fill(step.target, step.text)
            elif step.action == "wait_for":
                page.wait_for_selector(step.target)
        context.close()
    return time.perf_counter() - started


def _capture(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    result = run_capture(CaptureOptions(url=url, journey=DEMO_JOURNEY, offline=True, idle_seconds=2))
    return time.perf_counter() - started, len(result.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    reference, capture, events = [], [], 0
    with start_demo_shop() as shop:
        for _ in range(args.runs):
            reference.append(_reference(shop.url))
            took, events = _capture(shop.url)
            capture.append(took)
    ref, cap = statistics.median(reference), statistics.median(capture)
    print(f"demo shop journey, median of {args.runs} run(s)")
    print(f"  plain Playwright clicks (reference): {ref:6.2f} s")
    print(f"  capture ({events} Pixel events):" + " " * (17 - len(str(events))) + f"{cap:6.2f} s")
    print(f"  ratio capture / reference:           {cap / ref:6.2f}x (goal: under 2x)")


if __name__ == "__main__":
    main()

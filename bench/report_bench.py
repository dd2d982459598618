"""Speed and size of the audit report from files: prints figures, asserts nothing.

    .venv/bin/python bench/report_bench.py [ORDERS ...]      (default: 5000 20000)

For a demo store month of ORDERS orders, the report from files (dedup + gap, lint of the JSONL, EMQ proxy,
charts, HTML) is timed beside its reference measured in the same run: `tiktok-events dedup` over the same
files (core.dedup.dedup_files) plus `validate` and `quality` over the server file: the three analyses the
report gathers, run one by one. Also the HTML's size (plotly.js
inline is most of it) and, when a browser is found, the PDF print.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.browser import browser_available
from core.dedup import dedup_files
from core.demo import generate_store, write_store
from core.lint import lint_upload
from core.quality import load_quality_input, score_frame
from core.report import build_report, files_material, print_pdf
from core.review import build_review


def _three_commands(pixel: Path, server: Path, orders: Path) -> None:
    """The reference: dedup, validate and quality over the same files, one after the other."""
    dedup_files(pixel, server, orders)
    lint_upload(server.read_text(encoding="utf-8"))
    build_review(score_frame(load_quality_input(server)))


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            files = write_store(generate_store(orders=n, seed=7), tmp)
            pixel, server, orders = files["pixel.csv"], files["server.jsonl"], files["orders.csv"]
            _, ref_s = _timed(_three_commands, pixel, server, orders)
            material, material_s = _timed(files_material, pixel, server, orders)
            page, html_s = _timed(build_report, material)
            total = material_s + html_s
            print(f"{n:>8,} orders ({material.events_checked:,} events): report {total:.2f} s "
                  f"(material {material_s:.2f} s + HTML {html_s:.2f} s) vs dedup+validate+quality {ref_s:.2f} s "
                  f"= {total / ref_s:.2f}x; HTML {len(page.encode()) / 1e6:.1f} MB")
            if browser_available():
                _, pdf_s = _timed(print_pdf, page, Path(tmp) / "r.pdf")
                size = (Path(tmp) / "r.pdf").stat().st_size
                print(f"{'':>8} PDF print {pdf_s:.2f} s ({size / 1e3:.0f} kB) = {pdf_s / ref_s:.2f}x the three")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [5000, 20000])

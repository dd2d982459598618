"""The engine's figures as the app's DedupReport: what the Dedup gap page draws, from files of any size.

The page spools uploads to files (never whole in memory) and calls `file_report`; the figures are
core.engine.dedup_files', the tables small (one page of key verdicts, near misses, segments, daily).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pandas as pd

from core.dedup import KEY_COLUMNS, DedupReport, DedupSummary, empty_near_misses
from core.engine.analysis import VERDICTS, dedup_files
from core.gap import OrderLink, SegmentSource

KEYS_SHOWN: Final = 5_000  # key verdicts listed in the app (the verdict chart counts all of them)


def file_report(pixel: Path, server: Path, orders: Path | None = None, *, link: str = "auto",
                template: str = "ord_{order_id}_purchase", utm_source: str = "tiktok", all_orders: bool = False,
                order_mapping: dict[str, str] | None = None, memory_limit: str | None = None,
                progress: Callable[[str], None] | None = None) -> tuple[DedupReport, dict[str, int]]:
    """(report, key verdict -> count) over the files on DuckDB; `report.keys` holds the first KEYS_SHOWN
    key verdicts, `report.orders` is None. Raises what core.engine.dedup_files raises."""
    doc = dedup_files(pixel, server, orders, link=link, template=template,  # type: ignore[arg-type]
                      utm_source=utm_source, all_orders=all_orders, order_mapping=order_mapping,
                      keys_offset=0, keys_limit=KEYS_SHOWN, memory_limit=memory_limit, progress=progress,
                      near_miss_rows=True, tables=True)
    return DedupReport(summary=_summary(doc), keys=pd.DataFrame(doc["keys"], columns=list(KEY_COLUMNS)),
                       near_misses=doc.get("near_miss_rows", empty_near_misses()),
                       segments=doc.get("segments"), daily=pd.DataFrame(doc["daily"]), orders=None), \
        {v: int(doc["verdicts"].get(v, 0)) for v in VERDICTS}


def _summary(doc: dict[str, Any]) -> DedupSummary:
    fields = {f: doc[f] for f in DedupSummary.__dataclass_fields__ if f in doc
              and f not in ("link", "segment_sources")}
    link = OrderLink(**doc["link"]) if "link" in doc else None
    sources = {k: SegmentSource(**v) for k, v in doc["segment_sources"].items()} if "segment_sources" in doc \
        else None
    return DedupSummary(**fields, link=link, segment_sources=sources)

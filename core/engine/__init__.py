"""The analysis plane: TikTok's dedup rules and the order gap as set-based SQL over files of any size.

One definition of the analysis (core.engine.queries, DuckDB's dialect) runs on DuckDB in-process with
bounded memory, or on Spark (local or Spark Connect) after SQLGlot transpiles it. core.dedup stays the
small-data path and the oracle the engine is tested against.
"""

from typing import Any

from core.engine.analysis import (
    DAILY_FIELDS,
    KEY_FIELDS,
    ORDER_FIELDS,
    SUMMARY_FIELDS,
    VERDICTS,
    Engine,
    LinkMode,
    dedup_files,
)
from core.engine.runner import default_memory_limit, to_spark_sql
from core.links import DEFAULT_TEMPLATE

__all__ = ["DAILY_FIELDS", "DEFAULT_TEMPLATE", "KEY_FIELDS", "ORDER_FIELDS", "SUMMARY_FIELDS", "VERDICTS", "Engine",
           "LinkMode", "dedup_files", "default_memory_limit", "to_spark_sql"]


def __getattr__(name: str) -> Any:
    """`quality_file` (match quality on the engine) is imported when asked for: it loads pandas, which the
    dedup command does not need."""
    if name == "quality_file":
        from core.engine.quality import quality_file

        return quality_file
    raise AttributeError(f"module 'core.engine' has no attribute {name!r}")

"""The analysis plane: TikTok's dedup rules and the order gap as set-based SQL over files of any size.

One definition of the analysis (core.engine.queries, DuckDB's dialect) runs on DuckDB in-process with
bounded memory, or on Spark (local or Spark Connect) after SQLGlot transpiles it. core.dedup stays the
small-data path and the oracle the engine is tested against.
"""

from core.engine.analysis import (
    DAILY_FIELDS,
    KEY_FIELDS,
    ORDER_FIELDS,
    SUMMARY_FIELDS,
    VERDICTS,
    Engine,
    dedup_files,
)
from core.engine.runner import default_memory_limit, to_spark_sql
from core.links import DEFAULT_TEMPLATE, LinkMode

__all__ = ["DAILY_FIELDS", "DEFAULT_TEMPLATE", "KEY_FIELDS", "ORDER_FIELDS", "SUMMARY_FIELDS", "VERDICTS", "Engine",
           "LinkMode", "dedup_files", "default_memory_limit", "to_spark_sql"]


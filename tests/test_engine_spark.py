"""`engine="spark"` gives the default engine's figures: the same SQL, transpiled, on a local Spark session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.engine import dedup_files
from tests.test_dedup import SCENARIOS, frames
from tests.test_engine import write_events

try:
    import pyspark  # noqa: F401

    _missing = "" if shutil.which("java") else "no Java runtime (apt-get install openjdk-17-jre-headless)"
except ImportError:
    _missing = "PySpark is not installed (pip install -e '.[spark]')"

pytestmark = [pytest.mark.spark, pytest.mark.skipif(bool(_missing), reason=_missing or "n/a")]
PICKED = ("deduplicated at exactly 48 h", "repeat measured from the first, not the previous",
          "two occurrences pair in time order", "no event_id on both sides")


@pytest.fixture(scope="module", autouse=True)
def _one_session() -> Iterator[None]:
    """One local Spark session for the module (startup takes 10-20 s); stopped at the end."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield
    session.stop()


def _both(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return dedup_files(*args, **kwargs), dedup_files(*args, engine="spark", **kwargs)


@pytest.mark.parametrize("name", PICKED)
def test_scenarios_on_spark_equal_duckdb(tmp_path: Path, name: str) -> None:
    """The suite's dedup scenarios give the same figures on Spark as on DuckDB."""
    pixel, server, expected = SCENARIOS[name]
    duck, spark = _both(*write_events(tmp_path, *frames(pixel, server)), keys_offset=0, keys_limit=20)
    assert spark == duck
    assert {k: spark[k] for k in expected} == expected


def test_store_month_on_spark_equals_duckdb(tmp_path: Path) -> None:
    """A store month with orders (Shopify export, CSV and JSONL) gives the same figures and daily series."""
    from core.demo import generate_store, write_store

    files = write_store(generate_store(300, seed=5), tmp_path)
    duck, spark = _both(files["pixel.csv"], files["server.jsonl"], files["orders.csv"])
    assert spark == duck
    assert spark["truth"] > 0

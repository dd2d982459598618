"""The two engines behind one small interface: bind the inputs, materialise a query, fetch small results.

DuckDB (the default) runs the analysis' SQL as written, in-process, with a memory limit, a spill
directory and one thread per core. Spark runs the same statements after SQLGlot has transpiled them from
DuckDB's dialect to Spark SQL (a few functions get a Spark spelling below), on a local session or on a
cluster through Spark Connect.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from core.engine.sources import EVENT_ROLES, ORDER_ROLES, Source
from core.errors import InvalidFile, InvalidInput

if TYPE_CHECKING:
    import pandas as pd

# of the machine's RAM, when no memory_limit is given: the analysis spills well (a 10M-key month runs as
# fast in 3 GB as in 12), and a small share leaves the machine to the app and its other users
DEFAULT_MEMORY_SHARE = 0.125


class Runner(Protocol):
    """What the analysis needs from an engine."""

    def bind(self, name: str, source: Source, roles: tuple[str, ...], row_number: bool = False) -> None: ...
    def view(self, name: str, sql: str) -> None: ...
    def table(self, name: str, sql: str) -> None: ...
    def rows(self, sql: str) -> list[dict[str, Any]]: ...
    def frame(self, sql: str) -> pd.DataFrame: ...
    def numbered(self, name: str, sql: str) -> None: ...
    def strings(self, name: str, column: str, values: list[str]) -> None: ...
    def start(self, name: str, sql: str, source_name: str, source: Source, roles: tuple[str, ...]) -> None: ...
    def finish(self, name: str) -> None: ...
    def close(self) -> None: ...


def default_memory_limit() -> str:
    """DEFAULT_MEMORY_SHARE of physical memory, as DuckDB's memory_limit text ("11.7GiB")."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GiB"
    return f"{total * DEFAULT_MEMORY_SHARE / 2**30:.1f}GiB"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_CSV_LINE_RE: Final = re.compile(r"CSV Error on Line: (\d+)")
_CSV_FILE_RE: Final = re.compile(r'\n\s*file = ([^\n]+)|sniffing file "([^"]+)"')


def csv_error(exc: BaseException) -> InvalidFile | None:
    """DuckDB's error for a CSV it cannot read (a line with more or fewer fields than the header, a quote
    left open, bytes that are not UTF-8), as the console's InvalidFile naming the file and the line; None for
    any other error.
    The line's text is not repeated: an orders export holds customers' emails and phones."""
    text = str(exc)
    if "CSV Error" not in text and "sniffing file" not in text:
        return None
    found = _CSV_FILE_RE.search(text)
    name = Path((found.group(1) or found.group(2)).strip()).name if found else "The CSV file"
    line = _CSV_LINE_RE.search(text)
    where = f" (line {int(line.group(1)):,})" if line else ""
    if "Invalid unicode" in text:
        return InvalidFile(f"{name} is not UTF-8 text{where}: a byte there is no UTF-8 character.",
                           hint="Save or export it again as UTF-8 CSV (spreadsheet apps offer 'CSV UTF-8').")
    return InvalidFile(f"{name} is not a readable CSV{where}: a line has more or fewer fields than the header, or "
                       "a quote is left open.",
                       hint="Export it again as comma-separated UTF-8 CSV with a header row, or fix that line "
                            "(each line needs as many fields as the header; quotes come in pairs).")


class DuckDBRunner:
    """DuckDB in memory, bounded: `memory_limit`, spilling to `temp_dir`, threads = cores."""

    def __init__(self, memory_limit: str | None = None, temp_dir: Path | None = None) -> None:
        import duckdb

        self._tmp = None if temp_dir else tempfile.TemporaryDirectory(prefix="tec-engine-")
        spill = Path(temp_dir) if temp_dir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.con = duckdb.connect(":memory:")
        self._readers: list[Any] = []
        self._streams = True  # False on start's sibling connection: it reads no stream
        self._jobs: dict[str, tuple[threading.Thread, list[BaseException], Any]] = {}
        for statement in (f"SET memory_limit = {_literal(memory_limit or default_memory_limit())}",
                          f"SET temp_directory = {_literal(str(spill))}",
                          f"SET threads = {os.cpu_count() or 1}",
                          # row order is never relied on (the one file order needed is numbered in `bind`):
                          # without it DuckDB writes tables in parallel and holds less in memory
                          "SET preserve_insertion_order = false",
                          "SET TimeZone = 'UTC'", "SET enable_progress_bar = false"):
            try:
                self.con.execute(statement)
            except duckdb.Error as exc:
                raise InvalidInput(f"The engine refused a setting: {exc}",
                                   hint="Give memory_limit as e.g. '4GB' and temp_dir as a writable folder.") \
                    from None

    def _scan(self, source: Source) -> str:
        path = _literal(str(source.path))
        if source.kind == "parquet":
            return f"read_parquet({path})"
        from core.engine.sources import file_columns

        header = file_columns(source.path, "csv")
        # every column as text under a name of our own: ids keep leading zeros, odd headers need no quoting
        types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        return (f"read_csv({path}, header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true, "
                f"columns = {{{types}}})")

    def bind(self, name: str, source: Source, roles: tuple[str, ...], row_number: bool = False) -> None:
        """Expose `source` as view `name`: role columns as text (or typed rows from an Arrow stream)."""
        if source.kind == "arrow":
            assert source.batches is not None
            reader = source.batches()
            self._readers.append(reader)
            self.con.register(f"{name}_stream", reader)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_stream")
            return
        if source.kind == "csv":
            from core.engine.sources import file_columns

            position = {h: i for i, h in reversed(list(enumerate(file_columns(source.path, "csv"))))}
            pick = {role: f"c{position[col]}" for role, col in source.columns.items() if col is not None}
        else:
            pick = {role: f"CAST({_quote(col)} AS VARCHAR)" for role, col in source.columns.items()
                    if col is not None}
        select = ", ".join(f"{pick[r]} AS {r}" if r in pick else f"CAST(NULL AS VARCHAR) AS {r}" for r in roles)
        if row_number:  # numbered in file order (a streaming window): read it under _file_order()
            self._run(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                      f"SELECT row_number() OVER () AS rn, {select} FROM {self._scan(source)}")
            return
        self._run(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {select} FROM {self._scan(source)}")

    def _run(self, sql: str) -> Any:
        """Execute `sql`; a reader's error inside a stream scan comes out as itself (core.engine.sources)."""
        import duckdb

        from core.engine.sources import STREAM_ERRORS

        if self._streams:  # start's sibling must not clear the errors of the stream read in parallel
            STREAM_ERRORS.clear()
        try:
            return self.con.execute(sql)
        except duckdb.Error as exc:
            if STREAM_ERRORS and self._streams:
                raise STREAM_ERRORS[-1] from None
            unreadable = csv_error(exc)
            if unreadable is not None:
                raise unreadable from None
            raise

    def view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def table(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    @contextlib.contextmanager
    def _file_order(self) -> Iterator[None]:
        """Scans keep the file's order inside (so row numbers are the lines' positions), for this session."""
        self.con.execute("SET SESSION preserve_insertion_order = true")
        try:
            yield
        finally:
            self.con.execute("SET SESSION preserve_insertion_order = false")

    def rows(self, sql: str) -> list[dict[str, Any]]:
        cur = self._run(sql)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def frame(self, sql: str) -> pd.DataFrame:
        """A small result as a pandas frame."""
        out: pd.DataFrame = self._run(sql).df()
        return out

    def numbered(self, name: str, sql: str) -> None:
        """Table `name`: the rows of `sql` with `rn`, their position in file order (1, 2, ...)."""
        with self._file_order():
            self._run(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT *, row_number() OVER () AS rn FROM ({sql})")

    def strings(self, name: str, column: str, values: list[str]) -> None:
        """Table `name` with one text `column` holding `values`."""
        import pyarrow as pa

        data = pa.table({column: pa.array(values, pa.string())})
        self.con.register(f"{name}_arrow", data)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        self.con.unregister(f"{name}_arrow")

    def start(self, name: str, sql: str, source_name: str, source: Source, roles: tuple[str, ...]) -> None:
        """Materialise `sql` as table `name` on a sibling connection, in a thread, while this one goes on:
        `source` is bound there as `source_name`, numbered in file order (bind's row_number), and read in
        that order. The orders are read while the events are paired (each side of the work alone leaves a
        core idle). `finish(name)` waits for the table and raises its error."""
        sibling = self._sibling()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                sibling.bind(source_name, source, roles, row_number=True)
                with sibling._file_order():  # not a TEMP table: this connection sees it
                    sibling._run(f"CREATE OR REPLACE TABLE {name} AS {sql}")
            except BaseException as exc:  # handed to finish(), which raises it
                errors.append(exc)
            finally:
                sibling.con.close()

        thread = threading.Thread(target=work, name=f"engine-{name}", daemon=True)
        self._jobs[name] = (thread, errors, sibling.con)
        thread.start()

    def _sibling(self) -> DuckDBRunner:
        """A runner on a second connection to this database (its own session; no temp dir, no streams)."""
        sibling = DuckDBRunner.__new__(DuckDBRunner)
        sibling.con, sibling._readers, sibling._jobs, sibling._tmp = self.con.cursor(), [], {}, None
        sibling._streams = False
        return sibling

    def finish(self, name: str) -> None:
        """Wait for `start`'s table `name`; its error, if any, is raised here."""
        job = self._jobs.pop(name, None)
        if job is None:
            return
        job[0].join()
        if job[1]:
            raise job[1][0]

    def close(self) -> None:
        for thread, _errors, cursor in self._jobs.values():  # left running after an error elsewhere
            with contextlib.suppress(Exception):
                cursor.interrupt()
            thread.join()
        self._jobs.clear()
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()


# --- Spark ------------------------------------------------------------------------------------------
def to_spark_sql(sql: str) -> str:
    """A statement of the analysis (DuckDB dialect) in Spark SQL, via SQLGlot.

    Two spellings differ beyond SQLGlot's defaults: epoch(ts) keeps milliseconds (unix_micros / 1e6, not
    unix_timestamp's whole seconds), and try_strptime becomes try_to_timestamp with a Java pattern.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for epoch in list(tree.find_all(exp.TimeToUnix)):
        micros = exp.Anonymous(this="unix_micros", expressions=[exp.cast(epoch.this, "timestamp")])
        epoch.replace(exp.paren(exp.Div(this=micros, expression=exp.Literal.number("1000000.0"))))
    for call in list(tree.find_all(exp.Anonymous)):
        if str(call.this).lower() == "try_strptime":
            call.replace(exp.Anonymous(this="try_to_timestamp", expressions=[
                call.expressions[0], exp.Literal.string("yyyy-MM-dd HH:mm:ss Z")]))
    return str(tree.sql(dialect="spark"))


class SparkRunner:
    """The analysis on Spark: a local session (local[*], UTC) or Spark Connect at `remote`."""

    def __init__(self, remote: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise InvalidInput("engine='spark' needs PySpark.",
                               hint="pip install -e '.[spark]', and Java 17 (openjdk-17-jre-headless).") from None
        builder = SparkSession.builder.appName("tiktok-events-console")
        if remote:
            builder = builder.remote(remote)
        else:
            builder = (builder.master("local[*]").config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", str(max(2, (os.cpu_count() or 1) * 2))))
        self.spark = builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
        self._cached: list[str] = []

    def bind(self, name: str, source: Source, roles: tuple[str, ...], row_number: bool = False) -> None:
        from pyspark.sql import functions as F

        if source.kind == "arrow":
            assert source.batches is not None
            table = source.batches().read_all()
            try:
                df = self.spark.createDataFrame(table)  # Spark 4 takes Arrow tables (no pandas copy)
            except TypeError:  # Spark 3.5 takes pandas frames only
                df = self.spark.createDataFrame(table.to_pandas())
            df.createOrReplaceTempView(name)
            return
        reader = self.spark.read
        if source.kind == "csv":
            df = reader.option("header", True).option("escape", '"').option("multiLine", True).csv(str(source.path))
        else:
            df = reader.parquet(str(source.path))
        cols = [F.col(f"`{source.columns[r]}`").cast("string").alias(r) if source.columns.get(r) is not None
                else F.lit(None).cast("string").alias(r) for r in roles]
        if row_number:
            cols.insert(0, F.monotonically_increasing_id().alias("rn"))
        df.select(*cols).createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(to_spark_sql(sql)).createOrReplaceTempView(name)

    def table(self, name: str, sql: str) -> None:
        self.spark.sql(f"CACHE TABLE {name} AS {to_spark_sql(sql)}")
        self._cached.append(name)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return [row.asDict() for row in self.spark.sql(to_spark_sql(sql)).collect()]

    def frame(self, sql: str) -> pd.DataFrame:
        import pandas as pd

        rows = self.rows(sql)
        return pd.DataFrame(rows) if rows else pd.DataFrame(
            columns=self.spark.sql(to_spark_sql(sql)).columns)

    def numbered(self, name: str, sql: str) -> None:
        """File order as Spark keeps it within a scan (monotonically increasing ids)."""
        self.spark.sql(f"CACHE TABLE {name} AS SELECT *, monotonically_increasing_id() + 1 AS rn "
                       f"FROM ({to_spark_sql(sql)}) a")
        self._cached.append(name)

    def strings(self, name: str, column: str, values: list[str]) -> None:
        self.spark.createDataFrame([(v,) for v in values], f"{column} string").createOrReplaceTempView(name)

    def start(self, name: str, sql: str, source_name: str, source: Source, roles: tuple[str, ...]) -> None:
        """DuckDBRunner.start's contract; Spark schedules its own work, so this runs at once."""
        self.bind(source_name, source, roles, row_number=True)
        self.table(name, sql)

    def finish(self, name: str) -> None:
        """Nothing to wait for (start ran at once)."""

    def close(self) -> None:
        for name in reversed(self._cached):  # a cached view resolves the ones it reads when uncached
            self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
            self.spark.catalog.dropTempView(name)


__all__ = ["EVENT_ROLES", "ORDER_ROLES", "DuckDBRunner", "Runner", "SparkRunner", "default_memory_limit",
           "to_spark_sql"]

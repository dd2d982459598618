"""CSV exports: the one writer every CSV the console hands out goes through.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return)
as a formula: an order id `=HYPERLINK("http://x")` becomes a live link, `@SUM(A1)` a calculation. Text
cells that start so are written with a leading single quote (OWASP "CSV injection"), which every
spreadsheet shows as text. Numeric, boolean and date columns are written as they are, so a real
negative number stays a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = "^[=+\\-@\t\r]"


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would read `text` as a formula (it starts with = + - @ tab or CR)."""
    return text.startswith(FORMULA_TRIGGERS)


def neutralize_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is text a spreadsheet would run as a formula; anything else as is."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def _neutralize_text(arr: Any) -> Any:
    """A pyarrow string array with every formula-like cell prefixed by `'` (vectorised, nulls kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    hits = pc.fill_null(pc.match_substring_regex(arr, _TRIGGER_PATTERN), False)
    if not pc.any(hits).as_py():
        return arr
    return pc.if_else(hits, pc.binary_join_element_wise(pa.scalar("'", arr.type), arr, pa.scalar("", arr.type)), arr)


def _cell_text(value: Any) -> str | None:
    """One cell of a mixed column as text: null stays null, text is neutralized, a number is its digits."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return neutralize_cell(value) if isinstance(value, str) else str(value)


def _column(col: pd.Series) -> Any:
    """One frame column as a pyarrow array: numbers/bools/dates typed, everything else text, neutralized."""
    import pyarrow as pa

    if isinstance(col.dtype, pd.CategoricalDtype):  # codes + categories -> strings in C, not Python
        cats = pa.array([str(v) for v in col.cat.categories], type=pa.string())
        codes = pa.array(col.cat.codes.to_numpy(dtype=np.int32), mask=col.isna().to_numpy())
        return _neutralize_text(pa.DictionaryArray.from_arrays(codes, cats).cast(pa.string()))
    if (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
            or pd.api.types.is_datetime64_any_dtype(col.dtype)):
        return pa.Array.from_pandas(col)
    try:
        arr = pa.Array.from_pandas(col)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: each as its text, numbers untouched
        return pa.array([_cell_text(v) for v in col], type=pa.string())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return _neutralize_text(arr)
    if pa.types.is_null(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) \
            or pa.types.is_boolean(arr.type) or pa.types.is_temporal(arr.type):
        return arr  # an object column that holds only numbers (or nothing): still numbers
    # lists, dicts, bytes...: their text, neutralized like any other text
    return pa.array([_cell_text(v if isinstance(v, str | int | float) else str(v)) for v in arr.to_pylist()],
                    type=pa.string())


def csv_bytes(frame: pd.DataFrame | Mapping[str, Any]) -> bytes:
    """UTF-8 CSV (header row, no index) of `frame`, safe to open in a spreadsheet.

    A mapping is written as `metric,value` rows (a summary). Text cells that start with = + - @ tab or
    CR get a leading `'` so no spreadsheet runs them as formulas; numeric, boolean and date columns are
    left as they are. Written by pyarrow, so a million rows take seconds, not minutes.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if isinstance(frame, Mapping):
        frame = pd.DataFrame({"metric": [str(k) for k in frame],
                              "value": [neutralize_cell(v) for v in frame.values()]})
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"csv_bytes needs unique column names, got {names}")
    columns = [_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    table = pa.table(dict(zip(names, columns, strict=True))) if columns else pa.table({})
    sink = pa.BufferOutputStream()
    if table.num_columns:
        pacsv.write_csv(table, sink)
    return bytes(sink.getvalue().to_pybytes())

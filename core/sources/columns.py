"""Text columns of the import frames, cleaned the way every loader needs, vectorized.

Loaders of Pixel exports, server CSVs and orders read text columns as Arrow-backed strings; this module
is the one place their whitespace handling lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from core.errors import InvalidInput


def stripped(values: pd.Series) -> pd.Series:
    """Text ("" for missing) without surrounding whitespace, exactly as `.str.strip()` gives it.

    A column in which no value starts or ends with whitespace (the usual export) is not rewritten, which
    saves a full copy of a million-row column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.astype("string").fillna("")
    arr = pa.array(text)
    edge = pc.or_(pc.utf8_is_space(pc.utf8_slice_codeunits(arr, 0, 1)),
                  pc.utf8_is_space(pc.utf8_slice_codeunits(arr, -1)))
    return text.str.strip() if pc.any(edge).as_py() else text


def projection(columns: Iterable[str] | None, all_columns: Sequence[str], always: Iterable[str],
               what: str) -> list[str]:
    """The `all_columns` a projected load returns for `columns` (None: all), in `all_columns` order.

    The `always` columns (those that decide which rows are kept) are added; unknown names raise
    InvalidInput naming them and the choices. `what` names the row kind in the message ("server").
    """
    if columns is None:
        return list(all_columns)
    wanted = set(columns)
    unknown = sorted(wanted - set(all_columns))
    if unknown:
        raise InvalidInput(f"Unknown {what} column(s) {', '.join(unknown)}.",
                           hint=f"Pick from {', '.join(all_columns)}.")
    wanted |= set(always)
    return [c for c in all_columns if c in wanted]

"""Text columns of the import frames, cleaned the way every loader needs, vectorized.

Loaders of Pixel exports, server CSVs and orders read text columns as Arrow-backed strings; this module
is the one place their whitespace handling lives.
"""

from __future__ import annotations

import pandas as pd


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

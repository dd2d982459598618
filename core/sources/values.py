"""The lenient value readers every loader, the linter and the builder share: text, number, event time.

One rule each, so a Pixel row, a server row, an order and a lint finding never disagree about a value:
- text: a scalar as the text TikTok compares ("" for null, integral floats without ".0", stripped);
- number: a finite float, NaN for anything else (booleans are not numbers, "99.95" is);
- event time: float UTC epoch seconds. ISO 8601 with or without a zone (naive is UTC, TikTok's zone),
  Shopify's `2026-05-01 00:23:55 +0000`, or an epoch number whose size gives its unit: above 10^11
  milliseconds, above 10^14 microseconds, above 10^17 nanoseconds (seconds there would be after the year
  5138, so the unit is unambiguous).
Column forms (`*_column`) apply the same rule to a whole pandas Series, vectorized.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.contract import MS_TIMESTAMP_THRESHOLD, NS_TIMESTAMP_THRESHOLD, US_TIMESTAMP_THRESHOLD

if TYPE_CHECKING:  # pandas is imported by the column readers only: the linter reads scalars, fast to start
    import pandas as pd

# --- text -------------------------------------------------------------------------------------------


def as_text(value: object, *, strip: bool = True) -> str:
    """A scalar as text ("" for None and containers); integral floats without ".0" (ids arrive as numbers)."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip() if strip else str(value)


def text_column(values: Any, n: int = 0) -> pd.Series:
    """A column as Arrow-backed text with "" for missing; `None` gives `n` blanks (an absent column)."""
    import pandas as pd

    if values is None:
        return pd.Series([""] * n, dtype="string[pyarrow]")
    s = pd.Series(values).reset_index(drop=True)
    if s.dtype != "string[pyarrow]":
        s = s.astype("string[pyarrow]")
    return s.fillna("")


# --- numbers ----------------------------------------------------------------------------------------


def parse_number(value: object) -> float:
    """A finite float from a JSON number or numeric text ("99.95"); NaN for null, booleans, junk, inf, NaN.

    TikTok's Pixel may send `properties.value` as a string; exports hold numbers as text.
    """
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def is_json_number(value: object) -> bool:
    """True for a JSON number the number reader keeps: an int, or a finite float; never a boolean or text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def number_column(values: pd.Series) -> pd.Series:
    """parse_number over a text column (float64, NaN for blanks and junk): Arrow's cast, pandas as fallback."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.utf8_trim_whitespace(pa.array(values.astype("string").fillna(""), from_pandas=True))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        out = pd.Series(arr.cast(pa.float64()), index=values.index).astype("float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # junk in some cells: slower, lenient path
        out = pd.to_numeric(values.astype("string").str.strip(), errors="coerce").astype("float64")
    return out.where(np.isfinite(out))


# --- event time -------------------------------------------------------------------------------------
_ZONE_GAP = re.compile(r"(\d)\s+([+-]\d\d:?\d\d)$")  # Shopify's "... 00:23:55 +0000": drop the space


def epoch_seconds(number: float) -> float:
    """An epoch number in seconds, milliseconds, microseconds or nanoseconds, as seconds (size gives unit)."""
    if number > NS_TIMESTAMP_THRESHOLD:
        return number / 1e9
    if number > US_TIMESTAMP_THRESHOLD:
        return number / 1e6
    if number > MS_TIMESTAMP_THRESHOLD:
        return number / 1e3
    return number


def epoch_unit(number: float) -> str:
    """The unit epoch_seconds reads `number` in: "s", "ms", "us" or "ns"."""
    for threshold, unit in ((NS_TIMESTAMP_THRESHOLD, "ns"), (US_TIMESTAMP_THRESHOLD, "us"),
                            (MS_TIMESTAMP_THRESHOLD, "ms")):
        if number > threshold:
            return unit
    return "s"


def parse_iso_datetime(text: str) -> datetime | None:
    """ISO 8601 date-time text (`Z`, `+00:00`, `+0000`, `2026-05-01 00:23:55 +0000`, a bare date) or None.

    The result keeps the text's zone; it is naive when the text gave none (readers take that as UTC).
    """
    text = _ZONE_GAP.sub(r"\1\2", text.strip())
    if not text or len(text) > 64 or not text[:1].isdigit():
        return None
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None


def parse_time(value: object) -> float:
    """An event time as float UTC epoch seconds; NaN when absent or unreadable (see the module's rule)."""
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        number = parse_number(value)
        if not math.isnan(number):
            return epoch_seconds(number)
        found = parse_iso_datetime(value)
        if found is None:
            return math.nan
        moment = found
    else:
        number = parse_number(value)
        return math.nan if math.isnan(number) else epoch_seconds(number)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return math.nan


def time_column(values: pd.Series) -> pd.Series:
    """parse_time over a column (float64 seconds, NaN where unreadable), vectorized for the common forms.

    Numbers and numeric text take epoch_seconds' unit rule; ISO 8601 text is parsed by pandas; what neither
    reads goes through parse_time once per distinct value, so the rule stays the scalar reader's.
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numeric = values.astype("float64")
        text = None
    else:
        text = values.astype("string")  # to_numeric reads surrounding spaces itself: no stripped copy
        # a column of ISO text skips the numeric pass (slow on text); stray numbers reach parse_time below
        numbers = pd.to_numeric(text.head(1000), errors="coerce").notna().any()
        numeric = (pd.to_numeric(text, errors="coerce").astype("float64") if numbers
                   else pd.Series(np.nan, index=values.index, dtype="float64"))
    numeric = numeric.where(np.isfinite(numeric))
    scale = np.select([numeric > NS_TIMESTAMP_THRESHOLD, numeric > US_TIMESTAMP_THRESHOLD,
                       numeric > MS_TIMESTAMP_THRESHOLD], [1e9, 1e6, 1e3], 1.0)
    out = (numeric / scale).astype("float64")
    if text is None:
        return out
    todo = out.isna() & text.notna() & (text.str.len() > 0)
    if not todo.any():
        return out
    pending = text[todo].str.strip().str.replace(_ZONE_GAP.pattern, r"\1\2", regex=True)
    parsed = pd.to_datetime(pending, utc=True, errors="coerce", format="ISO8601")
    seconds = ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).astype("float64").round(6)
    out.loc[todo] = seconds  # timedelta division drifts by 1 ulp: rounded to the microsecond
    rest = out.isna() & todo
    if rest.any():
        codes, distinct = pd.factorize(text[rest])
        out.loc[rest] = np.asarray([parse_time(v) for v in distinct], dtype="float64")[codes]
    return out


def datetime_column(seconds: pd.Series) -> pd.Series:
    """Float UTC seconds as datetime64[ns, UTC] (NaT where NaN or out of pandas' range)."""
    import pandas as pd

    ns = (seconds.astype("float64") * 1e9).round()
    ns = ns.where(ns.abs() < 9.2e18)  # past pandas' range: no date
    return pd.to_datetime(ns, unit="ns", utc=True).astype("datetime64[ns, UTC]")

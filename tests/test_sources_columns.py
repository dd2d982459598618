"""Text column cleaning shared by the loaders."""

from __future__ import annotations

import pandas as pd
import pytest

from core.sources.columns import stripped


@pytest.mark.parametrize("values", [
    ["a", "b c", ""], [" a", "b"], ["a\u00a0", "b"], ["\u3000a", None], ["a\t\n", "b"], [None, None], [],
])
def test_stripped_equals_str_strip(values: list[str | None]) -> None:
    """The whitespace-free text column equals .str.strip(), whether or not any value needed trimming."""
    series = pd.Series(values, dtype="string")
    pd.testing.assert_series_equal(stripped(series), series.fillna("").str.strip())

"""Every input the console reads, sniffed once and read within limits: HAR, Pixel bodies, server bodies, orders.

    source.py      open_source: a path, bytes or an upload -> Source (format sniffed once, gzip undone)
    limits.py      Limits, JsonGuard, BoundedGzip: nesting, number and text size, inflation, columns
    jsondoc.py     parse_json, parse_json_documents: JSON / JSONL text within the limits
    values.py      the one text, number and event-time reader (scalar and column forms)
    pixel_body.py  a Pixel wire body -> PIXEL_COLUMNS rows; PixelImport, Skipped
    har.py         parse_har: DevTools HARs -> the Pixel events among their requests
    pixel.py       load_pixel_events: HAR / JSON / JSONL / CSV Pixel input
    server.py      load_server_events: v1.3 bodies or CSV -> SERVER_COLUMNS rows
    orders.py      load_orders: store exports -> canonical order columns
    order_columns.py  how an orders header maps to those columns (no pandas: the engine maps without the reader)
    columns.py     text-column cleaning and column projection shared by the loaders

Names are re-exported here lazily: the linter imports the value readers without loading pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Source": "source", "open_source": "source", "sniff": "source",
    "Limits": "limits", "DEFAULT_LIMITS": "limits", "JsonGuard": "limits", "BoundedGzip": "limits",
    "check_json": "jsondoc", "parse_json": "jsondoc", "parse_json_documents": "jsondoc",
    "as_text": "values", "text_column": "values", "parse_number": "values", "number_column": "values",
    "is_json_number": "values", "parse_time": "values", "time_column": "values", "parse_iso_datetime": "values",
    "epoch_seconds": "values", "datetime_column": "values",
    "PIXEL_COLUMNS": "pixel_body", "PixelImport": "pixel_body", "Skipped": "pixel_body",
    "UnusableHit": "pixel_body", "pixel_event_from_body": "pixel_body", "pixel_frame": "pixel_body",
    "frame_records": "pixel_body",
    "parse_har": "har", "decode_analytics_message": "har",
    "load_pixel_events": "pixel", "parse_pixel_json": "pixel", "parse_pixel_csv": "pixel",
    "normalize_pixel_frame": "pixel", "pixel_projection": "pixel",
    "SERVER_COLUMNS": "server", "load_server_events": "server", "load_server_side": "server",
    "server_frame": "server", "server_side": "server", "iter_events": "server", "server_projection": "server",
    "Orders": "orders", "load_orders": "orders", "read_columns": "orders", "REQUIRED": "orders",
}
__all__ = [
    "DEFAULT_LIMITS",
    "PIXEL_COLUMNS",
    "REQUIRED",
    "SERVER_COLUMNS",
    "BoundedGzip",
    "JsonGuard",
    "Limits",
    "Orders",
    "PixelImport",
    "Skipped",
    "Source",
    "UnusableHit",
    "as_text",
    "check_json",
    "datetime_column",
    "decode_analytics_message",
    "epoch_seconds",
    "frame_records",
    "is_json_number",
    "iter_events",
    "load_orders",
    "load_pixel_events",
    "load_server_events",
    "load_server_side",
    "normalize_pixel_frame",
    "number_column",
    "open_source",
    "parse_har",
    "parse_iso_datetime",
    "parse_json",
    "parse_json_documents",
    "parse_number",
    "parse_pixel_csv",
    "parse_pixel_json",
    "parse_time",
    "pixel_event_from_body",
    "pixel_frame",
    "pixel_projection",
    "read_columns",
    "server_frame",
    "server_projection",
    "server_side",
    "sniff",
    "text_column",
    "time_column",
]

if TYPE_CHECKING:
    from core.sources.har import decode_analytics_message, parse_har
    from core.sources.jsondoc import check_json, parse_json, parse_json_documents
    from core.sources.limits import DEFAULT_LIMITS, BoundedGzip, JsonGuard, Limits
    from core.sources.orders import REQUIRED, Orders, load_orders, read_columns
    from core.sources.pixel import (
        load_pixel_events,
        normalize_pixel_frame,
        parse_pixel_csv,
        parse_pixel_json,
        pixel_projection,
    )
    from core.sources.pixel_body import (
        PIXEL_COLUMNS,
        PixelImport,
        Skipped,
        UnusableHit,
        frame_records,
        pixel_event_from_body,
        pixel_frame,
    )
    from core.sources.server import (
        SERVER_COLUMNS,
        iter_events,
        load_server_events,
        load_server_side,
        server_frame,
        server_projection,
        server_side,
    )
    from core.sources.source import Source, open_source, sniff
    from core.sources.values import (
        as_text,
        datetime_column,
        epoch_seconds,
        is_json_number,
        number_column,
        parse_iso_datetime,
        parse_number,
        parse_time,
        text_column,
        time_column,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.sources' has no attribute {name!r}")
    return getattr(import_module(f"core.sources.{module}"), name)

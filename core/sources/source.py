"""One input, sniffed once: a path, bytes or an upload (a binary file object with `.name`) -> a Source.

`open_source` looks at the first bytes (after gzip, which is undone transparently within the limits) and
names the format: "har", "json" (JSON or JSONL), "csv", "empty" or "unknown". The readers (HAR, Pixel
bodies and exports, server bodies, orders) take the Source and read it the way their format needs:
streamed (HAR), as bytes (JSON), or handed to pyarrow (CSV, a plain file straight from disk).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.errors import InvalidFile, LimitExceeded
from core.sources.limits import DEFAULT_LIMITS, BoundedGzip, Limits

SourceInput = str | Path | bytes | IO[bytes]
_HEAD_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_HAR_START = re.compile(rb'\{\s*"log"\s*:')
FORMATS = ("har", "json", "csv")


@dataclass
class Source:
    """A sniffed input: its `name` for messages, `format`, whether it is gzip-compressed, its first bytes."""

    name: str
    format: str
    compressed: bool
    head: bytes
    origin: Any = field(repr=False)
    limits: Limits = DEFAULT_LIMITS

    @property
    def path(self) -> Path | None:
        """The file on disk when the input is a plain (uncompressed) file, for readers that stream paths."""
        return self.origin if isinstance(self.origin, Path) and not self.compressed else None

    def open(self) -> IO[bytes]:
        """A binary stream of the content from its start, decompressed within the limits; close it after."""
        if isinstance(self.origin, Path):
            try:
                raw: IO[bytes] = self.origin.open("rb")
            except OSError as exc:
                raise InvalidFile(f"{self.name} cannot be read ({exc.strerror}).", hint="Check the file.") from None
        elif isinstance(self.origin, bytes):
            raw = io.BytesIO(self.origin)
        else:
            raw = self.origin
            raw.seek(0)
        return BoundedGzip(raw, self.name, self.limits) if self.compressed else raw  # type: ignore[return-value]

    def read_bytes(self) -> bytes:
        """The whole content (decompressed within the limits)."""
        if isinstance(self.origin, bytes) and not self.compressed:
            return self.origin
        stream = self.open()
        try:
            return stream.read()
        finally:
            if stream is not self.origin:
                stream.close()

    def csv_input(self) -> Path | io.BytesIO:
        """What pyarrow's CSV reader takes: the path of a plain file (streamed), else the bytes in memory."""
        return self.path or io.BytesIO(self.read_bytes())

    def header(self) -> list[str]:
        """The CSV header row's names as written; [] for an empty input; LimitExceeded past max_columns."""
        first, newline, _ = self.head.removeprefix(_BOM).partition(b"\n")
        names = next(csv.reader([first.decode("utf-8", errors="replace")]), [])
        if len(names) > self.limits.max_columns:
            count = f"{len(names):,}" if newline else f"more than {len(names):,}"  # the header runs on
            raise LimitExceeded(f"{self.name} has {count} columns (limit max_columns "
                                f"{self.limits.max_columns:,}).", limit="max_columns",
                                hint="Export only the columns the console reads, or check the delimiter.")
        return names

    def require(self, *formats: str, what: str, hint: str) -> None:
        """InvalidFile unless the format is one of `formats`: an empty file, or not `what` ("a CSV file")."""
        if self.format == "empty":
            raise InvalidFile(f"{self.name} is empty.", hint=hint)
        if self.format not in formats:
            found = {"har": "a HAR", "json": "JSON", "csv": "CSV"}.get(self.format)
            raise InvalidFile(f"{self.name} is {found + ', ' if found else ''}not {what}.", hint=hint)


def _origin(source: SourceInput, name: str | None) -> tuple[Any, str]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InvalidFile(f"{path}: no such file.", hint="Check the path.")
        return path, name or path.name
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), name or "input"
    return source, name or str(getattr(source, "name", "") or "upload")


def _first_bytes(origin: Any, name: str, limits: Limits) -> tuple[bytes, bool]:
    if isinstance(origin, Path):
        try:
            with origin.open("rb") as fh:
                raw = fh.read(_HEAD_BYTES)
        except OSError as exc:
            raise InvalidFile(f"{name} cannot be read ({exc.strerror}).", hint="Check the file.") from None
    elif isinstance(origin, bytes):
        raw = origin[:_HEAD_BYTES]
    else:
        origin.seek(0)
        raw = origin.read(_HEAD_BYTES)
        origin.seek(0)
    if not raw.startswith(_GZIP_MAGIC):
        return raw, False
    raw_stream: IO[bytes] = (origin.open("rb") if isinstance(origin, Path)
                             else io.BytesIO(origin) if isinstance(origin, bytes) else origin)
    stream = BoundedGzip(raw_stream, name, limits)
    try:
        return stream.read(_HEAD_BYTES), True
    finally:
        stream.close()
        if raw_stream is origin:
            origin.seek(0)
        else:
            raw_stream.close()


def sniff(head: bytes, name: str) -> str:
    """The format of content starting with `head` (decompressed): har, json, csv, empty or unknown.

    Content decides first (a `{"log":` object is a HAR, `{`/`[` is JSON or JSONL); the extension
    breaks ties (.har, .json/.jsonl/.ndjson, .csv); a first line with a comma reads as CSV.
    """
    parts = name.lower().rsplit(".", 2)
    ext = parts[-2] if len(parts) > 2 and parts[-1] == "gz" else (parts[-1] if len(parts) > 1 else "")
    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not text:
        return "empty"
    if _HAR_START.match(text) or (ext == "har" and text[:1] == b"{"):
        return "har"
    if text[:1] in (b"{", b"["):
        return "json"
    first = text.split(b"\n", 1)[0]
    if ext == "csv" or b"," in first:
        return "csv"
    return "unknown"


def open_source(source: SourceInput | Source, name: str | None = None, *,
                limits: Limits = DEFAULT_LIMITS) -> Source:
    """Sniff an input once: a path, bytes, or a binary file object (Streamlit's UploadedFile: `.name` used).

    Gzip is recognised by its magic bytes and undone within `limits`. Raises InvalidFile for a missing
    path, an unreadable file or a corrupt gzip; the format may be "empty" or "unknown" (readers say which
    formats they take through Source.require).
    """
    if isinstance(source, Source):
        return source
    origin, label = _origin(source, name)
    head, compressed = _first_bytes(origin, label, limits)
    return Source(label, sniff(head, label), compressed, head, origin, limits)

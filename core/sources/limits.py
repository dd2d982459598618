"""Reading limits: what any input file may hold before the console refuses it, checked while it streams.

A hostile or broken file must end in a clear message, never in a traceback, a hang or gigabytes of memory:
- nesting depth (a 200 KB file of nested arrays otherwise costs gigabytes in a streaming parser's paths,
  and Python's json recurses);
- digits in one number (Python refuses integers over 4,300 digits; none of TikTok's fields needs 40);
- one text value's size; the columns of a CSV;
- decompressed size: an absolute cap and a ratio to the compressed bytes, checked as the data inflates,
  so a 1 MB gzip bomb stops after a few megabytes instead of filling memory.
Each violation is a LimitExceeded naming the file, the limit and how to get under it.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from dataclasses import dataclass
from typing import IO

import numpy as np

from core.errors import InvalidFile, LimitExceeded


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits every reader applies (DEFAULT_LIMITS unless a caller passes its own)."""

    max_depth: int = 64  # JSON nesting: a HAR needs 8, an Events API body 6
    max_number_digits: int = 40  # digits in one JSON number (epoch nanoseconds need 19)
    max_string_bytes: int = 64 << 20  # one JSON text value (a HAR's response bodies can be megabytes)
    max_columns: int = 2000  # columns of a CSV
    max_decompressed_bytes: int = 4 << 30  # what a compressed file may inflate to, in all
    max_ratio: int = 200  # inflated / compressed bytes (text compresses 5-20x; bombs 1000x)
    ratio_grace_bytes: int = 32 << 20  # the ratio is judged once this much has inflated


DEFAULT_LIMITS = Limits()

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_TRAILING_NUMBER = re.compile(rb"[0-9.eE+\-]+\Z")
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_SCAN_BYTES = 1 << 20  # the guard scans at least this much at once (long strings are re-scanned per feed)


class JsonGuard:
    """Checks JSON bytes against the limits as they stream past, before a parser builds anything from them.

    `feed(chunk)` each chunk in order and `close()` at the end; both raise LimitExceeded (depth, number
    digits, text size) or InvalidFile (invalid UTF-8, a lone UTF-16 surrogate escape), naming the line.
    """

    def __init__(self, name: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.name, self.limits = name, limits
        self._depth = 0
        self._line = 1
        self._offset = 0
        self._carry = b""
        self._pending = b""
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._long_number = re.compile(rb"[0-9]{%d}" % (limits.max_number_digits + 1))

    def feed(self, data: bytes) -> None:
        """Check the next chunk; a text value or number cut at the chunk's end is checked with the next."""
        self._check_utf8(data, final=False)
        self._pending += data
        if len(self._pending) >= _SCAN_BYTES:
            pending, self._pending = self._pending, b""
            self._scan(pending, final=False)

    def flush(self) -> None:
        """Check everything fed so far (a value cut at the end is still carried to the next chunk)."""
        pending, self._pending = self._pending, b""
        if pending:
            self._scan(pending, final=False)

    def close(self) -> None:
        """Check what is left at the end of the input."""
        self._check_utf8(b"", final=True)
        pending, self._pending = self._pending, b""
        self._scan(pending, final=True)

    def check(self, data: bytes) -> None:
        """feed + close for a whole document held in memory."""
        self.feed(data)
        self.close()

    # -- the checks ---------------------------------------------------------------------------------
    def _check_utf8(self, data: bytes, final: bool) -> None:
        try:
            self._utf8.decode(data, final)
        except UnicodeDecodeError as exc:
            at = self._offset + len(self._pending) + exc.start
            raise InvalidFile(f"{self.name} is not UTF-8 text: byte {at} ({data[exc.start:exc.start + 1]!r}) "
                              "is not valid UTF-8.",
                              hint="Save or export the file as UTF-8 and load it again.") from None

    def _scan(self, data: bytes, final: bool) -> None:
        buf = self._carry + data
        stripped = _STRING.sub(b"", buf)
        keep = 0
        if not final:
            quote = stripped.find(b'"')
            if quote >= 0:  # a text value runs on into the next chunk: carried whole
                keep = len(stripped) - quote
            elif (m := _TRAILING_NUMBER.search(stripped)) is not None:
                keep = len(m.group())
        body = stripped[: len(stripped) - keep]
        complete = buf[: len(buf) - keep]
        self._carry = buf[len(buf) - keep:]
        line = self._line
        self._check_text(complete, line)
        if len(self._carry) > self.limits.max_string_bytes:
            self._fail("max_string_bytes", f"a text value longer than {self.limits.max_string_bytes:,} bytes",
                       line, "Remove the huge value (a response body or an embedded file) from the export.")
        if (m := self._long_number.search(body)) is not None:
            self._fail("max_number_digits", f"a number with more than {self.limits.max_number_digits} digits",
                       line, "Numbers this long are no event field; fix the value or quote it as text.")
        self._check_depth(body, line)
        self._line += complete.count(b"\n")
        self._offset += len(complete)

    def _check_text(self, complete: bytes, line: int) -> None:
        if (m := _LONE_SURROGATE.search(complete)) is not None:
            at = line + complete.count(b"\n", 0, m.start())
            raise InvalidFile(f"{self.name} line {at}: {m.group().decode('ascii').lstrip(chr(92) * 2)!s} is a lone "
                              "UTF-16 surrogate escape, not a character.",
                              hint="Fix the text that wrote half of a character pair (or remove the value).")
        quotes = np.flatnonzero(np.frombuffer(complete, dtype=np.uint8) == 34)
        if len(quotes) > 1 and int(np.diff(quotes).max()) > self.limits.max_string_bytes:
            self._fail("max_string_bytes", f"a text value longer than {self.limits.max_string_bytes:,} bytes",
                       line, "Remove the huge value (a response body or an embedded file) from the export.")

    def _check_depth(self, body: bytes, line: int) -> None:
        if not body:
            return
        arr = np.frombuffer(body, dtype=np.uint8)
        delta = ((arr == 91) | (arr == 123)).astype(np.int32) - ((arr == 93) | (arr == 125))
        running = np.cumsum(delta, dtype=np.int64) + self._depth
        if len(running) and int(running.max()) > self.limits.max_depth:
            self._fail("max_depth", f"values nested more than {self.limits.max_depth} levels deep", line,
                       "Events, bodies and HARs nest a few levels; this file is not one (or is corrupt).")
        self._depth = int(running[-1]) if len(running) else self._depth

    def _fail(self, limit: str, what: str, line: int, hint: str) -> None:
        raise LimitExceeded(f"{self.name} holds {what} (at or after line {line}; limit {limit}).",
                            limit=limit, hint=hint)


class GuardedReader:
    """A binary stream whose bytes pass a JsonGuard before the reader sees them (for parsers such as ijson).

    It reads ahead in steps of a megabyte and checks each step whole, so the parser never gets a byte the
    guard has not judged, and long text values are not re-scanned for every small read.
    """

    def __init__(self, raw: IO[bytes], guard: JsonGuard) -> None:
        self._raw, self._guard = raw, guard
        self._buffer = b""
        self._eof = False
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        want = size if size is not None and size >= 0 else 1 << 62
        while len(self._buffer) < want and not self._eof:
            chunk = self._raw.read(max(_SCAN_BYTES, want if want < 1 << 62 else _SCAN_BYTES))
            if chunk:
                self._guard.feed(chunk)
                self._guard.flush()
                self._buffer += chunk
            else:
                self._eof = True
                self._guard.close()
        data, self._buffer = self._buffer[:want], self._buffer[want:]
        if len(self.head) < 4096:
            self.head += data[: 4096 - len(self.head)]
        return data


class _Counting:
    """Counts the compressed bytes a decompressor pulls from `raw`."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw, self.count = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data


class BoundedGzip:
    """Reads a gzip stream, decompressing as it goes, within the limits' absolute cap and ratio.

    Raises LimitExceeded past either, InvalidFile for a corrupt or cut-off gzip file.
    """

    def __init__(self, raw: IO[bytes], name: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self._counting = _Counting(raw)
        self._gzip = gzip.GzipFile(fileobj=self._counting, mode="rb")  # type: ignore[call-overload]
        self.name, self.limits, self.out = name, limits, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = 1 << 20 if size is None or size < 0 else min(size, 1 << 20)
        if size is None or size < 0:  # read all: in bounded steps, so the limits apply while inflating
            parts = []
            while chunk := self.read(want):
                parts.append(chunk)
            return b"".join(parts)
        try:
            data: bytes = self._gzip.read(want)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidFile(f"{self.name} is not a valid gzip file ({exc}).",
                              hint="The download or copy was probably cut off: compress or export it again.") \
                from None
        self.out += len(data)
        self._check()
        return data

    def _check(self) -> None:
        lim = self.limits
        if self.out > lim.max_decompressed_bytes:
            raise LimitExceeded(f"{self.name} inflates to more than {lim.max_decompressed_bytes:,} bytes "
                                "(limit max_decompressed_bytes).", limit="max_decompressed_bytes",
                                hint="Split the export into smaller files, or give the uncompressed file.")
        if self.out > lim.ratio_grace_bytes and self.out > lim.max_ratio * max(self._counting.count, 1):
            raise LimitExceeded(f"{self.name} inflates more than {lim.max_ratio} times its compressed size "
                                f"({self.out:,} bytes from {self._counting.count:,}; limit max_ratio): it looks "
                                "like a decompression bomb, not an export.", limit="max_ratio",
                                hint="Give the uncompressed file if it is a real export.")

    def close(self) -> None:
        self._gzip.close()

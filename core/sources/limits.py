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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import IO, Any

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

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ESCAPE_LEN = 6  # \uXXXX
_SCAN_BYTES = 1 << 20  # what the streaming reader checks at once
_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1
_SLICE_BYTES = 8 << 20  # a document in memory is checked in slices of this size (bounded scratch arrays)


class JsonGuard:
    """Checks JSON bytes against the limits as they stream past, before a parser builds anything from them.

    `feed(chunk)` each chunk in order (`flush()` to check what was fed at once) and `close()` at the end;
    they raise LimitExceeded (depth, number digits, text size) or InvalidFile (invalid UTF-8, a lone UTF-16
    surrogate escape), naming the line. The scan is vectorized (numpy over the bytes): text values are told
    apart by their unescaped quotes, so brackets and digits inside them never count.
    """

    def __init__(self, name: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.name, self.limits = name, limits
        self._depth = 0
        self._line = 1
        self._offset = 0  # bytes scanned so far
        self._pending = b""
        self._inside = False  # the scan stopped inside a text value
        self._string_start = 0  # ... which opened at this offset
        self._backslashes = 0  # backslashes that ended the last scan
        self._digits = 0  # digits that ended the last scan (outside text)
        self._tail = b""  # the last bytes scanned, for escapes cut at a boundary
        self._checked = 0  # surrogate escapes starting before this offset are checked
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._long_number = re.compile(rb"[0-9]{%d}" % (limits.max_number_digits + 1))

    def feed(self, data: bytes) -> None:
        """Take the next chunk; it is checked once a megabyte has gathered (or at flush / close)."""
        self._check_utf8(data, final=False)
        self._pending += data
        if len(self._pending) >= _SCAN_BYTES:
            self.flush()

    def flush(self) -> None:
        """Check everything fed so far (a text value cut at the end carries on into the next chunk)."""
        pending, self._pending = self._pending, b""
        for start in range(0, len(pending), _SLICE_BYTES):
            self._scan(pending[start:start + _SLICE_BYTES])

    def close(self) -> None:
        """Check what is left at the end of the input."""
        self._check_utf8(b"", final=True)
        self.flush()
        self._check_surrogates(self._tail, len(self._tail), self._offset - len(self._tail))
        self._checked = self._offset
        if self._inside and self._offset - self._string_start > self.limits.max_string_bytes:
            self._too_long(self._string_start)

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

    def _scan(self, data: bytes) -> None:
        arr = np.frombuffer(data, dtype=np.uint8)
        quotes = self._unescaped_quotes(arr)
        self._check_strings(quotes, len(data))
        # runs between quotes alternate outside / inside text (an opening quote counts as inside)
        edges = np.concatenate([[0], quotes, [len(arr)]])
        states = (np.arange(len(edges) - 1) + int(self._inside)) % 2 == 0
        outside_mask = np.repeat(states, np.diff(edges))
        outside = arr[outside_mask]  # structure and numbers only: a small share of most files
        self._check_depth(outside, outside_mask, data)
        self._check_digits(outside, outside_mask, data)
        joined = self._tail + data  # an escape pair cut by the boundary is judged with both halves
        base = self._offset - len(self._tail)
        upto = max(len(joined) - _ESCAPE_LEN * 2, 0)
        self._check_surrogates(joined, upto, base)
        self._checked = max(self._checked, base + upto)
        self._tail = joined[-_ESCAPE_LEN * 4:]
        trailing = len(data) - len(data.rstrip(b"\\"))
        self._backslashes = trailing + (self._backslashes if trailing == len(data) else 0)
        if len(quotes) % 2:
            self._inside = not self._inside
            self._string_start = self._offset + int(quotes[-1])
        self._line += data.count(b"\n")
        self._offset += len(data)

    def _line_of(self, outside_mask: np.ndarray, k: int, data: bytes) -> int:
        """The line of the k-th byte outside text values in `data` (worked out only for a message)."""
        where = int(np.flatnonzero(outside_mask)[k])
        return self._line + data.count(b"\n", 0, where)

    def _unescaped_quotes(self, arr: np.ndarray) -> np.ndarray:
        """Positions of the quotes not escaped by an odd run of backslashes (runs may start in the last scan)."""
        quotes: np.ndarray = np.flatnonzero(arr == 34)
        if not len(quotes):
            return quotes
        pos = quotes - 1
        run = np.zeros(len(quotes), dtype=np.int64)
        active = pos >= 0
        active[active] = arr[pos[active]] == 92
        while active.any():  # one step per backslash of the longest run before a quote
            run += active
            pos -= active
            at_start = active & (pos < 0)
            run[at_start] += self._backslashes  # the run continues from the previous scan
            active &= pos >= 0
            active[active] = arr[pos[active]] == 92
        if quotes[0] == 0:
            run[0] += self._backslashes
        escaped: np.ndarray = run % 2 == 1
        kept: np.ndarray = quotes[~escaped]
        return kept

    def _check_strings(self, quotes: np.ndarray, size: int) -> None:
        edges = self._offset + quotes.astype(np.int64)
        if self._inside:
            edges = np.concatenate([[self._string_start], edges])
        starts, ends = edges[0::2], edges[1::2]
        longest = int((ends - starts[: len(ends)]).max()) if len(ends) else 0
        open_start = int(starts[-1]) if len(starts) > len(ends) else None
        if open_start is not None:
            longest = max(longest, self._offset + size - open_start)
        if longest > self.limits.max_string_bytes:
            self._too_long(open_start if open_start is not None else self._offset)

    def _check_depth(self, outside: np.ndarray, outside_mask: np.ndarray, data: bytes) -> None:
        steps = _DEPTH_STEP[outside]
        brackets = np.flatnonzero(steps)
        if not len(brackets):
            return
        running = np.cumsum(steps[brackets], dtype=np.int64) + self._depth
        if int(running.max()) > self.limits.max_depth:
            first = int(brackets[int(np.argmax(running > self.limits.max_depth))])
            self._fail("max_depth", f"values nested more than {self.limits.max_depth} levels deep",
                       self._line_of(outside_mask, first, data),
                       "Events, bodies and HARs nest a few levels; this file is not one (or is corrupt).")
        self._depth = int(running[-1])

    def _check_digits(self, outside: np.ndarray, outside_mask: np.ndarray, data: bytes) -> None:
        text = outside.tobytes()
        carried = b"0" * self._digits  # a number cut at the last boundary goes on here
        found = self._long_number.search(carried + text)
        if found is not None:
            self._fail("max_number_digits", f"a number with more than {self.limits.max_number_digits} digits",
                       self._line_of(outside_mask, max(found.start() - len(carried), 0), data),
                       "Numbers this long are no event field; fix the value or quote it as text.")
        end_inside = bool(len(outside_mask)) and not bool(outside_mask[-1])
        self._digits = 0 if end_inside else len(text) - len(text.rstrip(b"0123456789")) + (
            self._digits if text.isdigit() else 0)

    def _check_surrogates(self, data: bytes, upto: int, base: int) -> None:
        """Lone surrogate escapes starting before `upto` (later ones are checked with the next scan)."""
        for m in _SURROGATE_ESCAPE.finditer(data, max(self._checked - base, 0), upto + _ESCAPE_LEN * 2):
            if m.start() >= upto:
                break
            high = m.group()[3:4].lower() in b"89ab"
            paired = (_SURROGATE_ESCAPE.match(data, m.end()) is not None and data[m.end() + 3:m.end() + 4]
                      .lower() in b"cdef") if high else (m.start() >= _ESCAPE_LEN and _SURROGATE_ESCAPE.match(
                          data, m.start() - _ESCAPE_LEN) is not None and data[m.start() - 3:m.start() - 2]
                          .lower() in b"89ab")
            if not paired and not (m.start() and data[m.start() - 1:m.start()] == b"\\"):
                at = self._line + data.count(b"\n", 0, m.start()) if base >= self._offset else self._line
                raise InvalidFile(f"{self.name} line {at}: {m.group().decode('ascii')} is a lone UTF-16 "
                                  "surrogate escape, not a character.",
                                  hint="Fix the text that wrote half of a character pair (or remove the value).")

    def _too_long(self, start: int) -> None:
        self._fail("max_string_bytes", f"a text value longer than {self.limits.max_string_bytes:,} bytes "
                   f"(from byte {start:,})", self._line,
                   "Remove the huge value (a response body or an embedded file) from the export.")

    def _fail(self, limit: str, what: str, line: int, hint: str) -> None:
        raise LimitExceeded(f"{self.name} holds {what} (at or after line {line}; limit {limit}).",
                            limit=limit, hint=hint)


_DIGITS = b"0123456789"
_PARSER_DIGITS = 4000  # ijson's C parser crashes on integers past Python's 4,300-digit limit


_OPENERS = re.compile(rb"[\[{]")
_OPENERS_PER_READ = 1024  # the parser builds a path per level; this bounds what one read can cost


def _openers(data: bytes) -> int:
    """How many `[` and `{` bytes `data` holds (0x5B and 0x7B are the only bytes that OR 0x20 gives 0x7B)."""
    import numpy as np

    return int(np.count_nonzero((np.frombuffer(data, np.uint8) | 32) == 123))


class GuardedReader:
    """A binary stream for a streaming parser (ijson) that hands it nothing it cannot survive.

    The parser turns a whole read into events before the nesting check (`guarded_events`) sees any, and it
    builds a path string per level, so a read may open at most 1,024 levels: deeper input arrives in
    pieces and the check stops it a level past the limit. A run of more than 4,000 digits (which crashes
    the C parser) is refused here. `head` keeps the first bytes for messages.
    """

    def __init__(self, raw: IO[bytes], name: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self._raw, self.name, self.limits = raw, name, limits
        self._run = 0  # digits at the end of what was read so far
        self._held = b""
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        if self._held:
            data, self._held = self._held, b""
        else:
            data = self._raw.read(size)
            self._probe_digits(data)
            if len(self.head) < 4096:
                self.head += data[: 4096 - len(self.head)]
        if len(data) > _OPENERS_PER_READ and _openers(data) > _OPENERS_PER_READ:
            for n, found in enumerate(_OPENERS.finditer(data), start=1):
                if n == _OPENERS_PER_READ:
                    data, self._held = data[: found.end()], data[found.end():]
                    break
        return data

    def _probe_digits(self, data: bytes) -> None:
        """Refuse a run of more than _PARSER_DIGITS digits, without a pass over the bytes.

        A run that long holds a byte at a multiple of _PARSER_DIGITS (counted in this read), or it touches
        the read's start or end: so only those places are measured, and the run at the end is carried over.
        """
        limit, n = _PARSER_DIGITS, len(data)
        if not n:
            return
        lead = n - len(data.lstrip(_DIGITS))
        if lead == n:
            self._run += n
            self._check_run(self._run)
            return
        self._check_run(self._run + lead)
        for pos in range(limit, n, limit):
            if 48 <= data[pos] <= 57:
                left = data[max(0, pos - limit):pos]
                right = data[pos:pos + limit + 1]
                self._check_run(len(left) - len(left.rstrip(_DIGITS)) + len(right) - len(right.lstrip(_DIGITS)))
        self._run = n - len(data.rstrip(_DIGITS))

    def _check_run(self, run: int) -> None:
        if run > _PARSER_DIGITS:
            raise LimitExceeded(f"{self.name} holds a number with more than {_PARSER_DIGITS:,} digits (limit "
                                "max_number_digits).", limit="max_number_digits",
                                hint="Numbers this long are no event field; fix the value or quote it as text.")


class _EventGuard:
    """The nesting, number and text limits over ijson's parse events, one event or a whole batch at a time."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits, self.depth = name, limits, 0
        self._big = 10 ** limits.max_number_digits

    def event(self, event: tuple[str, str, Any]) -> None:
        """Check one event (in order: the depth it opens is refused before anything deeper is built)."""
        kind = event[1]
        if kind == "start_map" or kind == "start_array":
            self.depth += 1
            if self.depth > self.limits.max_depth:
                raise LimitExceeded(f"{self.name} holds values nested more than {self.limits.max_depth} levels "
                                    "deep (limit max_depth).", limit="max_depth",
                                    hint="Events, bodies and HARs nest a few levels; this file is not one "
                                         "(or is corrupt).")
        elif kind == "end_map" or kind == "end_array":
            self.depth -= 1
        elif kind == "string" or kind == "map_key":
            if len(event[2]) > self.limits.max_string_bytes:
                raise LimitExceeded(f"{self.name} holds a text value longer than "
                                    f"{self.limits.max_string_bytes:,} characters (limit max_string_bytes).",
                                    limit="max_string_bytes",
                                    hint="Remove the huge value (a response body or an embedded file) from "
                                         "the export.")
        elif kind == "number" and isinstance(event[2], int) and not -self._big < event[2] < self._big:
            raise LimitExceeded(f"{self.name} holds a number with more than {self.limits.max_number_digits} "
                                "digits (limit max_number_digits).", limit="max_number_digits",
                                hint="Numbers this long are no event field; fix the value or quote it as text.")

    def batch(self, events: list[tuple[str, str, Any]]) -> None:
        """Check a read's events with list operations; walk them one by one only when one may fail."""
        steps = [_EVENT_STEP.get(e[1], 0) for e in events]
        deepest = max(accumulate(steps, initial=self.depth))
        longest = max([len(e[2]) for e in events if e[1] == "string" or e[1] == "map_key"], default=0)
        if (deepest > self.limits.max_depth or longest > self.limits.max_string_bytes
                or any(isinstance(v, int) and not -self._big < v < self._big
                       for v in [e[2] for e in events if e[1] == "number"])):
            for event in events:
                self.event(event)
            return
        self.depth += sum(steps)


_EVENT_STEP = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


def guarded_events(events: Iterable[tuple[str, str, Any]], name: str,
                   limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[str, str, Any]]:
    """ijson's parse events, stopped with LimitExceeded past the nesting, number or text limits.

    Nesting is refused at the first level past the limit, before the parser builds anything deeper.
    """
    guard = _EventGuard(name, limits)
    for event in events:
        guard.event(event)
        yield event


def guarded_items(reader: GuardedReader, prefix: str, *, read_size: int = 256 * 1024) -> Iterator[Any]:
    """`ijson.items(reader, prefix)` within the reader's limits, at close to the C parser's own speed.

    Each read is parsed to events in C, checked as a batch (`_EventGuard.batch`) and only then handed to
    the C builder, so nothing past a limit is built; the events never pass through a Python generator.
    Raises ijson's JSONError (IncompleteJSONError) for broken JSON, as `ijson.items` does.
    """
    import ijson
    from ijson.utils import sendable_list

    backend = ijson.get_backend(ijson.backend)
    events: list[tuple[str, str, Any]] = sendable_list()
    found: list[Any] = sendable_list()
    parse = backend.parse_coro(events, use_float=True)
    build = backend.items_basecoro(found, prefix, map_type=None)
    guard = _EventGuard(reader.name, reader.limits)
    done = False
    while not done:
        chunk = reader.read(read_size)
        if chunk:
            parse.send(chunk)
        else:
            parse.close()  # the end of the input: the parser raises here when the JSON is incomplete
            done = True
        if events:
            guard.batch(events)
            for event in events:
                build.send(event)
            events.clear()
        if found:
            yield from found
            found.clear()


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

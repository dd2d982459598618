"""JSON paths as the linter writes them, and the line where each one sits in a JSON text.

Paths: object keys joined with `.`, array elements as `[i]`, keys that are not identifiers as `["a.b"]`;
the body itself is `""`. `locate_paths` maps every path of a JSON text to its line, so a finding can be
pinned to the line of the offending key. `core.lint` re-exports every public name.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Mapping
from typing import Final

_IDENT_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_key(prefix: str, key: str) -> str:
    """The path of object key `key` under `prefix` (`data[0]` + `user` -> `data[0].user`)."""
    key = key if isinstance(key, str) else str(key)  # Python callers may pass non-JSON keys
    seg = key if _IDENT_RE.match(key) else "[" + json.dumps(key, ensure_ascii=False) + "]"
    if not prefix:
        return seg
    return prefix + seg if seg.startswith("[") else f"{prefix}.{seg}"


def join_index(prefix: str, index: int) -> str:
    """The path of array element `index` under `prefix` (`data` + 0 -> `data[0]`)."""
    return f"{prefix}[{index}]"


_SEGMENT_RE: Final = re.compile(r'\.?[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\]')


def parent_path(path: str) -> str:
    """The path one level up (`data[0].user.email[1]` -> `data[0].user.email`); "" at the top."""
    starts = [m.start() for m in _SEGMENT_RE.finditer(path)]
    return path[: starts[-1]] if starts else ""


def path_sort_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for a JSON path; numeric indexes compare as numbers so data[2] sorts before data[10]."""
    return tuple((0, int(m.group(0)[1:-1])) if m.group(0).startswith("[") and m.group(0)[1:-1].isdigit()
                 else (1, m.group(0).lstrip(".")) for m in _SEGMENT_RE.finditer(path))



def pretty_json(body: object) -> str:
    """The body as indented JSON text, the form `locate_paths` and `annotate_json` read."""
    return json.dumps(body, indent=2, ensure_ascii=False)


def locate_paths(pretty_json_text: str) -> dict[str, int]:
    """Map every JSON path in a JSON text to the 1-based line where that key (or array element) starts.

    The body itself is `""` -> line of its first character. Never raises: for text that is not valid
    JSON the paths found before the error are returned.
    """
    text = pretty_json_text
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    out: dict[str, int] = {}
    decoder = json.JSONDecoder()
    skip = re.compile(r"[ \t\r\n]*").match

    def line_of(pos: int) -> int:
        return bisect.bisect_right(line_starts, pos)

    def ws(i: int) -> int:
        return skip(text, i).end()  # type: ignore[union-attr]  # "*" always matches

    def walk(i: int, path: str) -> int:
        i = ws(i)
        if i >= len(text):
            raise ValueError("end of text")
        ch = text[i]
        if ch == "{":
            i = ws(i + 1)
            if i < len(text) and text[i] == "}":
                return i + 1
            while True:
                i = ws(i)
                key, end = decoder.raw_decode(text, i)
                if not isinstance(key, str):
                    raise ValueError("key")
                child = join_key(path, key)
                out.setdefault(child, line_of(i))
                i = ws(end)
                if text[i] != ":":
                    raise ValueError(":")
                i = ws(walk(i + 1, child))
                if text[i] == ",":
                    i += 1
                elif text[i] == "}":
                    return i + 1
                else:
                    raise ValueError(",")
        if ch == "[":
            i = ws(i + 1)
            if i < len(text) and text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = ws(i)
                if i >= len(text):
                    raise ValueError("end of text")
                child = join_index(path, n)
                out.setdefault(child, line_of(i))
                i = ws(walk(i, child))
                n += 1
                if text[i] == ",":
                    i += 1
                elif text[i] == "]":
                    return i + 1
                else:
                    raise ValueError(",")
        _, end = decoder.raw_decode(text, i)
        return int(end)

    start = ws(0)
    if start < len(text):
        out[""] = line_of(start)
        with contextlib.suppress(ValueError, IndexError, RecursionError):  # keep what was found
            walk(start, "")
    return out


def line_for(path: str, located: Mapping[str, int]) -> int:
    """The line of `path`, or of its nearest existing parent (a missing key points at its object)."""
    while path not in located and path:
        path = parent_path(path)
    return located.get(path, 1)


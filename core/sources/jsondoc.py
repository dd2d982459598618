"""JSON and JSONL text read within the limits: every failure is a core error naming the file and the line."""

from __future__ import annotations

import json

from core.errors import InvalidFile, InvalidInput, InvalidPayload
from core.sources.limits import DEFAULT_LIMITS, JsonGuard, Limits


def _as_bytes(data: str | bytes, name: str, error: type[InvalidInput]) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: undecodable bytes smuggled in as text
        raise error(f"{name} holds text that is not valid Unicode at character {exc.start + 1} "
                    f"({data[exc.start]!r}).", hint="Save the text as UTF-8 and give it again.") from None


def check_json(data: str | bytes, name: str = "input", *, limits: Limits = DEFAULT_LIMITS) -> None:
    """Check JSON text against the limits without parsing it (for parsers of their own, such as lint's).

    Raises LimitExceeded (nesting, number digits, text size) or InvalidFile (invalid UTF-8, lone
    surrogates), naming `name` and the line.
    """
    JsonGuard(name, limits).check(_as_bytes(data, name, InvalidFile))


def parse_json(data: str | bytes, name: str = "input", *, limits: Limits = DEFAULT_LIMITS,
               error: type[InvalidInput] = InvalidPayload) -> object:
    """One JSON document, checked against the limits first (JsonGuard); `error` is raised when it is not JSON.

    Limit violations raise LimitExceeded; invalid UTF-8 and lone surrogates raise InvalidFile.
    """
    raw = _as_bytes(data, name, error)
    JsonGuard(name, limits).check(raw)
    return _loads(raw.decode("utf-8-sig"), name, error)


def _loads(text: str, name: str, error: type[InvalidInput], line: int | None = None) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line}, column {exc.colno}" if line else f"line {exc.lineno}, column {exc.colno}"
        raise error(f"{name} is not valid JSON: {exc.msg} at {where}.",
                    hint="Check for a missing comma, quote or bracket near that spot.") from None
    except (ValueError, RecursionError) as exc:  # the guard keeps these out; a last line of defence
        raise error(f"{name} cannot be read as JSON ({exc}).", hint="Check the file's content.") from None


def parse_json_documents(data: str | bytes, name: str = "input", *, limits: Limits = DEFAULT_LIMITS,
                         error: type[InvalidInput] = InvalidPayload) -> list[object]:
    """JSON (one document) or JSONL (one document per line) text or bytes, read within the limits.

    Blank lines in JSONL are skipped; a JSON array stays one document. `error` (InvalidPayload for pasted
    text, InvalidFile for files) names the bad line; limits raise LimitExceeded; invalid UTF-8 and lone
    surrogates raise InvalidFile.
    """
    raw = _as_bytes(data, name, error)
    JsonGuard(name, limits).check(raw)
    text = raw.decode("utf-8-sig").strip()
    if not text:
        raise error(f"{name} is empty.", hint="Paste or upload a v1.3 body, or JSONL of bodies.")
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as first_error:
        lines = text.split("\n")
        if len(lines) == 1:
            raise error(f"{name} is not valid JSON: {first_error.msg} at line {first_error.lineno}, "
                        f"column {first_error.colno}.",
                        hint="Check for a missing comma, quote or bracket near that spot.") from None
        docs: list[object] = []
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if lineno == 1 or not docs:
                    raise error(f"{name} is neither JSON nor JSONL: {first_error.msg} at line "
                                f"{first_error.lineno}, column {first_error.colno}.",
                                hint="Check for a missing comma, quote or bracket near that spot.") from None
                raise error(f"{name} line {lineno} is not valid JSON: {exc.msg} at column {exc.colno}.",
                            hint="JSONL needs one complete JSON document per line.") from None
        return docs
    except (ValueError, RecursionError) as exc:
        raise error(f"{name} cannot be read as JSON ({exc}).", hint="Check the file's content.") from None


__all__ = ["check_json", "parse_json", "parse_json_documents"]

"""Journey files: the steps a headless capture clicks through, checked before any browser starts.

A journey is a JSON list of steps, each an object with exactly one action:
`{"goto": URL}` (absolute, or a path / query resolved against the capture URL), `{"click": CSS}`,
`{"fill": CSS, "text": T}`, `{"wait_for": CSS}`, `{"wait_ms": N}`. `goto`, `click`, `fill` and
`wait_for` may add `"timeout_ms"`. A bad step is an InvalidInput naming its index and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from core.errors import InvalidFile, InvalidInput

ACTIONS: Final = ("goto", "click", "fill", "wait_for", "wait_ms")
MAX_WAIT_MS: Final = 600_000
DEFAULT_TIMEOUT_MS: Final = 15_000
_HINT: Final = ('A journey is a JSON list such as [{"goto": "/?ttclid=abc"}, {"click": "#buy"}, '
                '{"fill": "#email", "text": "a@b.com"}, {"wait_for": "#thanks"}, {"wait_ms": 500}].')


@dataclass(frozen=True, slots=True)
class Step:
    """One journey step: `action` is one of ACTIONS; `target` the URL or CSS selector; `text` for fill."""

    action: str
    target: str = ""
    text: str = ""
    ms: int = 0
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    def as_dict(self) -> dict[str, Any]:
        """The step as it is written in a journey file."""
        if self.action == "wait_ms":
            return {"wait_ms": self.ms}
        out: dict[str, Any] = {self.action: self.target}
        if self.action == "fill":
            out["text"] = self.text
        return out


def _bad(index: int, what: str) -> InvalidInput:
    return InvalidInput(f"Journey step [{index}] {what}", hint=_HINT)


def _number(index: int, key: str, value: object, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= top:
        raise _bad(index, f"has {key} {value!r}: it must be a number of milliseconds from 0 to {top}.")
    return int(value)


def _step(index: int, raw: object) -> Step:
    if isinstance(raw, Step):
        return raw
    if not isinstance(raw, dict):
        raise _bad(index, f"is a JSON {type(raw).__name__}, not an object like {{\"click\": \"#buy\"}}.")
    actions = [k for k in ACTIONS if k in raw]
    if len(actions) != 1:
        found = f"{len(actions)} of them ({', '.join(actions)})" if actions else "none"
        raise _bad(index, f"needs exactly one action of {', '.join(ACTIONS)}; it has {found}.")
    action = actions[0]
    allowed = {action, "timeout_ms", *(("text",) if action == "fill" else ())}
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise _bad(index, f"({action}) has unknown key(s) {', '.join(unknown)}.")
    timeout = _number(index, "timeout_ms", raw.get("timeout_ms", DEFAULT_TIMEOUT_MS), MAX_WAIT_MS)
    if action == "wait_ms":
        return Step("wait_ms", ms=_number(index, "wait_ms", raw["wait_ms"], MAX_WAIT_MS))
    target = raw[action]
    what = "a URL" if action == "goto" else "a CSS selector"
    if not isinstance(target, str) or not target.strip():
        raise _bad(index, f"({action}) needs {what} as a non-empty string, got {target!r}.")
    if action == "goto" and not target.startswith(("http://", "https://", "/", "?", "#")):
        raise _bad(index, f"(goto) {target!r} is not an http(s) URL or a path starting with / or ?.")
    text = raw.get("text", "" if action != "fill" else None)
    if action == "fill" and not isinstance(text, str):
        raise _bad(index, f"(fill) needs \"text\" as a string, got {text!r}.")
    return Step(action, target.strip(), text if isinstance(text, str) else "", timeout_ms=timeout)


def _load(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidFile(f"Journey file {path} does not exist.", hint=_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidFile(f"Journey file {path} cannot be read ({exc.__class__.__name__}).", hint=_HINT) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFile(f"Journey file {path} is not JSON ({exc.msg} at line {exc.lineno}).", hint=_HINT,
                          file=str(path), line=exc.lineno) from None


def parse_journey(obj_or_path: object) -> list[Step]:
    """Steps from a journey (a list of step objects, or a path to a JSON file holding one).

    Raises InvalidInput (InvalidFile for an unreadable file) naming the step index and what is wrong,
    so nothing is started for a journey that cannot run to its end.
    """
    raw = _load(Path(obj_or_path)) if isinstance(obj_or_path, str | Path) else obj_or_path
    if not isinstance(raw, list):
        raise InvalidInput(f"A journey is a JSON list of steps, not a {type(raw).__name__}.", hint=_HINT)
    if not raw:
        raise InvalidInput("The journey has no steps.", hint=_HINT)
    return [_step(i, s) for i, s in enumerate(raw)]

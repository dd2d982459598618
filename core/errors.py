"""The console's exception family: every error carries text a user can act on, and where it happened.

    ConsoleError                 base: `err.message`, `err.hint` (what to do next), `err.file`, `err.line`,
    │                            `err.path` (where); `str(err)` says all of them
    ├── InvalidInput             bad input from a user or a file (CLI exit code 2)
    │   ├── InvalidIdentifier    an email / phone / external_id that cannot be normalized
    │   ├── InvalidPayload       a body that cannot be read as an Events API payload at all
    │   │   └── UnusableHit      a Pixel body that yields no event; `kind` says why (core.sources.pixel_body)
    │   └── InvalidFile          a file that is missing, unreadable or not in a supported format
    │       ├── LimitExceeded    a file past a reading limit (nesting, number or text size, inflation,
    │       │                    columns); `limit` names which (core.sources.limits)
    │       └── MissingOrderColumns  an orders file without a column for a required field; `columns` the file's
    ├── ConfigError              a setting is missing or wrong (no token, no test event code, bad URL)
    │   └── BrowserMissing       no Chromium/Chrome to start for capture or PDF; the hint is the install command
    ├── TikTokRefused            TikTok refused a Marketing API read (stats, pixel list); `code`, `request_id`,
    │                            `usage` (the fix is the caller's input: exit 2) (core.readback)
    └── StoreError               the SQLite store cannot be opened or migrated

Subclasses that carry a record of their own module live beside it and are drawn here; a test keeps this
drawing and the classes in core/ the same, and every class raised or caught somewhere in core/.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of every error the console raises on purpose; the message is user-facing.

    `file` (a name or path), `line` (1-based) and `path` (a JSON path such as `data[3].user`) say where
    the problem is when the error has a place; `str(err)` puts them in front of the message.
    """

    def __init__(self, message: str, *, hint: str | None = None, file: str | None = None,
                 line: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file
        self.line = line
        self.path = path

    @property
    def where(self) -> str:
        """"orders.csv, line 3, at data[0].user" from the context that is set; "" when none is."""
        parts = [self.file or "", f"line {self.line}" if self.line is not None else "",
                 f"at {self.path}" if self.path else ""]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} {self.hint}" if self.hint else text


class InvalidInput(ConsoleError):
    """Input that cannot be used as given; the message names the value and the fix."""


class InvalidIdentifier(InvalidInput):
    """An identifier (email, phone, external_id, ...) that fails TikTok's normalization rules."""

    def __init__(self, kind: str, value: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{kind} {value!r}: {reason}", hint=hint)
        self.kind = kind
        self.value = value
        self.reason = reason


class InvalidPayload(InvalidInput):
    """A body that is not JSON, or not an object / list shaped like an Events API payload."""


class InvalidFile(InvalidInput):
    """A file that is missing, unreadable, or in a format the console does not read."""


class LimitExceeded(InvalidFile):
    """A file past one of the reading limits; `limit` is its name (e.g. "max_depth"), the message says the fix."""

    def __init__(self, message: str, *, limit: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class MissingOrderColumns(InvalidFile):
    """The orders file lacks (or a mapping names no) column for a required field; `columns` are the file's."""

    def __init__(self, message: str, *, hint: str, columns: list[str]) -> None:
        super().__init__(message, hint=hint)
        self.columns = columns


class ConfigError(ConsoleError):
    """A missing or wrong setting (token, test event code, base URL, database path)."""


class BrowserMissing(ConfigError):
    """No browser to start (capture, PDF report): the hint says how to install one (core.browser)."""


class StoreError(ConsoleError):
    """The SQLite store cannot be opened, written or migrated."""

"""The console's exception family: every error carries text a user can act on.

    ConsoleError                 base: `str(err)` is the message, `err.hint` what to do next
    ├── InvalidInput             bad input from a user or a file (CLI exit code 2)
    │   ├── InvalidIdentifier    an email / phone / external_id that cannot be normalized
    │   ├── InvalidPayload       a body that cannot be read as an Events API payload at all
    │   │   └── UnusableHit      a Pixel body that yields no event; `kind` says why (core.sources.pixel_body)
    │   └── InvalidFile          a file that is missing, unreadable or not in a supported format
    │       ├── LimitExceeded    a file past a reading limit (nesting, number or text size, inflation,
    │       │                    columns); `limit` names which (core.sources.limits)
    │       └── MissingOrderColumns  an orders file without a column for a required field; `columns` the file's
    ├── ConfigError              a setting is missing or wrong (no token, no test event code, bad URL)
    ├── TransportError           no usable answer from the Events API after all retries
    └── StoreError               the SQLite store cannot be opened or migrated
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of every error the console raises on purpose; the message is user-facing."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


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


class TransportError(ConsoleError):
    """The Events API could not be reached or gave no usable answer after every retry."""


class StoreError(ConsoleError):
    """The SQLite store cannot be opened, written or migrated."""

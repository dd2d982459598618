"""`tiktok-events`: the command-line twin of the console's pages.

Exit codes (a promise to users' scripts): 0 ok; 1 findings of severity error, rejected or undelivered
events, rejected identifiers; 2 bad input or usage (missing file, not JSON, no token, no test code).
Every subcommand takes `--format json` for machines; text is for people.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from core.errors import ConsoleError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
APP = Path(__file__).resolve().parents[1] / "app.py"


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line hint instead of a traceback (argparse's own code is 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def emit(obj: Any, fmt: str, text: Callable[[Any], str] | None = None, out: TextIO | None = None) -> None:
    """Print `obj` as JSON (`--format json`) or as text made by `text` (JSON when no renderer)."""
    out = out or sys.stdout
    if fmt == "json" or text is None:
        out.write(json.dumps(obj, indent=2 if fmt != "json" else None, ensure_ascii=False, default=str))
        out.write("\n")
    else:
        out.write(text(obj).rstrip("\n") + "\n")


def read_text_arg(path: str) -> str:
    """Text of FILE, or of standard input for '-'; InvalidFile with the fix when unreadable."""
    from core.errors import InvalidFile

    if path == "-":
        return sys.stdin.read()
    p = Path(path)
    if not p.exists():
        raise InvalidFile(f"{path}: no such file.", hint="Check the path, or pass - to read standard input.")
    if p.is_dir():
        raise InvalidFile(f"{path} is a folder, not a file.", hint="Pass a JSON file.")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFile(f"{path} is not UTF-8 text.", hint="Export it as UTF-8 JSON.") from None
    except OSError as exc:
        raise InvalidFile(f"{path}: cannot read ({exc.strerror}).") from None


# --- issue 2: hash / build / validate --------------------------------------------------------------
def cmd_hash(args: argparse.Namespace) -> int:
    """Normalize + SHA-256 each VALUE; exit 1 when any is rejected."""
    from core.identity import hash_identifier

    rows = []
    for value in args.values:
        h = hash_identifier(args.kind, value, args.region)
        rows.append({"input": value, "normalized": h.normalized, "sha256": h.sha256, "error": h.error})

    def text(rs: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{r['input']!r} -> {r['normalized']} -> {r['sha256']}" if r["error"] is None
            else f"{r['input']!r}: rejected: {r['error']}" for r in rs
        )

    emit(rows, args.format, text)
    return EXIT_FINDINGS if any(r["error"] for r in rows) else EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    """Build a v1.3 body from flags (implemented with core.payload)."""
    raise NotImplementedError


def cmd_validate(args: argparse.Namespace) -> int:
    """Lint FILE|-; exit 1 when any finding is an error (implemented with core.lint)."""
    raise NotImplementedError


# --- issue 3: send / outbox / emulator -------------------------------------------------------------
def cmd_send(args: argparse.Namespace) -> int:
    """Send FILE to the Events API (implemented with core.transport + core.store)."""
    raise NotImplementedError


def cmd_outbox(args: argparse.Namespace) -> int:
    """List or retry the outbox (implemented with core.store + core.transport)."""
    raise NotImplementedError


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run the local Events API emulator in the foreground (core.emulator)."""
    raise NotImplementedError


# --- issue 4: pixels / dedup / demo ----------------------------------------------------------------
def cmd_pixels(args: argparse.Namespace) -> int:
    """Print the Pixel events found in a HAR / JSON / JSONL / CSV file (core.pixel)."""
    raise NotImplementedError


def cmd_dedup(args: argparse.Namespace) -> int:
    """Simulate TikTok's deduplication over Pixel + server events (core.dedup)."""
    raise NotImplementedError


def cmd_demo(args: argparse.Namespace) -> int:
    """Write a synthetic store month (core.demo)."""
    raise NotImplementedError


# --- issue 5: quality ------------------------------------------------------------------------------
def cmd_quality(args: argparse.Namespace) -> int:
    """Score every event's match keys with the EMQ proxy (core.quality)."""
    raise NotImplementedError


# --- app -------------------------------------------------------------------------------------------
def cmd_app(args: argparse.Namespace) -> int:
    """Start the Streamlit UI: `tiktok-events app [--server.port N ...]` becomes `streamlit run app.py`."""
    if not APP.is_file():
        raise ConsoleError(f"app.py not found next to core/ ({APP}).", hint="Install with `pip install -e .`.")
    argv = [sys.executable, "-m", "streamlit", "run", str(APP), *args.streamlit_args]
    os.execv(sys.executable, argv)
    return EXIT_OK  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand; names and flags are a public contract."""
    parser = _Parser(prog="tiktok-events", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
        return p

    p = add("hash", cmd_hash, "normalize and SHA-256 hash identifiers")
    p.add_argument("kind", choices=("email", "phone", "external_id"))
    p.add_argument("values", nargs="+", metavar="VALUE")
    p.add_argument("--region", help="default region for national phone numbers, e.g. US, GB")

    p = add("build", cmd_build, "build an Events API v1.3 request body")
    _BUILD_ARGS(p)

    p = add("validate", cmd_validate, "lint an Events API body (FILE or - for stdin)")
    p.add_argument("file", metavar="FILE")

    p = add("send", cmd_send, "send events to the Events API (test mode by default)")
    _SEND_ARGS(p)

    p = add("outbox", cmd_outbox, "events waiting to be accepted by the Events API")
    p.add_argument("action", choices=("list", "retry"))
    p.add_argument("--base-url")
    p.add_argument("--timeout", type=float)

    p = add("emulator", cmd_emulator, "run the local Events API emulator")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--token", help="the access token the emulator accepts")

    p = add("pixels", cmd_pixels, "list the Pixel events in a HAR / JSON / JSONL / CSV file")
    p.add_argument("file", metavar="FILE")

    p = add("dedup", cmd_dedup, "simulate TikTok deduplication of Pixel and server events")
    p.add_argument("--pixel", required=True, metavar="FILE")
    p.add_argument("--server", required=True, metavar="FILE")
    p.add_argument("--orders", metavar="FILE")
    p.add_argument("--details", action="store_true", help="add per-key verdicts")
    _DEDUP_ARGS(p)

    p = add("quality", cmd_quality, "score match keys with the EMQ proxy")
    p.add_argument("file", metavar="FILE")

    p = add("demo", cmd_demo, "write a synthetic store month (orders, Pixel, server events)")
    p.add_argument("--orders", type=int, default=5000)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=7)

    p = sub.add_parser("app", help="start the Streamlit console", add_help=True)
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_app)
    return parser


# Extra flags per subcommand, kept beside their handlers' owners.
def _BUILD_ARGS(p: argparse.ArgumentParser) -> None:
    pass


def _SEND_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--test-event-code", metavar="CODE")
    mode.add_argument("--live", action="store_true", help="send without a test code: events count")
    p.add_argument("--base-url")
    p.add_argument("--timeout", type=float)


def _DEDUP_ARGS(p: argparse.ArgumentParser) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tiktok-events` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConsoleError as exc:
        print(f"tiktok-events {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Peers' request bodies (PostHog's and Segment's TikTok destinations) keep their lint verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.lint import has_errors, lint

PEERS = Path(__file__).parent / "fixtures" / "peers"
NOW = 1767225600 + 3600  # an hour after the bodies' events, so no time finding depends on the day tests run


@pytest.mark.parametrize(("name", "errors", "warnings"), [
    ("posthog_order_completed.json",
     {("user.hash.empty", "data[0].user.phone"), ("user.hash.empty", "data[0].user.first_name"),
      ("user.hash.empty", "data[0].user.last_name")},
     {("event.name.legacy", "data[0].event")}),
    ("segment_purchase.json", set(), set()),
])
def test_peer_bodies_keep_their_verdicts(name: str, errors: set[tuple[str, str]],
                                         warnings: set[tuple[str, str]]) -> None:
    """The hash of an empty value (a template hashing an absent field) is an error; a legacy name a warning;
    a clean peer body has neither."""
    findings = lint(json.loads((PEERS / name).read_text()), now=NOW)
    assert {(f.code, f.path) for f in findings if f.severity == "error"} == errors
    assert {(f.code, f.path) for f in findings if f.severity == "warning"} == warnings
    assert has_errors(findings) == bool(errors)

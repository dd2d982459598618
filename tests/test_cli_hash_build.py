"""CLI `tiktok-events hash` and `tiktok-events build`: output shapes and exit codes."""

from __future__ import annotations

import json

import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.identity import sha256_hex

PIXEL = "C4A1B2C3D4E5F6G7H8I9"
GOLDEN = ["build", "--pixel-code", PIXEL, "--event", "Purchase", "--order-id", "10492",
          "--email", " Alice@Example.com ", "--phone", "+1 213 373 4253", "--value", "129.99",
          "--currency", "usd", "--event-time", "1735689600"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- hash -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "digest"), [
    (["hash", "email", " ALICE_abc@gmail.com "], "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"),
    (["hash", "phone", "(+1)2133734253"], "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"),
    (["hash", "phone", "2133734253", "--region", "US"],
     "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"),
    (["hash", "external_id", "user_123"], "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"),
])
def test_hash_valid(argv: list[str], digest: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`hash` prints TikTok's digests and exits 0; JSON output has input, normalized, sha256, error."""
    code, out, _ = run(argv, capsys)
    assert code == EXIT_OK and digest in out
    code, out, _ = run([*argv, "--format", "json"], capsys)
    [row] = json.loads(out)
    assert code == EXIT_OK and row["sha256"] == digest and row["error"] is None


@pytest.mark.parametrize("argv", [
    ["hash", "email", "alice@example.com", "not-an-email"],
    ["hash", "phone", "2133734253"],  # national number without --region
])
def test_hash_rejected_exits_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Any rejected value makes `hash` exit 1 and say why."""
    code, out, _ = run(argv, capsys)
    assert code == EXIT_FINDINGS and "rejected" in out


def test_hash_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown kind is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["hash", "dob", "2000-01-01"])
    assert exc.value.code == EXIT_USAGE


# --- build ----------------------------------------------------------------------------------------
def test_build_golden_path_text(capsys: pytest.CaptureFixture[str]) -> None:
    """`build` prints the hashed body as JSON on stdout and notes on stderr; exit 0."""
    code, out, err = run(GOLDEN, capsys)
    body = json.loads(out)
    event = body["data"][0]
    assert code == EXIT_OK
    assert (body["event_source_id"], event["event_id"], event["event_time"]) == (PIXEL, "ord_10492_purchase",
                                                                                 1735689600)
    assert event["user"] == {"email": [sha256_hex("alice@example.com")], "phone": [sha256_hex("+12133734253")]}
    assert event["properties"] == {"value": 129.99, "currency": "USD", "order_id": "10492"}
    assert "alice" not in out.lower() and "derived from the order id" in err


def test_build_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` prints body, identifiers, suppressed, rejected and notes."""
    code, out, _ = run([*GOLDEN, "--format", "json", "--test-event-code", "TEST123"], capsys)
    doc = json.loads(out)
    assert code == EXIT_OK
    assert set(doc) == {"body", "identifiers", "suppressed", "rejected", "notes"}
    assert doc["body"]["test_event_code"] == "TEST123"
    assert [(r["kind"], r["normalized"]) for r in doc["identifiers"]] == [("email", "alice@example.com"),
                                                                          ("phone", "+12133734253")]
    assert doc["rejected"] == [] and doc["suppressed"] == []


def test_build_rejected_identifier_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A rejected identifier is left out of the body, explained on stderr, and the exit code is 1."""
    code, out, err = run([*GOLDEN, "--phone", "2133734253", "--email", "nope"], capsys)
    user = json.loads(out)["data"][0]["user"]
    assert code == EXIT_FINDINGS
    assert len(user["email"]) == 1 and len(user["phone"]) == 1
    assert "rejected phone '2133734253'" in err and "region" in err and "rejected email 'nope'" in err


def test_build_region_and_repeatables(capsys: pytest.CaptureFixture[str]) -> None:
    """--region reads national numbers; --content-id repeats into contents with content_type product."""
    code, out, _ = run([*GOLDEN, "--phone", "(213) 373-4253", "--region", "US", "--content-id", "A",
                        "--content-id", "B", "--external-id", "u1", "--external-id", "u2"], capsys)
    event = json.loads(out)["data"][0]
    assert code == EXIT_OK
    assert event["user"]["phone"] == [sha256_hex("+12133734253")]  # duplicate after normalization: once
    assert event["user"]["external_id"] == [sha256_hex("u1"), sha256_hex("u2")]
    assert event["properties"]["contents"] == [{"content_id": "A"}, {"content_id": "B"}]
    assert event["properties"]["content_type"] == "product"


def test_build_consent_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """--ad-user-data DENIED strips identifiers, --ad-personalization DENIED sets LDU, forward adds both."""
    code, out, _ = run([*GOLDEN, "--ad-user-data", "denied", "--ad-personalization", "DENIED",
                        "--forward-consent", "--ip", "203.0.113.7", "--url", "https://s.example/?ttclid=E.C.P.1",
                        "--format", "json"], capsys)
    doc = json.loads(out)
    event = doc["body"]["data"][0]
    assert code == EXIT_OK
    assert event["user"] == {"ip": "203.0.113.7", "ttclid": "E.C.P.1"}
    assert event["limited_data_use"] is True
    assert (event["properties"]["ad_user_data"], event["properties"]["ad_personalization"]) == ("DENIED", "DENIED")
    assert {s["field"] for s in doc["suppressed"]} == {"user.email", "user.phone", "limited_data_use"}


def test_build_pixel_code_from_environment(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Without --pixel-code, TEC_PIXEL_CODE and TEC_TEST_EVENT_CODE are used."""
    monkeypatch.setenv("TEC_PIXEL_CODE", "CENVPIXEL")
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TESTENV")
    code, out, _ = run(["build", "--order-id", "1"], capsys)
    body = json.loads(out)
    assert code == EXIT_OK and (body["event_source_id"], body["test_event_code"]) == ("CENVPIXEL", "TESTENV")


@pytest.mark.parametrize(("extra", "message"), [
    (["--value", "$129.99"], "no currency symbols"),
    (["--event-time", "yesterday"], "ISO 8601"),
    (["--event-id", "alice@example.com"], "email address"),
    (["--event-id-template", "{orderid}"], "unknown placeholder"),
])
def test_build_usage_errors_exit_2(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Unusable flag values exit 2 with a message naming the fix."""
    code, out, err = run([*GOLDEN, *extra], capsys)
    assert code == EXIT_USAGE and out == "" and message in err


def test_build_without_pixel_code_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No Pixel code anywhere is a usage error that says where to find it."""
    code, _, err = run(["build", "--order-id", "1"], capsys)
    assert code == EXIT_USAGE and "--pixel-code" in err


@pytest.mark.parametrize("argv", [
    [*GOLDEN, "--ad-user-data", "MAYBE"],
    [*GOLDEN, "--content-type", "sku"],
])
def test_build_bad_choices_exit_2(argv: list[str]) -> None:
    """argparse rejects bad consent states and content types with exit 2."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == EXIT_USAGE

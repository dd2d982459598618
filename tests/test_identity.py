"""core.identity: TikTok's normalization + SHA-256 rules as input -> expected tables."""

from __future__ import annotations

import hashlib

import pytest

from core.contract import EMPTY_SHA256
from core.errors import InvalidIdentifier
from core.identity import (
    hash_identifier,
    hash_identifiers,
    hash_many,
    is_empty_hash,
    is_sha256,
    normalize,
    normalize_email,
    normalize_external_id,
    normalize_location,
    normalize_name,
    normalize_phone,
    normalize_zip,
    sha256_hex,
)

# TikTok's own reference vectors (contract §2.3): input, normalized, SHA-256.
TIKTOK_VECTORS = [
    ("email", " ALICE_abc@gmail.com ", "alice_abc@gmail.com",
     "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"),
    ("phone", "(+1)2133734253", "+12133734253",
     "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"),
    ("external_id", "user_123", "user_123",
     "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"),
]


@pytest.mark.parametrize(("kind", "raw", "normalized", "digest"), TIKTOK_VECTORS)
def test_tiktok_reference_vectors(kind: str, raw: str, normalized: str, digest: str) -> None:
    """TikTok's published examples normalize and hash to exactly the published digests."""
    h = hash_identifier(kind, raw)
    assert (h.normalized, h.sha256, h.error, h.passthrough) == (normalized, digest, None, False)
    assert hash_many(kind, [raw]) == [digest]


# --- email ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("alice@example.com", "alice@example.com"),
    ("  Alice.Smith+promo@Example.COM\t", "alice.smith+promo@example.com"),  # dots and +tags kept
    ("\nBOB@EXAMPLE.CO.UK\n", "bob@example.co.uk"),
    ("ÄLICE@Bücher.DE", "älice@bücher.de"),  # non-ASCII lower-cased, hashed as UTF-8
    ("o'brien@example.ie", "o'brien@example.ie"),
    ("x@a.b", "x@a.b"),
])
def test_normalize_email_valid(raw: str, expected: str) -> None:
    """Valid addresses are trimmed and lower-cased as a whole, nothing else changes."""
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(("raw", "reason_part"), [
    ("", "empty"),
    ("   ", "empty"),
    ("alice", "0 '@'"),
    ("alice@@example.com", "2 '@'"),
    ("alice@example.com,bob@example.com", "2 '@'"),
    ("alice smith@example.com", "whitespace"),
    ("alice@exa mple.com", "whitespace"),
    ("@example.com", "nothing before"),
    ("alice@localhost", "no dot"),
    ("alice@", "no dot"),
    ("alice@gmail.", "empty part"),
    ("alice@.com", "empty part"),
    ("alice@example..com", "empty part"),
])
def test_normalize_email_invalid(raw: str, reason_part: str) -> None:
    """Bad addresses raise InvalidIdentifier with a reason and a hint."""
    with pytest.raises(InvalidIdentifier) as err:
        normalize_email(raw)
    assert reason_part in err.value.reason
    assert err.value.kind == "email" and err.value.hint


def test_email_non_ascii_is_hashed_as_utf8() -> None:
    """A non-ASCII address hashes the UTF-8 bytes of its lower-cased form."""
    h = hash_identifier("email", "Zoë@Exämple.com")
    assert h.sha256 == hashlib.sha256("zoë@exämple.com".encode()).hexdigest()


# --- phone ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+1 213 373 4253", None, "+12133734253"),
    ("+1 (213) 373-4253", None, "+12133734253"),
    ("tel:+1-213-373-4253", None, "+12133734253"),
    ("2133734253", "US", "+12133734253"),
    ("(213) 373-4253", "us", "+12133734253"),  # region case does not matter
    ("+1 213 373 4253 ext. 12", None, "+12133734253"),  # extension dropped
    ("+12133734253x99", "US", "+12133734253"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("0044 20 7946 0958", None, "+442079460958"),  # 00 = international prefix
    ("(0044) 20 7946 0958", None, "+442079460958"),
    ("0044 20 7946 0958", "US", "+442079460958"),  # the region's reading is invalid: 00 wins
    ("+44 20 7946 0958", "XX", "+442079460958"),  # unknown region is irrelevant with a country code
    ("+49 30 901820", None, "+4930901820"),
    ("030 901820", "DE", "+4930901820"),
    ("+86 138 0013 8000", None, "+8613800138000"),
])
def test_normalize_phone_valid(raw: str, region: str | None, expected: str) -> None:
    """Numbers come out in E.164 with the +, regardless of layout; extensions are dropped."""
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(("raw", "region", "reason_part", "hint_part"), [
    ("", None, "empty", "Leave"),
    ("2133734253", None, "no country code", "region"),  # national without region asks for the region
    ("020 7946 0958", None, "no country code", "region"),
    ("020 7946 0958", "XX", "region 'XX'", "two-letter"),
    ("+999 123456", "US", "unknown country code", "+"),
    ("+1 555 0100", None, "not a valid number", "digits"),
    ("+1 000 000 0000", None, "not a valid number", "digits"),
    ("not a phone", None, "not a phone number", "country code"),
    ("1", None, "not a phone number", "country code"),
])
def test_normalize_phone_invalid(raw: str, region: str | None, reason_part: str, hint_part: str) -> None:
    """Unusable numbers raise InvalidIdentifier saying what is missing and how to fix it."""
    with pytest.raises(InvalidIdentifier) as err:
        normalize_phone(raw, region)
    assert reason_part in err.value.reason
    assert hint_part in (err.value.hint or "")


# --- the other kinds ------------------------------------------------------------------------------
@pytest.mark.parametrize(("func", "raw", "expected"), [
    (normalize_external_id, "  User_123 ", "User_123"),  # case kept
    (normalize_external_id, "a b", "a b"),  # inner spaces kept: TikTok hashes it as given
    (normalize_name, " Mary Ann ", "maryann"),
    (normalize_name, "JOSÉ", "josé"),
    (normalize_zip, "SW1A 1AA", "sw1a1aa"),
    (normalize_zip, "94105-1234", "941051234"),
    (normalize_location, "New York", "newyork"),
    (normalize_location, "Saint-Étienne", "saintétienne"),
    (normalize_location, "U.S.", "us"),
])
def test_normalize_other_kinds_valid(func, raw: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    """external_id is trimmed only; names, zip and locations follow the integration consensus."""
    assert func(raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [
    ("external_id", "   "), ("first_name", " \t "), ("last_name", ""), ("zip_code", " - "),
    ("city", "..."), ("state", ""), ("country", "--"),
])
def test_normalize_other_kinds_invalid(kind: str, raw: str) -> None:
    """Values with nothing left after normalization are rejected, naming their kind."""
    with pytest.raises(InvalidIdentifier) as err:
        normalize(kind, raw)
    assert err.value.kind == kind


def test_normalize_unknown_kind() -> None:
    """An unknown kind is a programming error listing the known kinds."""
    with pytest.raises(ValueError, match="email"):
        normalize("dob", "2000-01-01")
    with pytest.raises(ValueError, match="email"):
        hash_identifier("dob", "2000-01-01")
    with pytest.raises(ValueError, match="email"):
        hash_many("dob", ["2000-01-01"])


# --- already hashed -------------------------------------------------------------------------------
DIGEST = sha256_hex("alice@example.com")


@pytest.mark.parametrize(("raw", "expected"), [
    (DIGEST, True), (DIGEST.upper(), True), (f"  {DIGEST}\n", True),
    (DIGEST[:-1], False), (DIGEST + "0", False), (DIGEST[:-1] + "g", False),
    ("", False), (None, False), (123, False),
])
def test_is_sha256(raw: object, expected: bool) -> None:
    """Exactly 64 hex characters after trimming, any case, is an already-hashed value."""
    assert is_sha256(raw) is expected


@pytest.mark.parametrize("kind", ["email", "phone", "external_id", "first_name", "last_name", "zip_code"])
def test_hashed_input_passes_through_lowercased(kind: str) -> None:
    """A SHA-256 value is lower-cased and never hashed again, for every hashed kind."""
    h = hash_identifier(kind, f" {DIGEST.upper()} ")
    assert (h.sha256, h.normalized, h.passthrough, h.ok) == (DIGEST, DIGEST, True, True)
    assert hash_many(kind, [DIGEST.upper()]) == [DIGEST]


@pytest.mark.parametrize("raw", [DIGEST[:63], DIGEST + "a"])
def test_near_hash_is_treated_as_raw(raw: str) -> None:
    """63 or 65 hex characters are raw values: an external_id is hashed, an email is rejected."""
    assert hash_identifier("external_id", raw).sha256 == sha256_hex(raw)
    assert hash_identifier("email", raw).error is not None


def test_empty_string_hash_is_rejected() -> None:
    """The SHA-256 of "" is a hashing bug upstream: rejected with a hint, never sent."""
    assert is_empty_hash(EMPTY_SHA256.upper()) and not is_empty_hash(DIGEST)
    h = hash_identifier("email", EMPTY_SHA256)
    assert (h.ok, h.sha256, h.passthrough) == (False, None, True) and h.hint
    assert hash_many("email", [EMPTY_SHA256]) == [None]


# --- lists and bulk -------------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "count"), [
    (None, 0), ("", 0), ("a@example.com", 1), (["a@example.com", " ", "", "b@example.com"], 2),
    (("a@example.com", "bad"), 2),
])
def test_hash_identifiers_single_or_list(values: object, count: int) -> None:
    """A single value or a list; blanks are absent (dropped), invalid values are kept as rejections."""
    rows = hash_identifiers("email", values)  # type: ignore[arg-type]
    assert len(rows) == count
    assert all(r.kind == "email" for r in rows)


def test_hash_many_matches_single_path_in_order() -> None:
    """hash_many gives, in order, what hash_identifier gives one by one, None where rejected."""
    values = [" A@Example.com", "bad", DIGEST.upper(), "a@example.com", "bad", EMPTY_SHA256, "x@y.z"]
    assert hash_many("email", values) == [hash_identifier("email", v).sha256 for v in values]
    phones = ["2133734253", "+44 20 7946 0958", "nope", "2133734253"]
    assert hash_many("phone", phones, "US") == [hash_identifier("phone", p, "US").sha256 for p in phones]


def test_hashed_identifier_views() -> None:
    """`sent` is the value on the wire; as_dict has every field for JSON output."""
    h = hash_identifier("city", "New York")
    assert (h.sent, h.normalized, h.ok) == ("newyork", "newyork", True)  # location: not hashed
    d = hash_identifier("email", "bad").as_dict()
    assert set(d) == {"kind", "input", "normalized", "sha256", "error", "hint", "passthrough"}
    assert d["error"] and d["hint"] and d["sha256"] is None


@pytest.mark.parametrize(("kind", "value", "sent"), [("city", " New York ", "newyork"), ("country", "us", "us"),
                                                     ("email", "A@B.co", hashlib.sha256(b"a@b.co").hexdigest())])
def test_sha256_only_ever_holds_a_hash(kind: str, value: str, sent: str) -> None:
    """Unhashed kinds (city, state, country) send their normalized value; `sha256` stays None for them."""
    h = hash_identifier(kind, value)
    assert h.sent == sent
    assert h.sha256 is None if kind in ("city", "country") else h.sha256 == sent

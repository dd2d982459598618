"""Properties of the normalizers (hypothesis): idempotence, invariants, bulk == single."""

from __future__ import annotations

import hashlib

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contract import SHA256_HEX_RE
from core.errors import InvalidIdentifier
from core.identity import (
    hash_identifier,
    hash_many,
    is_sha256,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_zip,
)

_LABEL = st.text(st.characters(categories=("Ll", "Lu", "Nd"), include_characters="-_"), min_size=1,
                 max_size=12)
_LOCAL = st.text(st.characters(categories=("Ll", "Lu", "Nd"), include_characters="._+-'"), min_size=1,
                 max_size=20)
_SPACE = st.sampled_from(["", " ", "\t", "\n ", "\u00a0"])
EMAILS = st.builds(lambda sp1, local, labels, sp2: f"{sp1}{local}@{'.'.join(labels)}{sp2}",
                   _SPACE, _LOCAL, st.lists(_LABEL, min_size=2, max_size=4), _SPACE)
ANY_TEXT = st.text(max_size=40)
HEX64 = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)

FAST = settings(max_examples=150, deadline=None)


@FAST
@given(EMAILS)
def test_email_normalization_is_idempotent_and_lowercase(raw: str) -> None:
    """A well-formed address normalizes to a trimmed lower-case form that normalizes to itself."""
    out = normalize_email(raw)
    assert out == raw.strip().lower()
    assert normalize_email(out) == out
    assert out.count("@") == 1 and not any(ch.isspace() for ch in out)


@FAST
@given(ANY_TEXT)
def test_email_never_crashes_and_result_is_consistent(raw: str) -> None:
    """Any text either normalizes (then the hash is of its UTF-8) or is rejected with a hint."""
    h = hash_identifier("email", raw)
    if h.ok:
        assert h.sha256 is not None and SHA256_HEX_RE.match(h.sha256)
        if not h.passthrough:
            assert h.sha256 == hashlib.sha256(h.normalized.encode("utf-8")).hexdigest()  # type: ignore[union-attr]
    else:
        assert h.sha256 is None and h.hint


@FAST
@given(st.lists(st.one_of(EMAILS, ANY_TEXT, HEX64), max_size=30))
def test_hash_many_equals_hash_identifier(values: list[str]) -> None:
    """The bulk fast path returns exactly what the single-value path sends, in input order."""
    assert hash_many("email", values) == [hash_identifier("email", v).sha256 for v in values]
    assert hash_many("external_id", values) == [hash_identifier("external_id", v).sha256 for v in values]


@FAST
@given(HEX64, _SPACE, _SPACE)
def test_hashed_values_pass_through_once(digest: str, before: str, after: str) -> None:
    """64 hex characters are lower-cased, never hashed again, and a second pass changes nothing."""
    raw = f"{before}{digest}{after}"
    assert is_sha256(raw)
    first = hash_identifier("phone", raw)
    if digest.lower() != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855":
        assert first.sha256 == digest.lower() and first.passthrough
        assert hash_identifier("phone", first.sha256).sha256 == first.sha256  # type: ignore[arg-type]


_REGIONS = st.sampled_from(["US", "GB", "DE", "FR", "BR", "IN", "JP", "AU"])


@FAST
@given(_REGIONS, st.sampled_from([" ", "-", "", "."]))
def test_phone_national_and_international_agree(region: str, sep: str) -> None:
    """A valid national number with its region and the same number in +E.164 normalize alike."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    national = national.replace(" ", sep)
    assert normalize_phone(national, region) == e164
    assert normalize_phone(e164) == e164
    assert normalize_phone(normalize_phone(e164)) == e164  # idempotent


@FAST
@given(ANY_TEXT, st.one_of(st.none(), _REGIONS))
def test_phone_never_crashes(raw: str, region: str | None) -> None:
    """Any text either becomes +digits (E.164) or raises InvalidIdentifier with a hint."""
    try:
        out = normalize_phone(raw, region)
    except InvalidIdentifier as exc:
        assert exc.hint
    else:
        assert out.startswith("+") and out[1:].isdigit() and 8 <= len(out) <= 16


@FAST
@given(ANY_TEXT)
def test_name_and_zip_invariants(raw: str) -> None:
    """Names lose all whitespace and case; zips also lose dashes; both are idempotent."""
    for func in (normalize_name, normalize_zip):
        try:
            out = func(raw)
        except InvalidIdentifier:
            continue
        assert out == out.lower()
        assert not any(ch.isspace() for ch in out) and func(out) == out
        if func is normalize_zip:
            assert "-" not in out

"""Phone numbers and unit ids, normalised by libphonenumber's rules."""

from __future__ import annotations

import pytest

from liftlab.identity import (
    IdentityError,
    normalise_customer_id,
    normalise_phone,
    normalise_units,
    pseudonym,
    resolve_unit_id,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("  +49 30 901820  ", "US", "+4930901820"),
    ],
)
def test_normalise_phone_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is empty"),
        ("call me", "not a phone number"),
        ("12", "not a valid number"),
        ("+1 415 555 26711234", "not"),
        ("+999 1234567", "not"),
    ],
)
def test_normalise_phone_invalid_is_reported_not_guessed(raw: str, reason: str) -> None:
    with pytest.raises(IdentityError) as caught:
        normalise_phone(raw, region="US")
    assert caught.value.field == "phone"
    assert reason in caught.value.reason
    assert raw.strip() == "" or raw not in str(caught.value)


def test_normalise_customer_id_trims_and_refuses_control_characters() -> None:
    assert normalise_customer_id("  cus_42 \t") == "cus_42"
    with pytest.raises(IdentityError, match="control"):
        normalise_customer_id("cus\x0042")
    with pytest.raises(IdentityError, match="longer than 128"):
        normalise_customer_id("x" * 129)
    with pytest.raises(IdentityError, match="empty"):
        normalise_customer_id("   ")


def test_resolve_unit_id_prefers_customer_id_then_phone() -> None:
    assert resolve_unit_id(customer_id="c1", phone="4155552671", region="US") == "c1"
    assert resolve_unit_id(customer_id=" ", phone="4155552671", region="US") == (
        "+14155552671"
    )
    with pytest.raises(IdentityError, match="missing"):
        resolve_unit_id(region="US")


def test_normalise_units_reports_each_row_and_parses_repeats_once() -> None:
    result = normalise_units(
        ["415 555 2671", "bad", "415 555 2671", ""], kind="phone", region="US"
    )
    assert result.unit_ids == ["+14155552671", "", "+14155552671", ""]
    assert result.valid == [True, False, True, False]
    assert result.errors[1] is not None
    assert "not a phone number" in result.errors[1]


def test_pseudonym_is_stable_per_key_and_hides_the_value() -> None:
    token = pseudonym("+14155552671", key=b"k")
    assert token == pseudonym("+14155552671", key=b"k")
    assert token != pseudonym("+14155552671", key=b"other")
    assert "4155552671" not in token

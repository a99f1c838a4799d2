"""Who a unit is: phone normalisation, unit id rules, pseudonyms for logs.

The unit of randomisation is the customer id when it is known, else the
phone number in E.164 form (``+14155550123``). A phone number is parsed with
Google's libphonenumber rules (the ``phonenumbers`` package); a number that
does not parse, or that no numbering plan assigns, is reported as invalid and
never guessed at.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

__all__ = [
    "MAX_UNIT_ID_LENGTH",
    "IdentityError",
    "NormalisedUnits",
    "normalise_customer_id",
    "normalise_phone",
    "normalise_units",
    "pseudonym",
    "resolve_unit_id",
]

MAX_UNIT_ID_LENGTH = 128

_PROCESS_KEY = secrets.token_bytes(32)


class IdentityError(ValueError):
    """A customer id or phone number that cannot name a unit.

    Attributes:
        field: ``unit_id`` or ``phone``.
        reason: What is wrong, in words that can be shown to the user. The
            offending value itself is never part of the message, so the error
            can be logged.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalise_phone(raw: str, *, region: str) -> str:
    """A phone number in E.164 form.

    Args:
        raw: The number as typed: ``(415) 555-2671``, ``+44 20 7946 0958``.
        region: ISO 3166 region assumed when the number has no country code.

    Returns:
        The E.164 form, e.g. ``+14155552671``.

    Raises:
        IdentityError: The number does not parse or is not a valid number.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise IdentityError("phone", "is empty")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise IdentityError("phone", f"is not a phone number ({_why(error)})") from None
    if not phonenumbers.is_valid_number(number):
        raise IdentityError(
            "phone", "is not a valid number in any numbering plan (check its digits)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _why(error: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
            "no valid country code"
        ),
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not made of digits",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(error.error_type, "unreadable")


def normalise_customer_id(raw: str) -> str:
    """A customer id with surrounding white space removed.

    Raises:
        IdentityError: The id is empty, longer than 128 characters, or holds
            control characters.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise IdentityError("unit_id", "is empty")
    if len(text) > MAX_UNIT_ID_LENGTH:
        raise IdentityError(
            "unit_id", f"is longer than {MAX_UNIT_ID_LENGTH} characters"
        )
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise IdentityError("unit_id", "holds control characters")
    return text


def resolve_unit_id(
    *, customer_id: str | None = None, phone: str | None = None, region: str
) -> str:
    """The unit id: the customer id when known, else the E.164 phone.

    Raises:
        IdentityError: Neither is given, or the one used is invalid.
    """
    if customer_id is not None and str(customer_id).strip():
        return normalise_customer_id(str(customer_id))
    if phone is not None and str(phone).strip():
        return normalise_phone(str(phone), region=region)
    raise IdentityError("unit_id", "is missing: give a customer id or a phone")


@dataclass(frozen=True, slots=True)
class NormalisedUnits:
    """Many ids normalised at once, in input order.

    Attributes:
        unit_ids: The unit id per row, ``""`` where the row is invalid.
        errors: None per valid row, else the reason it is invalid.
    """

    unit_ids: list[str]
    errors: list[str | None]

    @property
    def valid(self) -> list[bool]:
        """True per row whose id is usable."""
        return [error is None for error in self.errors]


def normalise_units(
    values: Iterable[object], *, kind: str, region: str
) -> NormalisedUnits:
    """Normalise a column of customer ids (``kind="unit_id"``) or phones.

    Each distinct value is parsed once, so a file that repeats numbers costs
    one parse per number.
    """
    if kind not in ("unit_id", "phone"):
        raise ValueError(f"kind must be 'unit_id' or 'phone', not {kind!r}")

    cache: dict[object, tuple[str, str | None]] = {}
    unit_ids: list[str] = []
    errors: list[str | None] = []
    for value in values:
        found = cache.get(value)
        if found is None:
            found = _normalise_one(value, kind=kind, region=region)
            cache[value] = found
        unit_ids.append(found[0])
        errors.append(found[1])
    return NormalisedUnits(unit_ids=unit_ids, errors=errors)


def _normalise_one(value: object, *, kind: str, region: str) -> tuple[str, str | None]:
    text = value if isinstance(value, str) else ""
    try:
        if kind == "phone":
            return normalise_phone(text, region=region), None
        return normalise_customer_id(text), None
    except IdentityError as error:
        return "", error.reason


def pseudonym(value: str, *, key: bytes | None = None) -> str:
    """A short keyed token that stands for a phone number or id in logs.

    The token is an HMAC-SHA256 prefix, so the same value gives the same
    token under one key without the value being recoverable from it.
    """
    digest = hmac.new(key or _PROCESS_KEY, value.encode(), hashlib.sha256)
    return "u_" + digest.hexdigest()[:12]

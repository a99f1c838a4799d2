"""What each kind of event file holds, and the checks on its values.

The columns are those of the design's event-file table. Values are checked
with pandera schemas; unit ids, phone numbers and times are checked by the
validator itself, because their rules (E.164, a zone on every time) are
liftlab's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

__all__ = ["KINDS", "Kind", "kind_named"]

_TOKEN = r"^[a-z0-9_]{1,32}$"
_ID = r"^[^\x00-\x1f]{1,128}$"


def _text(pattern: str, error: str, *, required: bool = True) -> pa.Column:
    return pa.Column(
        str,
        pa.Check.str_matches(pattern, error=error),
        nullable=not required,
        required=required,
    )


_EVENT_ID = "must be 1 to 128 characters without control characters"
_TOKEN_ERROR = "must be 1 to 32 lowercase letters, digits or underscores"


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of event file.

    Attributes:
        name: ``entries``, ``messages``, ``touches``, ``conversions`` or
            ``customers``.
        table: The store table it loads into.
        key: The columns that identify a row; a repeat is a duplicate.
        required: Columns the file must have (besides the unit).
        optional: Columns it may have.
        times: Time columns, which must carry a zone.
        amounts: Money columns: numbers, 0 or more.
        schema: Checks on the other values.
        open_columns: Whether unknown columns are allowed (customer segments).
    """

    name: str
    table: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    times: tuple[str, ...]
    amounts: tuple[str, ...]
    schema: pa.DataFrameSchema
    open_columns: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        return ("unit_id", "phone", *self.required, *self.optional)


KINDS: dict[str, Kind] = {
    "entries": Kind(
        name="entries",
        table="entries",
        key=("flow", "unit_id"),
        required=("flow", "entered_at"),
        optional=("arm", "variant"),
        times=("entered_at",),
        amounts=(),
        schema=pa.DataFrameSchema(
            {
                "flow": _text(_TOKEN, "must be a flow key"),
                "arm": pa.Column(
                    str,
                    pa.Check.isin(
                        ["exposed", "holdout"], error="must be exposed or holdout"
                    ),
                    nullable=True,
                    required=False,
                ),
                "variant": _text(_TOKEN, _TOKEN_ERROR, required=False),
            }
        ),
    ),
    "messages": Kind(
        name="messages",
        table="messages",
        key=("message_id",),
        required=("message_id", "flow", "sent_at"),
        optional=("delivered_at", "status", "cost", "coupon_code"),
        times=("sent_at", "delivered_at"),
        amounts=("cost",),
        schema=pa.DataFrameSchema(
            {
                "message_id": _text(_ID, _EVENT_ID),
                "flow": _text(_TOKEN, "must be a flow key"),
                "status": _text(_TOKEN, _TOKEN_ERROR, required=False),
                "coupon_code": _text(
                    r"^[^\x00-\x1f]{1,64}$",
                    "must be 1 to 64 characters",
                    required=False,
                ),
            }
        ),
    ),
    "touches": Kind(
        name="touches",
        table="touches",
        key=("touch_id",),
        required=("touch_id", "channel", "kind", "occurred_at"),
        optional=("flow", "campaign", "message_id"),
        times=("occurred_at",),
        amounts=(),
        schema=pa.DataFrameSchema(
            {
                "touch_id": _text(_ID, _EVENT_ID),
                "channel": _text(_TOKEN, _TOKEN_ERROR),
                "kind": pa.Column(
                    str,
                    pa.Check.isin(
                        ["view", "click", "session"],
                        error="must be view, click or session",
                    ),
                ),
                "flow": _text(_TOKEN, "must be a flow key", required=False),
                "campaign": _text(
                    r"^[^\x00-\x1f]{1,200}$",
                    "must be 1 to 200 characters",
                    required=False,
                ),
                "message_id": _text(_ID, _EVENT_ID, required=False),
            }
        ),
    ),
    "conversions": Kind(
        name="conversions",
        table="conversions",
        key=("conversion_id",),
        required=("conversion_id", "occurred_at", "type", "value"),
        optional=("channel", "coupon_code"),
        times=("occurred_at",),
        amounts=("value",),
        schema=pa.DataFrameSchema(
            {
                "conversion_id": _text(_ID, _EVENT_ID),
                "type": _text(_TOKEN, _TOKEN_ERROR),
                "channel": _text(_TOKEN, _TOKEN_ERROR, required=False),
                "coupon_code": _text(
                    r"^[^\x00-\x1f]{1,64}$",
                    "must be 1 to 64 characters",
                    required=False,
                ),
            }
        ),
    ),
    "customers": Kind(
        name="customers",
        table="customers",
        key=("unit_id",),
        required=(),
        optional=("sms_consent",),
        times=(),
        amounts=(),
        schema=pa.DataFrameSchema(
            {
                "sms_consent": pa.Column(
                    str,
                    pa.Check.isin(
                        ["true", "false", "yes", "no", "1", "0", "t", "f", "y", "n"],
                        error="must be true or false (or yes/no, 1/0)",
                    ),
                    nullable=True,
                    required=False,
                ),
            }
        ),
        open_columns=True,
    ),
}


def kind_named(name: str) -> Kind:
    """The kind of that name.

    Raises:
        ValueError: An unknown kind, with the allowed ones.
    """
    try:
        return KINDS[name]
    except KeyError:
        allowed = ", ".join(KINDS)
        raise ValueError(f"KIND: '{name}' is not one of {allowed}") from None

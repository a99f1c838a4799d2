"""Request and response bodies of the HTTP API.

These are API schemas, apart from the store's tables. They check the shape
of a request (types, required fields, list sizes); the values themselves
(unit ids, phone numbers, times, amounts) are checked by the same code that
checks them everywhere else: :mod:`liftlab.identity` and the importer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_BATCH",
    "AssignBatchRequest",
    "AssignRequest",
    "Assignment",
    "ConversionEvent",
    "ConversionsPost",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "EventsAccepted",
    "FlowSummary",
    "Flows",
    "GlobalHoldout",
    "Health",
    "MessageEvent",
    "MessagesPost",
    "Readiness",
    "Text",
    "TouchEvent",
    "TouchesPost",
    "event_rows",
]

MAX_BATCH = 10_000


def _storable(text: str) -> str:
    # A NUL or a lone surrogate cannot be stored in PostgreSQL or encoded as
    # UTF-8; refuse it here rather than fail in the store.
    if "\x00" in text:
        raise ValueError("must not hold a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (a lone surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_storable)]
FlowKey = Annotated[Text, Field(min_length=1, max_length=64, examples=["winback"])]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """One problem of a request: where, and what is wrong."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """An error: a stable code for programs, a message for people."""

    code: str = Field(examples=["unknown_flow"])
    message: str
    field: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    error: ErrorBody


class AssignRequest(_Request):
    """One unit entering one flow: a customer id, or a phone number."""

    flow: FlowKey
    unit_id: Text | None = Field(
        default=None, description="The customer id.", examples=["cus_42"]
    )
    phone: Text | None = Field(
        default=None,
        description="A phone number, used when there is no customer id; "
        "normalised to E.164, which becomes the unit.",
        examples=["+14155552671"],
    )

    @model_validator(mode="after")
    def _one_unit(self) -> AssignRequest:
        if (self.unit_id is None) == (self.phone is None):
            raise ValueError("give exactly one of unit_id and phone")
        return self


class AssignBatchRequest(_Request):
    """Many units entering one flow, as customer ids or as phone numbers."""

    flow: FlowKey
    unit_ids: list[Text] | None = Field(default=None, max_length=MAX_BATCH)
    phones: list[Text] | None = Field(default=None, max_length=MAX_BATCH)
    skip_invalid: bool = Field(
        default=False,
        description="Answer an invalid id as excluded (reason invalid_id) "
        "instead of refusing the whole batch.",
    )

    @model_validator(mode="after")
    def _one_list(self) -> AssignBatchRequest:
        if (self.unit_ids is None) == (self.phones is None):
            raise ValueError("give exactly one of unit_ids and phones")
        return self

    @property
    def units(self) -> list[str]:
        """The units as given, ids or phones."""
        return self.unit_ids if self.unit_ids is not None else self.phones or []


class Assignment(BaseModel):
    """The decision for one unit, and whether to send."""

    flow: str
    unit_id: str = Field(description="The unit: the customer id or E.164 phone.")
    arm: Literal["exposed", "holdout", "excluded"]
    send: bool
    reason: Literal[
        "outside_holdout", "global_holdout", "flow_holdout", "no_consent", "invalid_id"
    ]
    bucket: float | None = Field(
        ge=0, lt=1, description="The deciding bucket; null when excluded."
    )
    flow_version: int


class _Event(_Request):
    unit_id: Text | None = None
    phone: Text | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> _Event:
        if self.unit_id is None and self.phone is None:
            raise ValueError("give unit_id or phone")
        return self


class MessageEvent(_Event):
    """A text sent by a flow."""

    message_id: Text
    flow: Text
    sent_at: Text = Field(description="ISO 8601 with a zone.")
    delivered_at: Text | None = None
    status: Text | None = None
    cost: float | None = None
    coupon_code: Text | None = None


class TouchEvent(_Event):
    """A marketing interaction: an SMS view or click, an e-mail, a session."""

    touch_id: Text
    channel: Text = Field(examples=["sms", "email", "paid_search"])
    kind: Text = Field(description="view, click or session.")
    occurred_at: Text = Field(description="ISO 8601 with a zone.")
    flow: Text | None = None
    campaign: Text | None = None
    message_id: Text | None = None


class ConversionEvent(_Event):
    """A purchase, sign-up, renewal or booking."""

    conversion_id: Text
    occurred_at: Text = Field(description="ISO 8601 with a zone.")
    type: Text = Field(examples=["purchase"])
    value: float
    channel: Text | None = None
    coupon_code: Text | None = None


class EventsAccepted(BaseModel):
    """What an event post did; a repeated event id is skipped, not an error."""

    kind: str
    received: int
    inserted: int
    duplicates: int


class FlowSummary(BaseModel):
    """A flow as the API shows it."""

    key: str
    name: str
    stage: str | None
    holdout_percent: float
    salt: str
    version: int
    epoch: int
    assignment: str
    conversion_type: str | None
    window_hours: float | None
    starts_at: datetime | None
    ends_at: datetime | None
    entries: dict[str, int] = Field(description="Entries per arm, current epoch.")


class GlobalHoldout(BaseModel):
    """The global holdout, checked before every flow."""

    holdout_percent: float
    salt: str


class Flows(BaseModel):
    """Every flow, and the global holdout if one is configured."""

    flows: list[FlowSummary]
    global_holdout: GlobalHoldout | None


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    """The store answers and its schema is the one this liftlab needs."""

    status: Literal["ready"]
    schema_revision: str


class MessagesPost(_Request):
    """Texts sent, up to 10,000 in one request."""

    events: list[MessageEvent] = Field(min_length=1, max_length=MAX_BATCH)


class TouchesPost(_Request):
    """Touches, up to 10,000 in one request."""

    events: list[TouchEvent] = Field(min_length=1, max_length=MAX_BATCH)


class ConversionsPost(_Request):
    """Conversions, up to 10,000 in one request."""

    events: list[ConversionEvent] = Field(min_length=1, max_length=MAX_BATCH)


def event_rows(events: list[Any]) -> list[dict[str, Any]]:
    """Events as importer rows: the given fields only."""
    return [event.model_dump(exclude_none=True) for event in events]

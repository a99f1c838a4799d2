"""Events from automation tools: texts sent, touches and conversions.

``POST /v1/events/messages``, ``/touches`` and ``/conversions`` take up to
10,000 events and load them through the file importer: the same checks (the
event index, field and reason of every bad value), the same all-or-nothing
transaction and the same idempotency (a repeated event id is skipped and
counted, so a retried request is harmless). Scope: ``ingest``.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from liftlab.api.auth import require
from liftlab.api.entry_log import with_retries
from liftlab.api.errors import error_responses
from liftlab.api.schemas import (
    ConversionsPost,
    EventsAccepted,
    MessagesPost,
    TouchesPost,
    event_rows,
)
from liftlab.ingest import import_frame
from liftlab.store.keys import KeyRecord, Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/events", tags=["events"])

_ERRORS = error_responses(401, 403, 413, 422)
Ingesting = Annotated[KeyRecord, Depends(require(Scope.INGEST))]


@router.post(
    "/messages",
    response_model=EventsAccepted,
    responses=_ERRORS,
    summary="Record texts sent by flows",
)
def post_messages(body: MessagesPost, request: Request, key: Ingesting) -> Any:
    """Texts sent: ``message_id``, ``flow``, the unit, ``sent_at``; optionally
    ``delivered_at``, ``status``, ``cost``, ``coupon_code``."""
    return _ingest(request, "messages", body, key)


@router.post(
    "/touches",
    response_model=EventsAccepted,
    responses=_ERRORS,
    summary="Record marketing touches",
)
def post_touches(body: TouchesPost, request: Request, key: Ingesting) -> Any:
    """Touches: ``touch_id``, the unit, ``channel``, ``kind`` (view, click or
    session), ``occurred_at``; optionally ``flow``, ``campaign``,
    ``message_id``."""
    return _ingest(request, "touches", body, key)


@router.post(
    "/conversions",
    response_model=EventsAccepted,
    responses=_ERRORS,
    summary="Record conversions",
)
def post_conversions(body: ConversionsPost, request: Request, key: Ingesting) -> Any:
    """Conversions: ``conversion_id``, the unit, ``occurred_at``, ``type``,
    ``value``; optionally ``channel``, ``coupon_code``."""
    return _ingest(request, "conversions", body, key)


def _ingest(request: Request, kind: str, body: BaseModel, key: KeyRecord) -> Any:
    events = body.events  # type: ignore[attr-defined]
    frame = pd.DataFrame(event_rows(events))
    summary = with_retries(
        lambda: import_frame(
            request.app.state.engine,
            kind,
            frame,
            source=f"api key {key.key_id}",
            actor=f"api:{key.name}",
            region=request.app.state.settings.default_region,
        )
    )
    return EventsAccepted(
        kind=kind,
        received=summary.rows_read,
        inserted=summary.inserted,
        duplicates=summary.duplicates,
    )

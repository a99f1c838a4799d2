"""Liveness and readiness, open to all: they reveal no data.

``GET /v1/health`` says the process answers; ``GET /v1/ready`` also checks
that the store answers and that its schema is the revision this liftlab
needs, and answers 503 ``not_ready`` when either is not so.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from liftlab import __version__
from liftlab.api.errors import ApiError, error_responses
from liftlab.api.schemas import Health, Readiness
from liftlab.store.migrate import schema_state

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=Health, summary="The process answers")
async def get_health() -> Any:
    """Always ``ok`` while the process serves requests."""
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Readiness,
    responses=error_responses(503),
    summary="The store answers and its schema is current",
)
def get_ready(request: Request) -> Any:
    """``ready`` when the store can be queried and is at the newest schema."""
    try:
        state = schema_state(request.app.state.engine)
    except SQLAlchemyError as error:
        raise ApiError(
            "not_ready", f"the store cannot be reached ({type(error).__name__})"
        ) from None
    if not state.up_to_date:
        raise ApiError(
            "not_ready",
            f"the store is at schema {state.current}; this liftlab needs "
            f"{state.head} (run liftlab db upgrade)",
        )
    return Readiness(status="ready", schema_revision=state.head)

"""Flows and their results: ``GET /v1/flows`` and
``GET /v1/flows/{key}/report``. Scope: ``read``."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlmodel import Session

from liftlab.api.auth import require
from liftlab.api.errors import error_responses
from liftlab.api.schemas import FlowKey, Flows, FlowSummary, GlobalHoldout
from liftlab.reporting import jsonable
from liftlab.results import build_reports
from liftlab.store.entries import entry_counts
from liftlab.store.flows import get_flow, list_flows
from liftlab.store.keys import Scope
from liftlab.warehouse import connect

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/flows", tags=["flows"], dependencies=[Depends(require(Scope.READ))]
)


@router.get(
    "",
    response_model=Flows,
    responses=error_responses(401, 403),
    summary="List flows, their holdouts and entries",
)
def get_flows(request: Request) -> Any:
    """Every flow with its holdout, salt, version, epoch and entries per arm,
    and the global holdout. The salt is public by design: with it, any
    GrowthBook SDK reproduces liftlab's assignments."""
    with Session(request.app.state.engine) as session:
        rows = list_flows(session)
        counts = entry_counts(session)
    flows = []
    global_holdout = None
    for flow in rows:
        if flow.kind == "global":
            global_holdout = GlobalHoldout(
                holdout_percent=flow.holdout_percent, salt=flow.salt
            )
            continue
        flows.append(
            FlowSummary(
                key=flow.key,
                name=flow.name,
                stage=flow.stage,
                holdout_percent=flow.holdout_percent,
                salt=flow.salt,
                version=flow.version,
                epoch=flow.epoch,
                assignment=flow.assignment,
                conversion_type=flow.conversion_type,
                window_hours=flow.window_hours,
                starts_at=flow.starts_at,
                ends_at=flow.ends_at,
                entries={
                    arm: count
                    for (key, arm), count in counts.items()
                    if key == flow.key
                },
            )
        )
    return Flows(flows=flows, global_holdout=global_holdout)


@router.get(
    "/{key}/report",
    response_model=dict[str, Any],
    responses=error_responses(401, 403, 404, 409, 422, 503),
    summary="A flow's lift report",
)
def get_report(
    request: Request,
    key: Annotated[FlowKey, Path(description="The flow key.")],
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="Count units whose window closed by then (default now)."),
    ] = None,
) -> Any:
    """The results engine's report as JSON, the same as ``liftlab report FLOW
    --format json``: arms, lift with intervals, incremental conversions and
    revenue, CUPED, sample ratio, segments, guardrails and daily bands. An
    undefined figure is null with the reason beside it."""
    with Session(request.app.state.engine) as session:
        flow = get_flow(session, key)
        with connect(_warehouse_url(request)) as warehouse:
            reports = build_reports(warehouse, session, [flow], as_of=as_of)
    return JSONResponse(jsonable(reports[0]))


def _warehouse_url(request: Request) -> str:
    # The warehouse is LIFTLAB_WAREHOUSE_URL when set, else this app's store
    # (which need not be the environment's).
    return os.environ.get("LIFTLAB_WAREHOUSE_URL") or (
        request.app.state.settings.database_url
    )

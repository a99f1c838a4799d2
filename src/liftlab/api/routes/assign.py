"""Assignment: should this unit get the text? Logged before it is answered.

``POST /v1/assign`` and ``GET /v1/assign`` (for tools that can only send a
GET, such as Braze Connected Content) answer for one unit,
``POST /v1/assign/batch`` for up to 10,000 in request order. Every entered
unit's entry is committed to the store before the answer leaves; an
excluded unit (no SMS consent, invalid id) is answered but not entered.
Scope: ``assign``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from liftlab.api.auth import require
from liftlab.api.entering import FlowCache, FlowSpec, enter_many, enter_one
from liftlab.api.errors import ApiError, error_responses
from liftlab.api.schemas import (
    AssignBatchRequest,
    Assignment,
    AssignRequest,
    ErrorDetail,
    FlowKey,
    Text,
)
from liftlab.assignment import BUCKETS, AssignmentBatch
from liftlab.assignment import Assignment as Decision
from liftlab.identity import normalise_units, resolve_unit_id
from liftlab.store.keys import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["assign"])

_ERRORS = error_responses(401, 403, 404, 409, 413, 422)
_NO_STORE = {"Cache-Control": "no-store"}
_MAX_LISTED = 100


@router.post(
    "/assign",
    response_model=Assignment,
    responses=_ERRORS,
    summary="Assign one unit and log its entry",
    dependencies=[Depends(require(Scope.ASSIGN))],
)
async def post_assign(body: AssignRequest, request: Request) -> Any:
    """Decide whether to text one unit in a flow, and log the entry.

    The answer is the same every time for the same unit and flow version.
    A unit known to have refused SMS is answered ``excluded`` (reason
    ``no_consent``) and not entered.
    """
    return await _assign_one(request, body.flow, body.unit_id, body.phone)


@router.get(
    "/assign",
    response_model=Assignment,
    responses=_ERRORS,
    summary="Assign one unit and log its entry (GET form)",
    dependencies=[Depends(require(Scope.ASSIGN))],
)
async def get_assign(
    request: Request,
    flow: Annotated[FlowKey, Query()],
    unit_id: Annotated[Text | None, Query(description="The customer id.")] = None,
    phone: Annotated[Text | None, Query(description="A phone, if no id.")] = None,
) -> Any:
    """The same as ``POST /v1/assign``, for tools that can only send a GET.

    It logs an entry like the POST does; the answer is marked
    ``Cache-Control: no-store``.
    """
    if (unit_id is None) == (phone is None):
        raise ApiError(
            "invalid_parameter",
            "give exactly one of unit_id and phone",
            field="unit_id",
        )
    return await _assign_one(request, flow, unit_id, phone)


@router.post(
    "/assign/batch",
    response_model=list[Assignment],
    responses=_ERRORS,
    summary="Assign up to 10,000 units of one flow and log their entries",
    dependencies=[Depends(require(Scope.ASSIGN))],
)
def post_assign_batch(body: AssignBatchRequest, request: Request) -> Any:
    """Decide for many units of one flow, answered in request order.

    A batch with an invalid id is refused whole (nothing is logged) unless
    ``skip_invalid`` is true; then that unit is answered ``excluded``
    (reason ``invalid_id``). A unit given twice is entered once and counted
    twice.
    """
    spec = _spec(request, body.flow)
    field = "unit_ids" if body.unit_ids is not None else "phones"
    given = body.units
    normalised = normalise_units(
        given,
        kind="unit_id" if field == "unit_ids" else "phone",
        region=request.app.state.settings.default_region,
    )
    bad = [(row, error) for row, error in enumerate(normalised.errors) if error]
    if bad and not body.skip_invalid:
        details = [
            ErrorDetail(field=f"{field}[{row}]", message=str(error))
            for row, error in bad[:_MAX_LISTED]
        ]
        raise ApiError(
            "invalid_unit",
            f"{len(bad):,} of {len(given):,} units are invalid; nothing was "
            "logged (or pass skip_invalid to answer them as excluded)",
            field=field,
            details=details,
        )

    batch = enter_many(
        request.app.state.entries, spec, normalised.unit_ids, normalised.valid
    )
    units = list(normalised.unit_ids)
    for row, _ in bad:
        units[row] = given[row]
    return JSONResponse(_public_batch(batch, units), headers=_NO_STORE)


async def _assign_one(
    request: Request, flow: str, unit_id: str | None, phone: str | None
) -> Response:
    spec = _spec(request, flow)
    unit = resolve_unit_id(
        customer_id=unit_id,
        phone=phone,
        region=request.app.state.settings.default_region,
    )
    decision = await enter_one(request.app.state.entries, spec, unit)
    # Encoded here: the answer is already valid, and checking it against
    # the response model again would cost more than the encoding.
    return Response(
        json.dumps(
            _public(decision), ensure_ascii=False, separators=(",", ":")
        ).encode(),
        media_type="application/json",
        headers=_NO_STORE,
    )


def _spec(request: Request, flow: str) -> FlowSpec:
    flows: FlowCache = request.app.state.flows
    spec = flows.get(flow)
    if spec.external:
        raise ApiError(
            "external_assignment",
            f"flow '{flow}' is randomised outside liftlab; log its entries by "
            "file import",
            field="flow",
        )
    return spec


def _public_batch(batch: AssignmentBatch, units: list[str]) -> list[dict[str, Any]]:
    flow, version = batch.flow, batch.flow_version
    return [
        {
            "flow": flow,
            "unit_id": unit,
            "arm": arm,
            "send": send,
            "reason": reason,
            "bucket": None if index < 0 else index / BUCKETS,
            "flow_version": version,
        }
        for unit, arm, send, reason, index in zip(
            units,
            batch.arms.tolist(),
            batch.send.tolist(),
            batch.reasons.tolist(),
            batch.buckets.tolist(),
            strict=True,
        )
    ]


def _public(decision: Decision) -> dict[str, Any]:
    return {
        "flow": decision.flow,
        "unit_id": decision.unit_id,
        "arm": decision.arm.value,
        "send": decision.send,
        "reason": decision.reason.value,
        "bucket": decision.bucket,
        "flow_version": decision.flow_version,
    }

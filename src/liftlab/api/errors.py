"""Errors of the HTTP API: one JSON shape, stable codes, one place to map.

Every error answer reads ``{"error": {"code": ..., "message": ..., "field":
...}}``. The code is stable and meant for programs; the message is for
people and may change. Library errors are translated here, at the boundary,
and FastAPI's own validation errors are rewritten into the same shape.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from liftlab.api.schemas import ErrorBody, ErrorDetail, ErrorResponse
from liftlab.identity import IdentityError
from liftlab.ingest import ImportRejectedError
from liftlab.results import ReportError
from liftlab.store.flows import UnknownFlowError
from liftlab.warehouse import WarehouseError

__all__ = [
    "CODES",
    "ApiError",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "log_crash",
    "translate",
]

logger = logging.getLogger(__name__)

#: Every error code the API answers with, and its HTTP status.
CODES: dict[str, int] = {
    "missing_key": 401,
    "invalid_key": 401,
    "revoked_key": 401,
    "forbidden_scope": 403,
    "not_found": 404,
    "unknown_flow": 404,
    "method_not_allowed": 405,
    "external_assignment": 409,
    "report_unavailable": 409,
    "body_too_large": 413,
    "batch_too_large": 413,
    "invalid_body": 422,
    "invalid_parameter": 422,
    "invalid_unit": 422,
    "invalid_events": 422,
    "internal_error": 500,
    "not_ready": 503,
    "warehouse_unavailable": 503,
}

_DESCRIPTIONS = {
    401: "No API key, or one that is malformed, unknown or revoked.",
    403: "The key's scope does not allow this endpoint.",
    404: "No such flow.",
    409: "The flow cannot serve this request in its present state.",
    413: "The body or the batch is larger than allowed.",
    422: "The request is malformed, or holds an invalid unit or event.",
    503: "The store or the warehouse cannot be reached.",
}

_BATCH_FIELDS = ("unit_ids", "phones", "events")
_BATCH_LISTS = [[name] for name in _BATCH_FIELDS]
_MAX_DETAILS = 100


class ApiError(Exception):
    """An error the API answers with its code's status.

    Attributes:
        code: One of :data:`CODES`.
        message: What went wrong, for people; never holds a phone or a key.
        field: The request field at fault, if one is.
        details: Further problems, e.g. one per bad event.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = CODES[code]
        self.message = message
        self.field = field
        self.details = details or []


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error statuses of a route."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


def error_response(error: ApiError) -> JSONResponse:
    """The JSON answer for an API error."""
    body = ErrorResponse(
        error=ErrorBody(
            code=error.code,
            message=error.message,
            field=error.field,
            details=error.details,
        )
    )
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(
        body.model_dump(mode="json"), status_code=error.status, headers=headers
    )


def translate(error: Exception) -> ApiError:
    """The API error for a library error, or ``internal_error``."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, UnknownFlowError):
        return ApiError("unknown_flow", str(error).removeprefix("flow: "), field="flow")
    if isinstance(error, IdentityError):
        return ApiError("invalid_unit", error.reason, field=error.field)
    if isinstance(error, ImportRejectedError):
        return _rejected_events(error)
    if isinstance(error, ReportError):
        return ApiError("report_unavailable", str(error))
    if isinstance(error, WarehouseError):
        return ApiError("warehouse_unavailable", str(error))
    return ApiError("internal_error", "the server failed; the error is logged")


def _rejected_events(error: ImportRejectedError) -> ApiError:
    details = []
    for line in error.problems:
        # The importer writes "row N: column: reason", or "column: reason"
        # for a problem with a whole column.
        where, _, rest = line.partition(": ")
        if where.startswith("row ") and where[4:].isdigit():
            column, _, reason = rest.partition(": ")
            field = f"events[{int(where[4:]) - 1}].{column}"
        else:
            field, reason = where, rest
        details.append(ErrorDetail(field=field, message=reason))
    summary = (
        f"{error.bad_rows:,} of {error.rows_read:,} events rejected; nothing "
        "was written"
    )
    return ApiError("invalid_events", summary, field="events", details=details)


def _validation_error(error: RequestValidationError) -> ApiError:
    problems = list(error.errors())
    details = []
    for problem in problems[:_MAX_DETAILS]:
        location = [str(part) for part in problem.get("loc", ())]
        place = location[0] if location else "body"
        if problem.get("type") == "json_invalid":
            reason = problem.get("ctx", {}).get("error", "invalid")
            return ApiError("invalid_body", f"the body is not valid JSON ({reason})")
        if problem.get("type") == "too_long" and location[-1:] in _BATCH_LISTS:
            limit = problem.get("ctx", {}).get("max_length", 0)
            return ApiError(
                "batch_too_large",
                f"{location[-1]}: at most {limit:,} items in one request",
                field=location[-1],
            )
        field = _dotted(location[1:]) or place
        message = str(problem.get("msg", "")).removeprefix("Value error, ")
        details.append(ErrorDetail(field=field, message=message))

    place = str(problems[0].get("loc", ("body",))[0]) if problems else "body"
    code = "invalid_body" if place == "body" else "invalid_parameter"
    lead = details[0] if details else ErrorDetail(field=place, message="invalid")
    message = f"{lead.field}: {lead.message}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problems)"
    return ApiError(code, message, field=lead.field, details=details)


def _dotted(parts: list[str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, FastAPI's and Starlette's included, as JSON."""

    async def on_api_error(request: Request, error: Exception) -> JSONResponse:
        return error_response(translate(error))

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(_validation_error(error))

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return error_response(_http_error(error))

    for kind in (ApiError, UnknownFlowError, IdentityError, ImportRejectedError,
                 ReportError, WarehouseError):  # fmt: skip
        app.add_exception_handler(kind, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def log_crash(error: BaseException, *, method: str, route: str) -> None:
    """Log an unhandled error by its type and stack, never its message: the
    message of a store error quotes SQL parameters (unit ids, phones)."""
    stack = traceback.format_exception(type(error), None, error.__traceback__)
    logger.error("unhandled error on %s %s\n%s", method, route, "".join(stack))


def _http_error(error: StarletteHTTPException) -> ApiError:
    if error.status_code == 413:
        return ApiError("body_too_large", str(error.detail))
    if error.status_code == 405:
        return ApiError("method_not_allowed", "this path does not take that method")
    if error.status_code == 404:
        return ApiError("not_found", "no such path; see /docs for the API")
    if error.status_code == 400:
        return ApiError("invalid_body", "the body cannot be read as JSON")
    return ApiError("internal_error", str(error.detail))

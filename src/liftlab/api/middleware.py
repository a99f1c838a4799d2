"""The API's outer layer: the access log, the body size limit, and a guard
that answers an unhandled error with a JSON 500 and stops it there.

Both are plain ASGI, so they cost little on the hot path. The access log is
one JSON object per line on the ``liftlab.api.access`` logger: time, method,
route template (never the raw path or query string, which may hold a phone
number), status, milliseconds, bytes in and out, and the id of the API key
(never the key). Unit ids and phone numbers are not logged at all.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liftlab.api.errors import ApiError, error_response, log_crash, translate

__all__ = ["AccessLogMiddleware", "BodyLimitMiddleware", "CrashGuardMiddleware"]

access_logger = logging.getLogger("liftlab.api.access")


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 ``body_too_large``.

    A declared ``Content-Length`` over the limit is refused before anything
    is read; a body sent in chunks is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = error_response(self._error())
            await response(scope, receive, send)
            return

        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI passes an HTTPException raised while it reads
                    # the body to the error handlers, which answer 413.
                    raise HTTPException(413, self._error().message)
            return message

        await self.app(scope, counted, send)

    def _error(self) -> ApiError:
        return ApiError(
            "body_too_large",
            f"the request body is larger than {self.max_bytes:,} bytes",
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CrashGuardMiddleware:
    """Answer an unhandled error with 500 ``internal_error`` and log it
    safely. The error goes no further: the server would log its message,
    which may quote unit ids or phone numbers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            log_crash(error, method=scope["method"], route=route)
            if not started:
                await error_response(translate(error))(scope, receive, send)


class AccessLogMiddleware:
    """Write one structured line per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts: dict[str, Any] = {"status": 500, "bytes_out": 0, "bytes_in": 0}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                facts["bytes_in"] += len(message.get("body", b""))
            return message

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                facts["status"] = message["status"]
            elif message["type"] == "http.response.body":
                facts["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(_line(scope, facts, started))


def _line(scope: Scope, facts: dict[str, Any], started: float) -> str:
    route = scope.get("route")
    state = scope.get("state") or {}
    return json.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope["method"],
            "route": getattr(route, "path", None) or "unmatched",
            "status": facts["status"],
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "bytes_in": facts["bytes_in"],
            "bytes_out": facts["bytes_out"],
            "key_id": state.get("key_id"),
        },
        separators=(",", ":"),
    )

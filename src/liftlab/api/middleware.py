"""The API's outer layer: the access log, the body size limit, and a guard
that answers an unhandled error with a JSON 500 and stops it there.

Both are plain ASGI, so they cost little on the hot path. The access log is
one JSON object per line on the ``liftlab.api.access`` logger: time, method,
route template (never the raw path or query string, which may hold a phone
number), status, milliseconds, bytes in and out, and the id of the API key
(never the key). Unit ids and phone numbers are not logged at all.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
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
                # Straight to the handlers: Logger.info would walk the stack
                # to find its caller, which costs more than the line.
                line = _line(scope, facts, started)
                access_logger.handle(
                    access_logger.makeRecord(
                        access_logger.name, logging.INFO, __file__, 0, line, None, None
                    )
                )


def _line(scope: Scope, facts: dict[str, Any], started: float) -> str:
    """The JSON line, written by hand: every text field is JSON-quoted, and
    the numbers are ints and a float."""
    route = scope.get("route")
    key_id = (scope.get("state") or {}).get("key_id")
    return (
        f'{{"time":"{datetime.now(UTC).isoformat(timespec="milliseconds")}",'
        f'"method":{_quote(scope["method"])},'
        f'"route":{_quote(getattr(route, "path", None) or "unmatched")},'
        f'"status":{int(facts["status"])},'
        f'"ms":{round((time.perf_counter() - started) * 1000, 2)!r},'
        f'"bytes_in":{int(facts["bytes_in"])},"bytes_out":{int(facts["bytes_out"])},'
        f'"key_id":{"null" if key_id is None else _quote(key_id)}}}'
    )


@lru_cache(maxsize=256)
def _quote(text: str) -> str:
    return encode_basestring_ascii(text)

"""Who may call: bearer API keys, checked in constant time, with scopes.

Each endpoint names the scope it needs; a key with that scope or ``admin``
passes. A worker keeps the keys it has seen for ``api_cache_seconds`` (two
by default), so checking a key costs a hash and a dictionary read, and a
revoked key stops working within that time. ``last_used_at`` is written at
most once a minute per key and worker, and only for accepted requests: a
refused request writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from liftlab.api.errors import ApiError
from liftlab.store.engine import session_scope
from liftlab.store.keys import KeyRecord, Scope, find_key, parse_key, secret_matches
from liftlab.store.keys import touch_key as store_touch_key

__all__ = ["KeyCache", "bearer", "require"]

logger = logging.getLogger(__name__)

TOUCH_SECONDS = 60.0
_MAX_CACHED = 10_000

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key, `ll_<key_id>_<secret>`, from `liftlab keys create`.",
)


class KeyCache:
    """Stored keys by id, each trusted for a bounded time.

    Args:
        engine: The store.
        ttl: Seconds a looked-up key (or its absence) is trusted.
    """

    def __init__(self, engine: Engine, *, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._keys: dict[str, tuple[float, KeyRecord | None]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def cached(self, key_id: str) -> tuple[bool, KeyRecord | None]:
        """Whether the key is cached and fresh, and its record if it is."""
        found = self._keys.get(key_id)
        if found is None or time.monotonic() - found[0] >= self._ttl:
            return False, None
        return True, found[1]

    def load(self, key_id: str) -> KeyRecord | None:
        """Read a key from the store and cache it (or its absence)."""
        with session_scope(self._engine) as session:
            record = find_key(session, key_id)
        with self._lock:
            if len(self._keys) >= _MAX_CACHED:
                self._keys.clear()
            self._keys[key_id] = (time.monotonic(), record)
        return record

    def due_for_touch(self, record: KeyRecord) -> bool:
        """Whether this worker should record the key's use now."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(record.key_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return False
            self._touched[record.key_id] = now
        return True

    def touch(self, record: KeyRecord) -> None:
        """Record the key's use; a failure is logged, never fatal."""
        try:
            store_touch_key(self._engine, record.key_id, datetime.now(UTC))
        except SQLAlchemyError as error:
            logger.warning("could not record the use of key %s: %s",
                           record.key_id, type(error).__name__)  # fmt: skip


class _Admit(HTTPBearer):
    """The ``ApiKey`` bearer scheme, checking the key and its scope itself:
    one dependency per request, not a dependency and its sub-dependency."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(
            auto_error=False, scheme_name=bearer.scheme_name,
            description=bearer.model.description,
        )  # fmt: skip
        self.scope = scope

    async def __call__(self, request: Request) -> KeyRecord:  # type: ignore[override]
        record = await _authenticate(request, _credentials(request))
        request.state.key_id = record.key_id
        if not record.allows(self.scope):
            raise ApiError(
                "forbidden_scope",
                f"this key has scope {record.scope.value}; this endpoint needs "
                f"{self.scope.value} (or admin)",
            )
        keys: KeyCache = request.app.state.keys
        if keys.due_for_touch(record):
            await run_in_threadpool(keys.touch, record)
        return record


def require(scope: Scope) -> Callable[..., Awaitable[KeyRecord]]:
    """A dependency that admits keys with ``scope`` (or ``admin``).

    Raises:
        ApiError: ``missing_key``, ``invalid_key`` or ``revoked_key`` (401),
            ``forbidden_scope`` (403).
    """
    return _Admit(scope)


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


async def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> KeyRecord:
    if credentials is None:
        if "authorization" in request.headers:
            raise ApiError(
                "invalid_key", "the Authorization header must read: Bearer <key>"
            )
        raise ApiError("missing_key", "send an API key as Authorization: Bearer <key>")
    parsed = parse_key(credentials.credentials.strip())
    if parsed is None:
        raise ApiError("invalid_key", "the API key is malformed or unknown")
    key_id, secret = parsed

    keys: KeyCache = request.app.state.keys
    fresh, record = keys.cached(key_id)
    if not fresh:
        record = await run_in_threadpool(keys.load, key_id)
    if record is None or not secret_matches(record, secret):
        raise ApiError("invalid_key", "the API key is malformed or unknown")
    if record.revoked_at is not None:
        raise ApiError("revoked_key", f"the API key {key_id} was revoked")
    return record

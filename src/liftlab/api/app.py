"""The API application: ``create_app`` builds it from the settings.

``liftlab serve`` runs it under uvicorn with ``create_app`` as a factory, so
every worker process builds its own app, engine and caches.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine, event

from liftlab import __version__
from liftlab.api.auth import KeyCache
from liftlab.api.entering import FlowCache
from liftlab.api.entry_log import EntryLog
from liftlab.api.errors import install_error_handlers
from liftlab.api.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    CrashGuardMiddleware,
)
from liftlab.api.routes import assign, events, flows, health
from liftlab.config import Settings, get_settings
from liftlab.store.engine import make_engine

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """\
Holdout assignment and event logging for automation tools.

Send an API key as `Authorization: Bearer ll_<key_id>_<secret>`. Scopes:
`assign` for `/v1/assign*`, `ingest` for `/v1/events/*`, `read` for
`/v1/flows*`; `admin` may do everything. `/v1/health` and `/v1/ready` are
open. Errors read `{"error": {"code", "message", "field", "details"}}` with
a stable `code`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for a store.

    Args:
        settings: liftlab's settings; by default read from the environment.

    Returns:
        The ASGI application.
    """
    settings = settings or get_settings()
    engine = _engine(settings)
    entries = EntryLog(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The imports (pandas, Ibis, SciPy) leave millions of long-lived
        # objects; frozen, the collector no longer walks them on every full
        # collection, which otherwise stalls a request for tens of ms.
        gc.collect()
        gc.freeze()
        yield
        await entries.aclose()
        entries.close()
        engine.dispose()

    app = FastAPI(
        title="liftlab",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.entries = entries
    app.state.flows = FlowCache(engine, ttl=settings.api_cache_seconds)
    app.state.keys = KeyCache(engine, ttl=settings.api_cache_seconds)

    for module in (assign, events, flows, health):
        app.include_router(module.router)
    install_error_handlers(app)

    # The last middleware added is the outermost: the access log sees every
    # answer, the size limit's 413 and the guard's 500 included.
    app.add_middleware(CrashGuardMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite" and settings.api_sqlite_synchronous == "full":
        event.listen(engine, "connect", _synchronous_full)
    return engine


def _synchronous_full(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()

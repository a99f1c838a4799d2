"""Helpers for the API tests: an in-process client, real ``liftlab serve``
subprocesses, and a snapshot of what requests can write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from liftlab.api import create_app
from liftlab.config import Settings, get_settings
from liftlab.store.tables import ApiKey, Conversion, Entry, Message, Touch
from tests.servers import free_port

PHONE = "+14155552671"


class ApiClient:
    """A synchronous client for an app, served in-process over ASGI."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._stack: AbstractContextManager[Any] = start_blocking_portal()
        self._portal = self._stack.__enter__()
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(
            transport=transport, base_url="http://liftlab.test"
        )

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **options))

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._stack.__exit__(None, None, None)
        self.app.state.entries.close()
        self.app.state.engine.dispose()


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def api_client(**overrides: Any) -> Iterator[ApiClient]:
    """An in-process client for an app built from the environment's
    settings with ``overrides``."""
    settings = Settings(**{**get_settings().model_dump(), **overrides})
    client = ApiClient(create_app(settings))
    try:
        yield client
    finally:
        client.close()


def written(engine: Engine) -> dict[str, Any]:
    """What requests can write: rows per event table, key use times."""
    with Session(engine) as session:
        counts = {
            table.__tablename__: session.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in (Entry, Message, Touch, Conversion)
        }
        used = session.execute(select(ApiKey.key_id, ApiKey.last_used_at)).all()
    return {**counts, "last_used": sorted(used, key=lambda row: row[0])}


@dataclass(frozen=True)
class Server:
    """A running ``liftlab serve``."""

    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@contextmanager
def serving(database_url: str, folder: Path, *, workers: int) -> Iterator[Server]:
    """Run ``liftlab serve`` on a free port in its own process group; stop
    the whole group afterwards (unless a test killed it already)."""
    port = free_port()
    env = {
        **os.environ,
        "LIFTLAB_DATABASE_URL": database_url,
        "LIFTLAB_DEFAULT_REGION": "US",
    }
    stdout, stderr = folder / f"serve-{port}.out", folder / f"serve-{port}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "liftlab", "serve", "--port", str(port),
             "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, stdout, stderr)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _wait_until_up(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"liftlab serve exited:\n{server.logs()}")
        try:
            if httpx.get(f"{server.url}/v1/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"liftlab serve did not come up:\n{server.logs()}")

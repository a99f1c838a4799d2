"""The API server and its keys: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import uvicorn
from rich.table import Table

from liftlab.cli.common import app, err, out, store, user_errors
from liftlab.store.keys import Scope, UnknownKeyError, create_key, list_keys, revoke_key

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.")
app.add_typer(keys_app, name="keys")

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(*, level: str = "INFO", access_log: bool = True) -> dict[str, Any]:
    """Logging for the server: access lines as JSON on stdout, the rest on
    stderr. Uvicorn's own access log is off; liftlab writes a line of its own
    that leaves out query strings, unit ids, phone numbers and keys."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": _FORMAT},
            "line": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            },
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "liftlab": {"handlers": ["stderr"], "level": level, "propagate": False},
            "liftlab.api.access": {
                "handlers": ["stdout"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (about one per core).")
    ] = 1,
    log_level: Annotated[
        str, typer.Option(help="debug, info, warning or error.")
    ] = "info",
    access_log: Annotated[
        bool, typer.Option(help="One JSON line per request on stdout.")
    ] = True,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) with uvicorn."""
    with user_errors():
        store()
    uvicorn.run(
        "liftlab.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(level=log_level.upper(), access_log=access_log),
        access_log=False,
        server_header=False,
        # A worker imports the statistics and warehouse stacks before it
        # answers the supervisor's first health check; on a busy machine
        # that takes longer than uvicorn's default five seconds.
        timeout_worker_healthcheck=120,
    )


@keys_app.command("create")
def keys_create(
    scope: Annotated[Scope, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
) -> None:
    """Create a key. It is printed once, on stdout; only its hash is kept."""
    with user_errors():
        engine = store()
    try:
        created = create_key(engine, name=name, scope=scope)
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    err.print(
        f"key {created.record.key_id} ({created.record.scope.value}) for "
        f"'{created.record.name}'; it is shown once, store it now:",
        highlight=False,
    )
    typer.echo(created.key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys: id, name, scope, created, last used, revoked."""
    with user_errors():
        engine = store()
    table = Table(title="API keys")
    for column in ("key id", "name", "scope", "created", "last used", "revoked"):
        table.add_column(column)
    for key in list_keys(engine):
        table.add_row(
            key.key_id,
            key.name,
            key.scope.value,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see keys list).")],
) -> None:
    """Revoke a key; running servers refuse it within api_cache_seconds."""
    with user_errors():
        engine = store()
    try:
        record = revoke_key(engine, key_id)
    except UnknownKeyError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"key {record.key_id} revoked at {record.revoked_at:%Y-%m-%d %H:%M} UTC")

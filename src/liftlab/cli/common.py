"""Shared pieces of the command line: the app, consoles, error handling."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import Engine

from liftlab.audience import AudienceError
from liftlab.config import get_settings
from liftlab.experiments import SpecError
from liftlab.hillstrom import HillstromError
from liftlab.identity import IdentityError
from liftlab.ingest import EventFileError, ImportRejectedError
from liftlab.results import ReportError
from liftlab.simulate import SimulationConflictError
from liftlab.store.engine import describe_url, get_engine
from liftlab.store.flows import UnknownFlowError
from liftlab.store.migrate import SchemaOutdatedError, ensure_schema
from liftlab.warehouse import WarehouseError

app = typer.Typer(
    name="liftlab",
    help="Incrementality for SMS marketing: holdouts, lift and assists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create, inspect and upgrade the store's schema.")
app.add_typer(db_app, name="db")

# Tables need room: outside a terminal, print 120 columns wide.
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

PROGRESS_THRESHOLD = 100_000
USER_ERRORS = (
    ReportError,
    WarehouseError,
    AudienceError,
    EventFileError,
    HillstromError,
    ImportRejectedError,
    SimulationConflictError,
    IdentityError,
    SchemaOutdatedError,
    SpecError,
    UnknownFlowError,
)


class Format(StrEnum):
    table = "table"
    json = "json"


@app.callback()
def _configure(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log operations to stderr.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as error:
        for line in str(error).splitlines():
            err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def store(*, migrate: bool = True) -> Engine:
    url = get_settings().database_url
    engine = get_engine(url)
    if migrate:
        ensure_schema(engine, url_hint=describe_url(url))
    return engine


def actor_name(actor: str | None) -> str:
    return actor or os.environ.get("LIFTLAB_ACTOR") or getpass.getuser()


def count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    if path.suffix.lower() in (".parquet", ".pq"):
        return pq.ParquetFile(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


@contextmanager
def progress_bar(rows: int, label: str) -> Iterator[Callable[[int], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=rows <= PROGRESS_THRESHOLD,
    ) as bar:
        task = bar.add_task(label, total=rows)
        yield lambda done: bar.advance(task, done)

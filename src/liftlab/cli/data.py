"""Commands that bring data in: import and demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from liftlab.cli.common import (
    actor_name,
    app,
    count_rows,
    err,
    out,
    progress_bar,
    store,
    user_errors,
)
from liftlab.hillstrom import load_hillstrom
from liftlab.ingest import KINDS, import_file
from liftlab.simulate import DemoSummary, run_demo
from liftlab.store.engine import session_scope
from liftlab.store.entries import entry_counts


@app.command("import")
def import_command(
    kind: Annotated[
        str,
        typer.Argument(help=f"What the file holds: {', '.join(KINDS)}, or hillstrom."),
    ],
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    actor: Annotated[
        str | None, typer.Option(help="Who imports (default: $LIFTLAB_ACTOR, user).")
    ] = None,
) -> None:
    """Import events from a file: validated, all or nothing, safe to repeat."""
    with user_errors():
        engine = store()
        if kind == "hillstrom":
            _import_hillstrom(engine, path, actor_name(actor))
            return
        if kind not in KINDS:
            raise typer.BadParameter(
                f"'{kind}' is not one of {', '.join(KINDS)}, hillstrom",
                param_hint="KIND",
            )
        rows = count_rows(path)
        with progress_bar(rows, f"importing {kind}") as advance:
            summary = import_file(
                engine, kind, path, actor=actor_name(actor), progress=advance
            )
    table = Table(title=f"{kind} from {path}")
    for column in ("rows read", "inserted", "updated", "skipped as duplicates",
                   "rejected", "seconds"):  # fmt: skip
        table.add_column(column, justify="right")
    table.add_row(
        f"{summary.rows_read:,}",
        f"{summary.inserted:,}",
        f"{summary.updated:,}",
        f"{summary.duplicates:,}",
        "0",
        f"{summary.seconds:.1f}",
    )
    out.print(table)


def _import_hillstrom(engine: Engine, path: Path, actor: str) -> None:
    loaded = load_hillstrom(engine, path, actor=actor)
    table = Table(title="Hillstrom e-mail test, flow 'hillstrom'")
    for column in ("group", "units", "conversions"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for group, units in loaded.units.items():
        table.add_row(group, f"{units:,}", f"{loaded.conversions[group]:,}")
    out.print(table)
    for summary in loaded.imports:
        out.print(
            f"{summary.kind}: {summary.inserted:,} inserted, "
            f"{summary.duplicates:,} already there"
        )
    if not loaded.matches_published:
        err.print(
            "[yellow]note:[/yellow] this file differs from the published "
            "Hillstrom file (SHA-256)"
        )


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
    days: Annotated[int, typer.Option(help="Days of flow entries.")] = 90,
    customers: Annotated[int, typer.Option(help="Customers to simulate.")] = 200_000,
    experiments: Annotated[
        Path, typer.Option(help="Folder of experiment specs.")
    ] = Path("experiments"),
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Do nothing when the store has entries."),
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who writes (default: $LIFTLAB_ACTOR, user).")
    ] = None,
) -> None:
    """Fill the store with a simulated SMS programme whose true effects are known."""
    with user_errors():
        engine = store()
        if if_empty:
            with session_scope(engine) as session:
                if sum(entry_counts(session).values()):
                    out.print("the store already has entries: demo not run")
                    return
        with Progress(
            "[progress.description]{task.description}",
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def advance(kind: str, rows: int) -> None:
                if kind not in tasks:
                    tasks[kind] = bar.add_task(f"writing {kind}", total=None)
                bar.advance(tasks[kind], rows)

            summary = run_demo(
                engine,
                seed=seed,
                days=days,
                customers=customers,
                actor=actor_name(actor),
                experiments_dir=experiments,
                progress=advance,
            )
    _print_demo(summary)


def _print_demo(summary: DemoSummary) -> None:
    out.print(
        f"simulated {summary.customers:,} customers over {summary.days} days from "
        f"{summary.start:%Y-%m-%d} (seed {summary.seed}) in "
        f"{summary.simulate_seconds:.1f} s; wrote in {summary.write_seconds:.1f} s"
    )
    rows = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items())
    out.print(f"new rows: {rows}")
    table = Table(title="The truth: what each flow really causes")
    for column in ("flow", "segment", "entrants", "baseline rate", "true lift",
                   "relative", "incremental conversions"):  # fmt: skip
        text = column in ("flow", "segment")
        table.add_column(column, justify="left" if text else "right", no_wrap=text)
    for effect in summary.effects:
        if effect.dimension not in ("", "lifecycle"):
            continue
        table.add_row(
            effect.flow,
            effect.segment or "all",
            f"{effect.entrants:,}",
            f"{effect.baseline_rate:.1%}",
            f"{effect.absolute_lift * 100:+.1f} pp",
            f"{effect.relative_lift:+.0%}",
            f"{effect.incremental_conversions:,.0f}",
        )
    out.print(table)
    for key in summary.unsimulated:
        out.print(f"  {key}: no simulated behaviour; applied without events")

"""The ``liftlab`` command line.

Errors a user can fix are printed as one message per problem, naming the
file, row and field, and end the command with exit code 1; nothing is
half written.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from liftlab.assignment import assign
from liftlab.audience import AudienceError, split_audience
from liftlab.config import get_settings
from liftlab.experiments import ApplyResult, SpecError, apply_specs, load_specs
from liftlab.hillstrom import HillstromError, load_hillstrom
from liftlab.identity import IdentityError, resolve_unit_id
from liftlab.ingest import KINDS, EventFileError, ImportRejectedError, import_file
from liftlab.simulate import DemoSummary, SimulationConflictError, run_demo
from liftlab.store.engine import describe_url, get_engine, session_scope
from liftlab.store.entries import EntryRecord, entry_counts, record_entries
from liftlab.store.flows import (
    UnknownFlowError,
    flow_history,
    flow_rule,
    get_flow,
    global_rule,
    list_flows,
)
from liftlab.store.migrate import (
    SchemaOutdatedError,
    ensure_schema,
    schema_state,
    upgrade,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="liftlab",
    help="Incrementality for SMS marketing: holdouts, lift and assists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create, inspect and upgrade the store's schema.")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)

PROGRESS_THRESHOLD = 100_000
USER_ERRORS = (
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
def _user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as error:
        for line in str(error).splitlines():
            err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _store(*, migrate: bool = True) -> Engine:
    url = get_settings().database_url
    engine = get_engine(url)
    if migrate:
        ensure_schema(engine, url_hint=describe_url(url))
    return engine


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("LIFTLAB_ACTOR") or getpass.getuser()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema, or upgrade it to this liftlab's newest."""
    url = get_settings().database_url
    with _user_errors():
        state = upgrade(get_engine(url))
    out.print(f"{describe_url(url)}: schema at {state.current} (newest)")


@db_app.command("current")
def db_current() -> None:
    """Show the store's schema revision and whether it is the newest."""
    url = get_settings().database_url
    state = schema_state(get_engine(url))
    verdict = "up to date" if state.up_to_date else "run `liftlab db upgrade`"
    out.print(
        f"{describe_url(url)}: schema {state.current or 'none'}, "
        f"newest {state.head} ({verdict})"
    )


@app.command("apply")
def apply_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder of *.toml experiment specs.")
    ] = Path("experiments"),
    reshuffle: Annotated[
        bool,
        typer.Option(
            help="Allow a new salt or a lower holdout on a running flow; it "
            "starts a new randomisation epoch."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change.")
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who applies (default: $LIFTLAB_ACTOR, user).")
    ] = None,
) -> None:
    """Create or update flows from experiment specs; record every change."""
    with _user_errors():
        specs = load_specs(directory)
        result = apply_specs(
            _store(),
            specs,
            actor=_actor(actor),
            reshuffle=reshuffle,
            dry_run=dry_run,
        )
    _print_apply(result)


def _print_apply(result: ApplyResult) -> None:
    prefix = "would " if not result.written else ""
    for plan in result.plans:
        if plan.action == "unchanged":
            out.print(f"  {plan.key}: unchanged")
            continue
        out.print(f"[bold]{prefix}{plan.action}[/bold] {plan.key}")
        for change in plan.changes:
            before = "" if plan.action == "create" else f"{change.before} -> "
            out.print(f"    {change.field}: {before}{change.after}", highlight=False)
        for note in plan.notes:
            out.print(f"    [yellow]note:[/yellow] {note}", highlight=False)
    for key in result.untracked:
        out.print(f"  {key}: in the store but in no spec (left as it is)")
    changed = len(result.changed)
    summary = f"{changed} flow{'s' if changed != 1 else ''} {prefix}changed"
    out.print(summary if changed else "nothing to change: the store matches the specs")


@app.command("flows")
def flows_command(
    output: Annotated[Format, typer.Option("--format")] = Format.table,
    history: Annotated[
        bool, typer.Option("--history", help="Show the change log instead.")
    ] = False,
) -> None:
    """List flows and the global holdout, with entries per arm."""
    with _user_errors(), session_scope(_store()) as session:
        if history:
            _print_history(session, output)
            return
        flows = list_flows(session)
        counts = entry_counts(session)
    rows = [
        {
            "key": flow.key,
            "kind": flow.kind,
            "name": flow.name,
            "stage": flow.stage,
            "holdout_percent": flow.holdout_percent,
            "salt": flow.salt,
            "conversion": flow.conversion_type,
            "window_hours": flow.window_hours,
            "version": flow.version,
            "epoch": flow.epoch,
            "exposed": counts.get((flow.key, "exposed"), 0),
            "holdout": counts.get((flow.key, "holdout"), 0),
        }
        for flow in flows
    ]
    if output is Format.json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("no flows yet: run `liftlab apply experiments/`")
        return
    table = Table(title="Flows")
    for column in ("key", "stage", "holdout %", "window h", "ver",
                   "exposed", "holdout"):  # fmt: skip
        numeric = column not in ("key", "stage")
        table.add_column(
            column, justify="right" if numeric else "left", no_wrap=column != "stage"
        )
    for row in rows:
        table.add_row(
            row["key"],
            row["stage"] or "all flows",
            f"{row['holdout_percent']:g}",
            f"{row['window_hours']:g}" if row["window_hours"] else "",
            f"{row['version']}.{row['epoch']}",
            f"{row['exposed']:,}",
            f"{row['holdout']:,}",
        )
    out.print(table)
    out.print("version is <version>.<randomisation epoch>", style="dim")


def _print_history(session, output: Format) -> None:  # type: ignore[no-untyped-def]
    changes = flow_history(session)
    rows = [
        {
            "flow": change.flow_key,
            "changed_at": change.changed_at.isoformat(),
            "actor": change.actor,
            "action": change.action,
            "before": change.before,
            "after": change.after,
            "note": change.note,
        }
        for change in changes
    ]
    if output is Format.json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Flow changes, newest first")
    for column in ("when", "flow", "who", "action", "what changed"):
        table.add_column(column)
    for row in rows:
        before, after = row["before"] or {}, row["after"] or {}
        changed = [
            f"{name}: {before.get(name)} -> {value}"
            for name, value in after.items()
            if before.get(name) != value and name not in ("version", "epoch")
        ]
        table.add_row(
            row["changed_at"][:19],
            row["flow"],
            row["actor"],
            row["action"],
            "\n".join(changed) or "-",
        )
    out.print(table)


@app.command("assign")
def assign_command(
    flow: Annotated[str, typer.Option("--flow", help="The flow key.")],
    unit: Annotated[str | None, typer.Option("--unit", help="One customer id.")] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="One phone number, if no id.")
    ] = None,
    units_file: Annotated[
        Path | None,
        typer.Option(help="Audience file (CSV or Parquet) with unit_id or phone."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for send.csv, holdout.csv.")
    ] = None,
    consent: Annotated[
        bool | None,
        typer.Option(help="The unit's SMS consent, when known (single unit)."),
    ] = None,
    record: Annotated[
        bool | None,
        typer.Option(
            help="Log the entries (default: yes for a file, no for one unit)."
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Exclude rows with an invalid id instead of refusing."),
    ] = False,
) -> None:
    """Assign one unit (JSON on stdout) or split an audience file."""
    settings = get_settings()
    with _user_errors():
        if units_file is not None:
            if out_dir is None:
                raise typer.BadParameter("--units-file needs --out DIR")
            _split(flow, units_file, out_dir, settings.default_region,
                   record=record is not False, skip_invalid=skip_invalid)  # fmt: skip
            return
        if unit is None and phone is None:
            raise typer.BadParameter("give --unit, --phone or --units-file")
        unit_id = resolve_unit_id(
            customer_id=unit, phone=phone, region=settings.default_region
        )
        engine = _store()
        with session_scope(engine) as session:
            row = get_flow(session, flow)
            decision = assign(
                flow_rule(row),
                unit_id,
                global_rule=global_rule(session),
                consent=consent,
            )
            if record and decision.arm != "excluded":
                entry = EntryRecord(
                    unit_id=unit_id,
                    arm=decision.arm.value,
                    reason=decision.reason.value,
                    bucket=decision.bucket or 0.0,
                    entered_at=datetime.now(UTC),
                )
                record_entries(session, row, [entry], source="cli")
    payload = {
        "flow": decision.flow,
        "unit_id": decision.unit_id,
        "arm": decision.arm.value,
        "send": decision.send,
        "reason": decision.reason.value,
        "bucket": decision.bucket,
        "flow_version": decision.flow_version,
    }
    typer.echo(json.dumps(payload))


def _split(
    flow: str,
    path: Path,
    out_dir: Path,
    region: str,
    *,
    record: bool,
    skip_invalid: bool,
) -> None:
    engine = _store()
    with _progress(_count_rows(path), "normalising ids") as advance:
        split = split_audience(
            engine,
            flow,
            path,
            out_dir,
            region=region,
            record=record,
            skip_invalid=skip_invalid,
            progress=advance,
        )

    table = Table(title=f"{split.flow}: {split.rows:,} rows")
    for column in ("arm", "reason", "units", "share"):
        table.add_column(
            column, justify="right" if column in ("units", "share") else "left"
        )
    for (arm, reason), count in split.counts.items():
        share = count / split.rows if split.rows else 0.0
        table.add_row(arm, reason.replace("_", " "), f"{count:,}", f"{share:.2%}")
    out.print(table)
    out.print(f"send:    {split.send_path}")
    out.print(f"holdout: {split.holdout_path}")
    if split.recorded is not None:
        out.print(
            f"entries logged: {split.recorded.new:,} new, "
            f"{split.recorded.repeated:,} repeated"
        )
    else:
        out.print("entries not logged (--no-record)")
    for line in split.invalid_rows:
        err.print(f"[yellow]excluded:[/yellow] {path}: {line}", highlight=False)


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    if path.suffix.lower() in (".parquet", ".pq"):
        return pq.ParquetFile(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


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
    with _user_errors():
        engine = _store()
        if kind == "hillstrom":
            _import_hillstrom(engine, path, _actor(actor))
            return
        if kind not in KINDS:
            raise typer.BadParameter(
                f"'{kind}' is not one of {', '.join(KINDS)}, hillstrom",
                param_hint="KIND",
            )
        rows = _count_rows(path)
        with _progress(rows, f"importing {kind}") as advance:
            summary = import_file(
                engine, kind, path, actor=_actor(actor), progress=advance
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


@contextmanager
def _progress(rows: int, label: str) -> Iterator[Callable[[int], None]]:
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
    with _user_errors():
        engine = _store()
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
                actor=_actor(actor),
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


def main() -> None:
    """Entry point of the ``liftlab`` console script."""
    app()

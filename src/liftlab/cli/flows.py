"""Commands for the store's schema, experiment specs and flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from liftlab.cli.common import Format, actor_name, app, db_app, out, store, user_errors
from liftlab.config import get_settings
from liftlab.experiments import ApplyResult, apply_specs, load_specs
from liftlab.store.engine import describe_url, get_engine, session_scope
from liftlab.store.entries import entry_counts
from liftlab.store.flows import flow_history, list_flows
from liftlab.store.migrate import schema_state, upgrade


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema, or upgrade it to this liftlab's newest."""
    url = get_settings().database_url
    with user_errors():
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
    with user_errors():
        specs = load_specs(directory)
        result = apply_specs(
            store(),
            specs,
            actor=actor_name(actor),
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
    with user_errors(), session_scope(store()) as session:
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

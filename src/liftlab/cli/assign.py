"""The assign command: one unit, or an audience file split."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from liftlab.assignment import assign
from liftlab.audience import split_audience
from liftlab.cli.common import (
    app,
    count_rows,
    err,
    out,
    progress_bar,
    store,
    user_errors,
)
from liftlab.config import get_settings
from liftlab.identity import resolve_unit_id
from liftlab.store.engine import session_scope
from liftlab.store.entries import EntryRecord, record_entries
from liftlab.store.flows import flow_rule, get_flow, global_rule


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
    with user_errors():
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
        engine = store()
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
    engine = store()
    with progress_bar(count_rows(path), "normalising ids") as advance:
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

"""The assists command: path-based credit beside the holdout's lift."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlmodel import Session, select

from liftlab.attribution import (
    MODELS,
    AssistsReport,
    AttributionError,
    AttributionSettings,
    CreditVsCausation,
    assist_rows,
    build_assists,
    causation_rows,
    credit_vs_causation,
    model_rows,
)
from liftlab.attribution.settings import check_model
from liftlab.cli.common import app, err, out, store, user_errors
from liftlab.reporting import jsonable
from liftlab.results import FlowReport, ReportError, build_reports
from liftlab.store.engine import session_scope
from liftlab.store.flows import get_flow
from liftlab.store.tables import Flow
from liftlab.warehouse import Warehouse, connect

LONG_COLUMNS = ("table", "model", "dimension", "key", "metric", "value")


class AssistsFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command("assists")
def assists_command(
    flow: Annotated[
        list[str] | None,
        typer.Option("--flow", help="Only this flow (repeat for more)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help=f"One model: {', '.join(MODELS)}. Default: all."),
    ] = None,
    lookback_days: Annotated[
        int, typer.Option(help="Days before a conversion that count (1 to 90).")
    ] = 30,
    output: Annotated[AssistsFormat, typer.Option("--format")] = AssistsFormat.table,
    conversion_type: Annotated[
        list[str] | None,
        typer.Option(help="Only conversions of this type (repeat for more)."),
    ] = None,
    collapse: Annotated[
        bool, typer.Option(help="Collapse repeated touches of one state.")
    ] = False,
    markov_order: Annotated[int, typer.Option(help="Markov chain order.")] = 1,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="Close lift windows by then (default now)."),
    ] = None,
) -> None:
    """SMS-assisted conversions and attribution models, beside the lift."""
    try:
        if model is not None:
            check_model(model)
        settings = AttributionSettings(
            lookback_days=lookback_days,
            conversion_types=tuple(conversion_type) if conversion_type else None,
            collapse_repeats=collapse,
            markov_order=markov_order,
            models=(model,) if model else MODELS,
        )
    except AttributionError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None

    moment = as_of.astimezone() if as_of is not None else None
    notes: list[str] = []
    with user_errors():
        engine = store()
        with session_scope(engine) as session:
            if flow:
                chosen = [get_flow(session, key) for key in flow]
            else:
                chosen = list(
                    session.exec(select(Flow).where(Flow.kind == "flow")).all()
                )
            with connect() as warehouse:
                report = build_assists(
                    warehouse, settings, flows=list(flow) if flow else None
                )
                reports = (
                    []
                    if model
                    else _flow_reports(warehouse, session, chosen, moment, notes)
                )
    comparison = credit_vs_causation(report, reports)

    if model is not None:
        _print_model(report, model, output)
    elif output is AssistsFormat.json:
        payload = {
            "assists": jsonable(report),
            "credit_vs_causation": jsonable(comparison),
            "notes": notes,
        }
        typer.echo(json.dumps(payload))
    elif output is AssistsFormat.csv:
        typer.echo(_csv(_long_rows(report, comparison), LONG_COLUMNS), nl=False)
    else:
        _print_tables(report, comparison)
    for note in (*report.notes, *notes):
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)


def _flow_reports(
    warehouse: Warehouse,
    session: Session,
    flows: list[Flow],
    moment: datetime | None,
    notes: list[str],
) -> list[FlowReport]:
    """Lift reports for the flows; a flow without a comparable holdout is
    left out with a note."""
    try:
        return build_reports(warehouse, session, flows, as_of=moment)
    except ReportError:
        pass
    reports = []
    for item in flows:
        try:
            reports.extend(build_reports(warehouse, session, [item], as_of=moment))
        except ReportError as error:
            notes.append(f"{item.key}: no lift to compare ({error})")
    return reports


def _print_model(report: AssistsReport, model: str, output: AssistsFormat) -> None:
    rows = model_rows(report, model)
    if output is AssistsFormat.json:
        typer.echo(json.dumps(rows))
        return
    if output is AssistsFormat.csv:
        columns = ("model", "state", "conversions", "value", "removal_effect")
        typer.echo(_csv(rows, columns), nl=False)
        return
    table = Table(title=f"{model}: credit per state ({_scope(report)})")
    for column in ("state", "conversions", "value", "removal effect"):
        table.add_column(column, justify="left" if column == "state" else "right")
    for row in rows:
        effect = row["removal_effect"]
        table.add_row(
            row["state"],
            f"{row['conversions']:,.1f}",
            f"{row['value']:,.2f}",
            "" if effect is None else f"{effect:.3f}",
        )
    out.print(table)


def _scope(report: AssistsReport) -> str:
    return (
        f"{report.conversions_with_path:,} of {report.conversions:,} conversions "
        f"on a path; lookback {report.settings.lookback_days} days"
    )


def _print_tables(
    report: AssistsReport, comparison: tuple[CreditVsCausation, ...]
) -> None:
    out.print(f"[bold]Assists[/bold]: {_scope(report)}", highlight=False)
    metrics = Table(title="Assisted and last-touch conversions (never added)")
    for column in ("dimension", "key", "on path", "assisted", "click", "view",
                   "last touch", "assist ratio", "lag days", "path len"):  # fmt: skip
        metrics.add_column(column, justify="left" if column in ("dimension", "key")
                           else "right")  # fmt: skip
    for row in assist_rows(report):
        if row["dimension"] == "campaign":
            continue
        metrics.add_row(
            row["dimension"], row["key"], f"{row['conversions']:,}",
            f"{row['assisted']:,}", f"{row['click_assisted']:,}",
            f"{row['view_assisted']:,}", f"{row['last_touch']:,}",
            _plain(row["assist_ratio"], "{:.2f}"),
            _plain(row["mean_lag_days"], "{:.1f}"),
            _plain(row["mean_path_length"], "{:.1f}"),
        )  # fmt: skip
    out.print(metrics)

    models = Table(title="Credited conversions by model")
    models.add_column("state")
    for credit in report.models:
        models.add_column(credit.model, justify="right")
    states = sorted({state for credit in report.models for state in credit.channels})
    for state in states:
        cells = [f"{credit.credit().get(state, 0.0):,.0f}" for credit in report.models]
        models.add_row(state, *cells)
    out.print(models)

    paths = Table(title="Top conversion paths")
    for column in ("path", "conversions", "value", "non-converting"):
        paths.add_column(column, justify="left" if column == "path" else "right")
    for item in report.top_paths:
        paths.add_row(
            item.path, f"{item.conversions:,}", f"{item.value:,.2f}", f"{item.nulls:,}"
        )
    out.print(paths)

    if comparison:
        table = Table(title="Credit beside causation (95% CI)")
        for column in ("flow", "assisted", "last touch", "incremental",
                       "assisted / incremental", "verdict"):  # fmt: skip
            table.add_column(column, justify="left" if column == "flow" else "right")
        for row in comparison:
            incremental = row.incremental_conversions
            table.add_row(
                row.flow,
                f"{row.assisted:,}",
                f"{row.last_touch:,}",
                _interval(incremental.value, incremental.lower, incremental.upper),
                _interval(
                    row.assisted_ratio.value,
                    row.assisted_ratio.lower,
                    row.assisted_ratio.upper,
                    digits=2,
                ),
                row.verdict.replace("_", " "),
            )
        out.print(table)
        for row in comparison:
            out.print(row.summary, highlight=False)


def _plain(number: float | None, pattern: str) -> str:
    return "undefined" if number is None else pattern.format(number)


def _interval(value: float, lower: float, upper: float, *, digits: int = 0) -> str:
    if not math.isfinite(value):
        return "undefined"

    def show(number: float) -> str:
        if math.isinf(number):
            return "∞" if number > 0 else "-∞"
        return f"{number:,.{digits}f}"

    return f"{show(value)} [{show(lower)}, {show(upper)}]"


def _long_rows(
    report: AssistsReport, comparison: tuple[CreditVsCausation, ...]
) -> list[dict[str, Any]]:
    rows = []
    for row in assist_rows(report):
        for metric, value in row.items():
            if metric in ("dimension", "key"):
                continue
            rows.append(
                {"table": "assists", "model": "", "dimension": row["dimension"],
                 "key": row["key"], "metric": metric, "value": value}
            )  # fmt: skip
    for row in model_rows(report):
        for metric in ("conversions", "value", "removal_effect"):
            if row[metric] is None:
                continue
            rows.append(
                {"table": "models", "model": row["model"], "dimension": "state",
                 "key": row["state"], "metric": metric, "value": row[metric]}
            )  # fmt: skip
    for row in causation_rows(comparison):
        for metric, value in row.items():
            if metric == "flow":
                continue
            rows.append(
                {"table": "credit_vs_causation", "model": "", "dimension": "flow",
                 "key": row["flow"], "metric": metric, "value": value}
            )  # fmt: skip
    return rows


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

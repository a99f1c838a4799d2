"""Commands that read results: report and plan."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import select

from liftlab.cli.common import app, err, out, store, user_errors
from liftlab.reporting import CSV_COLUMNS, jsonable, overview_rows, report_rows
from liftlab.results import FlowReport, build_reports, overview
from liftlab.stats import Estimate, plan_sample_size
from liftlab.store.engine import session_scope
from liftlab.store.flows import get_flow
from liftlab.store.tables import Flow
from liftlab.warehouse import PRE_PERIOD, connect


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Adjustment(StrEnum):
    holm = "holm"
    benjamini_hochberg = "benjamini_hochberg"


@app.command("report")
def report_command(
    flow: Annotated[str | None, typer.Argument(help="The flow key.")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every flow, with adjusted p-values.")
    ] = False,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="Count units whose window closed by then (default now)."),
    ] = None,
    covariate: Annotated[
        str, typer.Option(help="CUPED covariate: pre_period or a covariate name.")
    ] = PRE_PERIOD,
    adjust: Annotated[
        Adjustment, typer.Option(help="Multiple-testing adjustment for --all.")
    ] = Adjustment.holm,
) -> None:
    """A flow's lift with honest intervals, or an overview of every flow."""
    if flow is None and not every:
        raise typer.BadParameter("give a FLOW or --all", param_hint="FLOW")
    moment = as_of.astimezone() if as_of is not None else None
    with user_errors():
        engine = store()
        with session_scope(engine) as session:
            if every:
                flows = list(
                    session.exec(select(Flow).where(Flow.kind == "flow")).all()
                )
            else:
                flows = [get_flow(session, str(flow))]
            with connect() as warehouse:
                reports = build_reports(
                    warehouse, session, flows, as_of=moment, covariate=covariate
                )
    if every:
        _print_overview(reports, output, adjust)
    else:
        _print_report(reports[0], output)


def _print_report(report: FlowReport, output: ReportFormat) -> None:
    if output is ReportFormat.json:
        typer.echo(json.dumps(jsonable(report)))
        return
    if output is ReportFormat.csv:
        typer.echo(_csv(report_rows(report), CSV_COLUMNS), nl=False)
        return

    out.print(
        f"[bold]{report.flow}[/bold]: {report.name}. {report.conversion_type} "
        f"within {report.window_hours:g} h of first entry; holdout "
        f"{report.holdout_percent:g}%, epoch {report.epoch}; windows closed by "
        f"{report.as_of:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )
    arms = Table(title="Arms")
    for column in ("arm", "units", "conversions", "rate (95% CI)", "revenue / unit"):
        arms.add_column(column, justify="left" if column == "arm" else "right")
    for arm in report.arms:
        arms.add_row(
            arm.arm,
            f"{arm.units:,}",
            f"{arm.conversions:,}",
            _interval(arm.rate, percent=True),
            _money(arm.revenue_per_recipient),
        )
    out.print(arms)

    lift = Table(title="Lift against the holdout (95% CI)")
    for column in ("variant", "absolute", "relative", "incremental conv.",
                   "p", "incremental revenue", "cost / incr. conv."):  # fmt: skip
        lift.add_column(column, justify="left" if column == "variant" else "right")
    for result in report.results:
        conversion = result.conversion
        lift.add_row(
            result.variant,
            _interval(conversion.absolute_lift, percent=True, points=True),
            _interval(conversion.relative_lift, percent=True),
            _interval(conversion.incremental_conversions),
            f"{conversion.p_value:.3g} ({conversion.test})",
            _interval(result.revenue.incremental_total, money=True),
            _interval(result.cost_per_incremental_conversion, money=True),
        )
    out.print(lift)

    for result in report.results:
        cuped = result.conversion_cuped
        if math.isfinite(cuped.variance_reduction):
            out.print(
                f"CUPED ({report.covariate}): variance {cuped.variance_reduction:.1%} "
                f"lower; adjusted lift "
                f"{_interval(cuped.absolute_lift, percent=True, points=True)}",
                highlight=False,
            )
        out.print(_verdict(report, result.variant), highlight=False)
    srm = report.srm.flow
    state = "[red]MISMATCH[/red]" if report.srm.mismatch else "ok"
    out.print(
        f"sample ratio: {state} (p = {srm.p_value:.3g} against "
        f"{report.holdout_percent:g}% holdout{'; ' + srm.reason if srm.reason else ''})"
    )
    for dimension, test in report.heterogeneity.items():
        out.print(
            f"lift differs by {dimension}? Cochran's Q p = {test.p_value:.3g}"
            + (f" ({test.reason})" if test.reason else ""),
            highlight=False,
        )
    for guardrail in report.guardrails:
        out.print(
            f"guardrail {guardrail.name}: {_interval(guardrail.rate, percent=True)}",
            highlight=False,
        )
    if report.daily:
        last = report.daily[-1]
        out.print(
            f"always-valid 95% band on the absolute lift after {len(report.daily)} "
            f"days: {last.always_valid_lower * 100:+.2f} to "
            f"{last.always_valid_upper * 100:+.2f} points (safe to look daily)",
            highlight=False,
        )
    for note in report.notes:
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)


def _verdict(report: FlowReport, variant: str) -> str:
    result = next(item for item in report.results if item.variant == variant)
    incremental = result.conversion.incremental_conversions
    if not incremental.defined:
        return f"{variant}: incremental conversions undefined ({incremental.reason})"
    return (
        f"{variant}: SMS caused about {incremental.value:,.0f} extra "
        f"{report.conversion_type} conversions (95% CI {incremental.lower:,.0f} to "
        f"{incremental.upper:,.0f}) among {report.arms[-1].units:,} texted units"
    )


def _print_overview(
    reports: list[FlowReport], output: ReportFormat, adjust: Adjustment
) -> None:
    rows = overview_rows(overview(reports, method=adjust.value))
    if output is ReportFormat.json:
        typer.echo(json.dumps(rows))
        return
    if output is ReportFormat.csv:
        typer.echo(_csv(rows, tuple(rows[0]) if rows else ()), nl=False)
        return
    table = Table(title=f"Every flow (p-values adjusted by {adjust.value})")
    for column in ("flow", "relative lift (95% CI)", "incremental conv.",
                   "adjusted p", "significant", "split"):  # fmt: skip
        table.add_column(column, justify="left" if column == "flow" else "right")
    for row, report in zip(rows, reports, strict=True):
        primary = report.primary.conversion
        table.add_row(
            row["flow"],
            _interval(primary.relative_lift, percent=True),
            _interval(primary.incremental_conversions),
            f"{row['adjusted_p_value']:.3g}",
            "yes" if row["significant"] else "no",
            "MISMATCH" if row["srm_mismatch"] else "ok",
        )
    out.print(table)


def _csv(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _interval(
    estimate: Estimate,
    *,
    percent: bool = False,
    points: bool = False,
    money: bool = False,
) -> str:
    if not estimate.defined:
        return f"undefined ({estimate.reason})"

    def show(number: float) -> str:
        if not math.isfinite(number):
            return "∞" if number > 0 else "-∞"
        if points:
            return f"{number * 100:+.2f}"
        if percent:
            return f"{number:.1%}"
        if money:
            return f"{number:,.2f}"
        return f"{number:,.0f}"

    unit = " pts" if points else ""
    return (
        f"{show(estimate.value)}{unit} [{show(estimate.lower)}, {show(estimate.upper)}]"
    )


def _money(number: float) -> str:
    return f"{number:,.2f}" if math.isfinite(number) else "undefined"


@app.command("plan")
def plan_command(
    baseline: Annotated[float, typer.Option(help="Conversion rate without texts.")],
    lift: Annotated[float, typer.Option(help="Relative lift to detect, e.g. 0.10.")],
    holdout: Annotated[float, typer.Option(help="Holdout percent, e.g. 10.")],
    daily_entries: Annotated[
        float | None, typer.Option(help="Units entering the flow per day.")
    ] = None,
    power: Annotated[float, typer.Option(help="Power to reach.")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
) -> None:
    """Units and days a holdout needs to detect a lift."""
    try:
        plan = plan_sample_size(
            baseline_rate=baseline,
            minimum_relative_lift=lift,
            holdout_percent=holdout,
            alpha=alpha,
            power=power,
            daily_entries=daily_entries,
        )
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"to detect a {lift:.0%} relative lift on a {baseline:.1%} baseline with "
        f"{power:.0%} power at a {holdout:g}% holdout: {plan.units_total:,} "
        f"entrants ({plan.units_holdout:,} held out)",
        highlight=False,
    )
    if plan.days is not None:
        out.print(f"at {daily_entries:,.0f} entries a day: about {plan.days:,} days")
    if plan.warning:
        err.print(f"[yellow]warning:[/yellow] {plan.warning}", highlight=False)

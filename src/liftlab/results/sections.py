"""Report sections beyond the main comparison: the split check, the daily
band, segments, heterogeneity and guardrails."""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftlab.results.types import DailyLift, Guardrail, SegmentLift
from liftlab.stats import (
    ConfidenceSequence,
    Estimate,
    Heterogeneity,
    SampleRatioCheck,
    SplitPeriod,
    compare_rates,
    rate_confidence_sequence,
    rate_lift_heterogeneity,
    sample_ratio_mismatch,
    wilson_interval,
)

__all__ = [
    "daily_lift",
    "guardrails",
    "heterogeneity",
    "sample_ratio_check",
    "segment_lifts",
]


def sample_ratio_check(
    rows: pd.DataFrame, percents: dict[int, float], exposed_variants: int
) -> SampleRatioCheck:
    periods = []
    for version, part in rows.groupby("flow_version"):
        flow_units = part[part["reason"] != "global_holdout"]
        arms = flow_units.groupby("arm")["units"].sum()
        periods.append(
            SplitPeriod(
                n_exposed=int(arms.get("exposed", 0)),
                n_holdout=int(arms.get("holdout", 0)),
                holdout_percent=percents.get(int(version), percents[max(percents)]),
            )
        )
    return sample_ratio_mismatch(periods)


def daily_lift(compared: pd.DataFrame, alpha: float) -> tuple[DailyLift, ...]:
    by_day = (
        compared.assign(exposed=compared["arm"] == "exposed")
        .groupby(["day", "exposed"])[["units", "converters"]]
        .sum()
        .unstack("exposed", fill_value=0)
        .sort_index()
        .cumsum()
    )
    if by_day.empty or (True not in by_day["units"]) or (False not in by_day["units"]):
        return ()
    n_exposed = by_day["units"][True].to_numpy()
    n_holdout = by_day["units"][False].to_numpy()
    sequence: ConfidenceSequence = rate_confidence_sequence(
        n_exposed=n_exposed,
        x_exposed=by_day["converters"][True].to_numpy(),
        n_holdout=n_holdout,
        x_holdout=by_day["converters"][False].to_numpy(),
        alpha=alpha,
    )
    bounds = np.column_stack(
        [
            sequence.estimate,
            sequence.fixed_lower,
            sequence.fixed_upper,
            sequence.always_valid_lower,
            sequence.always_valid_upper,
        ]
    ).tolist()
    return tuple(
        DailyLift(day, int(exposed), int(holdout), *values)
        for day, exposed, holdout, values in zip(
            by_day.index, n_exposed, n_holdout, bounds, strict=True
        )
    )


def _segment_totals(segment_rows: pd.DataFrame) -> pd.DataFrame:
    compared = segment_rows[segment_rows["reason"] != "global_holdout"]
    return (
        compared.assign(exposed=compared["arm"] == "exposed")
        .groupby(["dimension", "segment", "exposed"])[["units", "converters"]]
        .sum()
        .unstack("exposed", fill_value=0)
    )


def segment_lifts(segment_rows: pd.DataFrame, alpha: float) -> tuple[SegmentLift, ...]:
    if segment_rows.empty:
        return ()
    totals = _segment_totals(segment_rows)
    lifts = []
    for (dimension, segment), row in totals.iterrows():
        n_e, n_h = row.get(("units", True), 0), row.get(("units", False), 0)
        x_e, x_h = row.get(("converters", True), 0), row.get(("converters", False), 0)
        lifts.append(
            SegmentLift(
                dimension=str(dimension),
                segment=str(segment),
                units_exposed=int(n_e),
                units_holdout=int(n_h),
                conversion=compare_rates(
                    n_exposed=n_e,
                    x_exposed=x_e,
                    n_holdout=n_h,
                    x_holdout=x_h,
                    alpha=alpha,
                ),
            )
        )
    return tuple(lifts)


def heterogeneity(segment_rows: pd.DataFrame) -> dict[str, Heterogeneity]:
    if segment_rows.empty:
        return {}
    totals = _segment_totals(segment_rows)
    tests = {}
    for dimension, part in totals.groupby(level="dimension"):
        tests[str(dimension)] = rate_lift_heterogeneity(
            n_exposed=part.get(("units", True), 0).to_numpy(dtype=float),
            x_exposed=part.get(("converters", True), 0).to_numpy(dtype=float),
            n_holdout=part.get(("units", False), 0).to_numpy(dtype=float),
            x_holdout=part.get(("converters", False), 0).to_numpy(dtype=float),
        )
    return tests


def guardrails(message_row: pd.Series | None, alpha: float) -> tuple[Guardrail, ...]:
    if message_row is None or not message_row["units"]:
        return ()
    units, opted = int(message_row["units"]), float(message_row["opted_out_units"])
    lower, upper = wilson_interval(n=units, x=opted, alpha=alpha)
    return (
        Guardrail(
            name="sms_opt_out_rate",
            rate=Estimate(opted / units, float(lower), float(upper)),
            units=units,
            note="share of texted units that opted out of SMS; the holdout gets "
            "no texts, so it has no opt-out rate to compare with",
        ),
    )

"""The known true effects of a simulated programme, as table rows.

Each flow's truth is taken over its entrants in the current epoch outside
the global holdout (exposed and flow-holdout units), the population a
holdout comparison measures; per segment likewise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from liftlab.simulate import scenario as sc
from liftlab.simulate.flows import EXPOSED, FLOW_HOLDOUT, FlowDraw
from liftlab.simulate.population import Population

__all__ = ["RUN_KEY", "TRUTH_COLUMNS", "FlowTruth", "flow_truths", "truths_frame"]

RUN_KEY = "_run"
TRUTH_COLUMNS = ("flow_key", "dimension", "segment", "quantity", "value")

Record = tuple[str, str, str, str, float]


@dataclass(frozen=True, slots=True)
class FlowTruth:
    """A flow's true effect, whole (empty dimension) or in one segment.

    Attributes:
        flow: The flow key.
        dimension: ``lifecycle`` or ``ltv_tier``; empty for the whole flow.
        segment: The segment, e.g. ``new``; empty for the whole flow.
        entrants: Entrants outside the global holdout.
        exposed: Exposed entrants.
        baseline_rate: Mean chance of converting in the window without a text.
        absolute_lift: Mean of ``p1 - p0``: the true difference in rates.
        relative_lift: Mean ``p1`` over mean ``p0``, minus one.
        incremental_conversions: Sum of ``p1 - p0`` over exposed entrants.
    """

    flow: str
    dimension: str
    segment: str
    entrants: int
    exposed: int
    baseline_rate: float
    absolute_lift: float
    relative_lift: float
    incremental_conversions: float


def truths_frame(
    draws: Sequence[FlowDraw],
    outcomes: Sequence[tuple[np.ndarray, np.ndarray]],
    population: Population,
    *,
    seed: int,
    days: int,
    start: datetime,
) -> pd.DataFrame:
    """Rows of ``simulation_truths``: per flow, whole and by segment.

    Quantities: ``entrants`` and ``exposed`` (units), ``baseline_rate``
    (mean ``p0``), ``true_absolute_lift`` (mean ``p1 - p0``),
    ``true_relative_lift`` (mean ``p1`` / mean ``p0`` - 1) and
    ``true_incremental_conversions`` (sum of ``p1 - p0`` over exposed
    units). A segment without entrants has no rows. The run itself is the
    flow ``_run`` with quantities ``seed``, ``days`` and ``customers``.
    """
    records: list[Record] = [
        (RUN_KEY, "", "", "seed", float(seed)),
        (RUN_KEY, "", "", "days", float(days)),
        (RUN_KEY, "", "", "customers", float(len(population))),
        (RUN_KEY, "", "", "start", start.timestamp()),
    ]
    for draw, (p0, p1) in zip(draws, outcomes, strict=True):
        counted = (draw.arm == EXPOSED) | (draw.arm == FLOW_HOLDOUT)
        groups = [("", "", counted)]
        for dimension, codes, names in (
            ("lifecycle", population.lifecycle[draw.units], sc.LIFECYCLES),
            ("ltv_tier", population.tier[draw.units], sc.TIERS),
        ):
            for code, name in enumerate(names):
                groups.append((dimension, name, counted & (codes == code)))
        for dimension, segment, members in groups:
            where = (draw.spec.key, dimension, segment)
            records += _quantities(where, p0, p1, members, draw.arm == EXPOSED)
    return pd.DataFrame.from_records(records, columns=list(TRUTH_COLUMNS))


def _quantities(
    where: tuple[str, str, str],
    p0: np.ndarray,
    p1: np.ndarray,
    members: np.ndarray,
    exposed: np.ndarray,
) -> list[Record]:
    count = int(members.sum())
    if count == 0:
        return []
    p0_mean = float(p0[members].mean())
    p1_mean = float(p1[members].mean())
    treated = members & exposed
    values = {
        "entrants": float(count),
        "exposed": float(treated.sum()),
        "baseline_rate": p0_mean,
        "true_absolute_lift": float((p1[members] - p0[members]).mean()),
        "true_relative_lift": p1_mean / p0_mean - 1.0,
        "true_incremental_conversions": float((p1[treated] - p0[treated]).sum()),
    }
    return [(*where, quantity, value) for quantity, value in values.items()]


def flow_truths(truths: pd.DataFrame) -> tuple[FlowTruth, ...]:
    """Truth rows as one :class:`FlowTruth` per flow and segment."""
    rows = truths[truths["flow_key"] != RUN_KEY]
    if rows.empty:
        return ()
    wide = rows.pivot_table(
        index=["flow_key", "dimension", "segment"],
        columns="quantity",
        values="value",
        aggfunc="first",
        sort=False,
    )
    effects = [
        FlowTruth(
            flow=str(flow),
            dimension=str(dimension),
            segment=str(segment),
            entrants=int(values.get("entrants", 0)),
            exposed=int(values.get("exposed", 0)),
            baseline_rate=float(values.get("baseline_rate", math.nan)),
            absolute_lift=float(values.get("true_absolute_lift", math.nan)),
            relative_lift=float(values.get("true_relative_lift", math.nan)),
            incremental_conversions=float(
                values.get("true_incremental_conversions", math.nan)
            ),
        )
        for (flow, dimension, segment), values in wide.iterrows()
    ]
    return tuple(sorted(effects, key=_order))


def _order(effect: FlowTruth) -> tuple[bool, str, str, int, str]:
    """Whole flows first, then by dimension, flow and the segment's rank."""
    known = {"lifecycle": sc.LIFECYCLES, "ltv_tier": sc.TIERS}.get(effect.dimension, ())
    rank = known.index(effect.segment) if effect.segment in known else len(known)
    return (effect.dimension != "", effect.dimension, effect.flow, rank, effect.segment)

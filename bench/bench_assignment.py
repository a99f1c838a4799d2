"""Assignment throughput, with the GrowthBook Python SDK as the peer.

Run as ``python bench/bench_assignment.py [--ids N]``. One run generates
realistic unit ids (platform customer ids, ULID profile ids and E.164 phone
numbers, a small share with non-ASCII characters) and measures:

- ``assign_many`` with a global holdout and a flow holdout, end to end from a
  Python list of ids, in ids per second (best and median of several runs);
- ``bucket_indices``, the vectorised hash kernel, from a prepared numpy array,
  in ids per second;
- the scalar ``bucket`` per call in nanoseconds, beside the SDK's
  ``gbhash(seed, id, 2)`` on the same ids, after checking that both give
  identical buckets.

The batch figures are compared with a target of 5,000,000 ids per second.
Results are printed as a table and written to ``bench/results/assignment.json``.
Nothing here asserts on time; the exit status is 1 only when a bucket differs
from the SDK's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from liftlab.assignment import (
    BUCKETS,
    FlowRule,
    GlobalRule,
    assign_many,
    bucket,
    bucket_indices,
)

try:
    from growthbook.core import gbhash
except ImportError:  # pragma: no cover - the SDK is a development dependency
    sys.exit("the GrowthBook SDK is missing: run `uv sync` to install dev deps")

TARGET_IDS_PER_SECOND = 5_000_000
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "assignment.json"

FLOW = FlowRule(key="abandoned_cart", salt="abandoned_cart", holdout_percent=10.0)
GLOBAL = GlobalRule(salt="global_2026", holdout_percent=5.0)

# E.164 country codes with their national number lengths.
_PHONE_PLANS = [("1", 10), ("44", 10), ("49", 11), ("33", 9), ("61", 9), ("55", 11)]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NON_ASCII_NAMES = [
    "josé.garcía",
    "zoë.müller",
    "łukasz.żak",
    "søren.ærø",
    "顧客",
    "用户",
    "клиент",
    "αλέξης",
    "🎉vip",
    "𠀋family",
]


@dataclass(frozen=True, slots=True)
class Rate:
    """Throughput of one batch path over repeated runs."""

    runs: int
    best_seconds: float
    median_seconds: float
    best_ids_per_second: float
    median_ids_per_second: float
    target_ratio: float


@dataclass(frozen=True, slots=True)
class PerCall:
    """Cost of one scalar call, best and median over repeated passes."""

    runs: int
    best_ns: float
    median_ns: float


def realistic_ids(count: int, *, seed: int = 2026) -> list[str]:
    """Unit ids as an SMS programme sees them, about 2% non-ASCII."""
    rng = random.Random(seed)
    units: list[str] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.35:
            units.append(str(rng.randrange(10**12, 10**13)))
        elif kind < 0.50:
            units.append("01" + "".join(rng.choices(_CROCKFORD, k=24)))
        elif kind < 0.98:
            country, digits = rng.choice(_PHONE_PLANS)
            units.append(f"+{country}{rng.randrange(10 ** (digits - 1), 10**digits)}")
        else:
            name = rng.choice(_NON_ASCII_NAMES)
            units.append(f"{name}{rng.randrange(10**6)}@example.com")
    return units


def _timings(work: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return seconds


def _rate(seconds: list[float], count: int) -> Rate:
    best = min(seconds)
    median = statistics.median(seconds)
    return Rate(
        runs=len(seconds),
        best_seconds=best,
        median_seconds=median,
        best_ids_per_second=count / best,
        median_ids_per_second=count / median,
        target_ratio=count / best / TARGET_IDS_PER_SECOND,
    )


def _per_call(seconds: list[float], count: int) -> PerCall:
    return PerCall(
        runs=len(seconds),
        best_ns=min(seconds) / count * 1e9,
        median_ns=statistics.median(seconds) / count * 1e9,
    )


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one run measured, as written to the JSON file."""

    created: str
    ids: int
    non_ascii_ids: int
    scalar_ids: int
    seed: str
    assign_many: Rate
    bucket_indices: Rate
    bucket_scalar: PerCall
    growthbook_gbhash: PerCall
    scalar_speedup_vs_sdk: float
    target_ids_per_second: int
    bucket_mismatches: int
    bucket_indices_mismatches: int
    environment: dict[str, str | int | None]

    @property
    def identical(self) -> bool:
        """Whether both liftlab paths gave the SDK's bucket for every id."""
        return self.bucket_mismatches == 0 and self.bucket_indices_mismatches == 0


def run(count: int, scalar_count: int, runs: int) -> Report:
    """Generate the ids, time every path, and check buckets against the SDK."""
    units = realistic_ids(count)
    prepared = np.asarray(units, dtype=np.str_)
    sample = units[: min(scalar_count, count)]
    seed = FLOW.salt

    # One warm-up call builds the cached digit tables of the batch path.
    assign_many(FLOW, units[:1_000], global_rule=GLOBAL)
    batch_seconds = _timings(lambda: assign_many(FLOW, units, global_rule=GLOBAL), runs)
    kernel_seconds = _timings(lambda: bucket_indices(seed, prepared), runs)

    scalar_runs = 3
    scalar_seconds = _timings(
        lambda: [bucket(seed, unit) for unit in sample], scalar_runs
    )
    sdk_seconds = _timings(
        lambda: [gbhash(seed, unit, 2) for unit in sample], scalar_runs
    )

    ours = [bucket(seed, unit) for unit in sample]
    theirs = [gbhash(seed, unit, 2) for unit in sample]
    batch = (bucket_indices(seed, sample) / BUCKETS).tolist()

    scalar = _per_call(scalar_seconds, len(sample))
    sdk = _per_call(sdk_seconds, len(sample))
    return Report(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        ids=count,
        non_ascii_ids=sum(not unit.isascii() for unit in units),
        scalar_ids=len(sample),
        seed=seed,
        assign_many=_rate(batch_seconds, count),
        bucket_indices=_rate(kernel_seconds, count),
        bucket_scalar=scalar,
        growthbook_gbhash=sdk,
        scalar_speedup_vs_sdk=sdk.best_ns / scalar.best_ns,
        target_ids_per_second=TARGET_IDS_PER_SECOND,
        bucket_mismatches=sum(a != b for a, b in zip(ours, theirs, strict=True)),
        bucket_indices_mismatches=sum(
            a != b for a, b in zip(batch, theirs, strict=True)
        ),
        environment={
            "python": platform.python_version(),
            "numpy": np.__version__,
            "growthbook": version("growthbook"),
            "liftlab": version("liftlab"),
            "machine": platform.machine(),
            "system": platform.system(),
            "cpus": os.cpu_count(),
        },
    )


def render(report: Report, console: Console) -> None:
    """Print the figures of one run as a table."""
    batch = report.assign_many
    kernel = report.bucket_indices
    target = f"target {TARGET_IDS_PER_SECOND / 1e6:g}M ids/s"

    title = (
        f"liftlab assignment: {report.ids:,} ids in batch, {report.scalar_ids:,} scalar"
    )
    table = Table(title=title)
    table.add_column("path")
    table.add_column("best", justify="right")
    table.add_column("median", justify="right")
    table.add_column("peer")
    table.add_column("ratio", justify="right")
    table.add_row(
        "assign_many ids/s",
        f"{batch.best_ids_per_second:,.0f}",
        f"{batch.median_ids_per_second:,.0f}",
        target,
        f"{batch.target_ratio:.2f}x",
    )
    table.add_row(
        "bucket_indices ids/s",
        f"{kernel.best_ids_per_second:,.0f}",
        f"{kernel.median_ids_per_second:,.0f}",
        target,
        f"{kernel.target_ratio:.2f}x",
    )
    table.add_row(
        "bucket() ns/call",
        f"{report.bucket_scalar.best_ns:,.0f}",
        f"{report.bucket_scalar.median_ns:,.0f}",
        f"gbhash {report.growthbook_gbhash.best_ns:,.0f} ns",
        f"{report.scalar_speedup_vs_sdk:.1f}x faster",
    )
    console.print(table)

    verdict = "identical" if report.identical else "DIFFERENT"
    console.print(
        f"buckets vs gbhash on {report.scalar_ids:,} ids: {verdict} "
        f"({report.bucket_mismatches} scalar and "
        f"{report.bucket_indices_mismatches} batch mismatches)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1_000_000, help="batch size")
    parser.add_argument(
        "--scalar-ids", type=int, default=200_000, help="ids for the scalar timing"
    )
    parser.add_argument("--runs", type=int, default=5, help="repeats of each batch")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    options = parser.parse_args(argv)
    if options.ids < 1 or options.scalar_ids < 1 or options.runs < 1:
        parser.error("--ids, --scalar-ids and --runs must be positive")

    report = run(options.ids, options.scalar_ids, options.runs)

    render(report, Console())
    options.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(report), indent=2, ensure_ascii=False)
    options.output.write_text(text + "\n", encoding="utf-8")
    Console(stderr=True).print(f"wrote {options.output}")
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())

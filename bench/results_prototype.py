"""A faster ``flow_statistics`` expression, measured beside the current one.

This is a proof for a suggested change to ``liftlab.warehouse``; liftlab
itself does not use it. The current expression left-joins every entry to its
unit's conversions and groups the result by entry (about ten keys, one group
per entry: ten million groups for ten million entries) before the final
group-by. The prototype aggregates per entry only the entries that matched a
conversion, and adds every entry's count (and, for a covariate from the
``covariates`` table, its value) in a second, plain part; the two are
stacked with ``UNION ALL`` and summed by group. It is the same Ibis, backend
neutral, and gives the same table.

Run as ``python bench/results_prototype.py [--rows N ...]``: first a check
that both expressions give the same statistics, on a simulated store with
segments and a named covariate and on the benchmark's DuckDB files, then
timings in fresh processes, ``--runs`` times each, round robin:

- ``stats``: one ``flow_statistics`` pass, current and prototype, also with
  DuckDB's ``memory_limit`` set to ``--memory-limit`` (default 512MB);
- ``report``: ``build_reports``, current, and with the prototype expression
  plus skipping the segment pass when ``customer_segments`` is empty.

Usage as a child: ``results_prototype.py --child PATH FILE STORE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from liftlab.warehouse import GROUPS, PRE_PERIOD, STAT_COLUMNS, FlowStatistics
from liftlab.warehouse import Warehouse as CurrentWarehouse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "results" / "data"
FLOW_KEY = "abandoned_cart"
AS_OF_ISO = "2026-12-01T00:00:00+00:00"


class FastWarehouse(CurrentWarehouse):
    """``Warehouse`` with the prototype expression; nothing else changes."""

    skip_empty_segments = False

    def flow_statistics(
        self, flows: list[str] | None = None, **options: Any
    ) -> FlowStatistics:
        # With no segments the segment pass can only return no rows: ask for
        # no flow, which the database answers without reading entries.
        if (
            self.skip_empty_segments
            and options.get("by_segment")
            and self.table("customer_segments").count().execute() == 0
        ):
            flows = []
        return super().flow_statistics(flows, **options)

    def _expression(
        self,
        flows: list[str] | None,
        *,
        as_of_seconds: int,
        covariate: str,
        pre_seconds: int,
        by_segment: bool,
    ) -> ir.Table:
        flow_table = self.table("flows")
        chosen = flow_table.filter(flow_table.kind == "flow")
        if flows is not None:
            chosen = chosen.filter(chosen.key.isin(flows))
        rules = chosen.select(
            rule_key=chosen.key,
            rule_epoch=chosen.epoch,
            window_seconds=(chosen.window_hours * 3600).cast("int64"),
            conversion_type=chosen.conversion_type,
        )
        entries = self.table("entries")
        entries = entries.mutate(
            entered_seconds=entries.entered_at.epoch_seconds().cast("int64"),
            day=entries.entered_at.date(),
            variant=entries.variant.fill_null(""),
        )
        entered = entries.join(
            rules,
            [entries.flow_key == rules.rule_key, entries.epoch == rules.rule_epoch],
        )
        entered = entered.mutate(
            closed=(entered.entered_seconds + entered.window_seconds) <= as_of_seconds
        ).select(*GROUPS, "unit_id", "entered_seconds", "window_seconds",
                 "conversion_type", "closed")  # fmt: skip
        conversions = self.table("conversions")
        conversions = conversions.select(
            conversion_unit=conversions.unit_id,
            conversion_type_=conversions.type,
            conversion_value=conversions.value,
            converted_seconds=conversions.occurred_at.epoch_seconds().cast("int64"),
        )

        # Only entries with a conversion in [entry - pre-period, window end).
        matched = entered.join(
            conversions,
            [
                entered.unit_id == conversions.conversion_unit,
                entered.conversion_type == conversions.conversion_type_,
                conversions.converted_seconds >= entered.entered_seconds - pre_seconds,
                conversions.converted_seconds
                < entered.entered_seconds + entered.window_seconds,
            ],
        )
        inside = matched.converted_seconds >= matched.entered_seconds
        per_entry = matched.group_by(
            [*GROUPS, "unit_id", "entered_seconds", "closed"]
        ).aggregate(
            in_window=inside.ifelse(1, 0).sum(),
            value=inside.ifelse(matched.conversion_value, 0.0).sum(),
            pre_value=(~inside).ifelse(matched.conversion_value, 0.0).sum(),
        )

        pre = covariate == PRE_PERIOD
        every = self._covariate_of(entered, covariate)
        per_entry = self._covariate_of(per_entry, covariate)
        zero, none = ibis.literal(0.0, "float64"), ibis.literal(0, "int64")
        keys = [*GROUPS, "unit_id", "closed"]
        counted = every.select(
            *keys,
            n=ibis.literal(1, "int64"),
            converters=none,
            value=zero,
            value_sq=zero,
            covariate=zero if pre else every.covariate_value,
            covariate_sq=zero if pre else every.covariate_value**2,
            converted_covariate=zero,
            value_covariate=zero,
        )
        converted = (per_entry.in_window > 0).ifelse(1, 0).cast("int64")
        value = per_entry.value
        x = per_entry.pre_value if pre else per_entry.covariate_value
        summed = per_entry.select(
            *keys,
            n=none,
            converters=converted,
            value=value,
            value_sq=value * value,
            covariate=x if pre else zero,
            covariate_sq=x * x if pre else zero,
            converted_covariate=converted * x,
            value_covariate=value * x,
        )
        rows = counted.union(summed)

        groups = list(GROUPS)
        if by_segment:
            segments = self.table("customer_segments")
            rows = rows.join(segments, rows.unit_id == segments.unit_id).select(
                rows, segment_dimension=segments.dimension, segment=segments.value
            )
            groups += ["segment_dimension", "segment"]

        closed = rows.closed
        return rows.group_by(groups).aggregate(
            units=closed.ifelse(rows.n, 0).sum(),
            open_units=(~closed).ifelse(rows.n, 0).sum(),
            **{name: closed.ifelse(rows[name], 0.0).sum() for name in STAT_COLUMNS[1:]},
        )

    def _covariate_of(self, table: ir.Table, covariate: str) -> ir.Table:
        if covariate == PRE_PERIOD:
            return table
        values = self.table("covariates")
        chosen = values.filter(values.name == covariate).select(
            covariate_unit=values.unit_id, covariate_value=values.value
        )
        joined = table.left_join(chosen, table.unit_id == chosen.covariate_unit)
        return joined.select(
            table, covariate_value=joined.covariate_value.fill_null(0.0)
        )


def _same(left: pd.DataFrame, right: pd.DataFrame) -> float:
    """The largest relative difference of two statistics tables; inf when
    their groups differ."""
    keys = [name for name in (*GROUPS, "dimension", "segment") if name in left]
    left = left.sort_values(keys, na_position="first").reset_index(drop=True)
    right = right.sort_values(keys, na_position="first").reset_index(drop=True)
    if not left[keys].astype(str).equals(right[keys].astype(str)):
        return float("inf")
    columns = [*STAT_COLUMNS, "open_units"]
    a, b = left[columns].to_numpy(float), right[columns].to_numpy(float)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-9)
    return float(np.max(np.abs(a - b) / scale, initial=0.0))


def check(files: list[Path]) -> dict[str, float]:
    """Current and prototype statistics on a simulated store (segments, a
    named covariate, open windows) and on the benchmark files."""
    from liftlab.simulate import run_demo
    from liftlab.store.engine import make_engine
    from liftlab.store.migrate import upgrade
    from liftlab.warehouse import connect

    found: dict[str, float] = {}
    early = datetime.fromisoformat("2026-10-03T00:00:00+00:00")
    with tempfile.TemporaryDirectory(prefix="liftlab-proto-") as folder:
        url = f"sqlite:///{folder}/demo.db"
        engine = make_engine(url)
        upgrade(engine)
        run_demo(engine, seed=11, days=30, customers=4_000, actor="bench",
                 experiments_dir=ROOT / "experiments")  # fmt: skip
        engine.dispose()
        with connect(url) as current:
            fast = FastWarehouse(current.backend, name=current.name)
            for label, options in (
                ("demo", {}),
                ("demo by segment", {"by_segment": True}),
                ("demo named covariate", {"covariate": "spend_prior_90d"}),
                ("demo covariate by segment",
                 {"covariate": "spend_prior_90d", "by_segment": True}),
            ):  # fmt: skip
                found[label] = _same(
                    current.flow_statistics(as_of=early, **options).table,
                    fast.flow_statistics(as_of=early, **options).table,
                )
    as_of = datetime.fromisoformat(AS_OF_ISO)
    for file in files:
        with connect(f"duckdb:///{file}") as current:
            fast = FastWarehouse(current.backend, name=current.name)
            found[file.name] = _same(
                current.flow_statistics([FLOW_KEY], as_of=as_of).table,
                fast.flow_statistics([FLOW_KEY], as_of=as_of).table,
            )
    return found


def child(path: str, file: str, store: str, limit: str) -> dict[str, float]:
    """One timed path, in this process."""
    import ibis.backends.duckdb  # noqa: F401 - loaded before the clock
    import scipy.stats  # noqa: F401
    from sqlmodel import Session

    from liftlab.results import build_reports
    from liftlab.store.engine import make_engine
    from liftlab.store.tables import Flow
    from liftlab.warehouse import connect

    as_of = datetime.fromisoformat(AS_OF_ISO)
    engine = make_engine(store)
    spill = tempfile.mkdtemp(prefix="liftlab-spill-")
    start = time.perf_counter()
    with connect(f"duckdb:///{file}") as current:
        warehouse: CurrentWarehouse = current
        if path.startswith("proto"):
            warehouse = FastWarehouse(current.backend, name=current.name)
            warehouse.skip_empty_segments = True
        if path.endswith("limited"):
            current.backend.con.execute(f"SET temp_directory = '{spill}'")
            current.backend.con.execute(f"SET memory_limit = '{limit}'")
        if "stats" in path:
            warehouse.flow_statistics([FLOW_KEY], as_of=as_of)
        else:
            with Session(engine) as session:
                flow = session.get(Flow, FLOW_KEY)
                build_reports(warehouse, session, [flow], as_of=as_of)
    seconds = time.perf_counter() - start
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    return {"seconds": seconds, "peak_rss_mb": int(peak.split()[1]) / 1024}


PATHS = (
    "current_stats",
    "proto_stats",
    "proto_stats_limited",
    "current_report",
    "proto_report",
    "proto_report_limited",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="512MB")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "FILE", "STORE"))
    options = parser.parse_args(argv)
    if options.child:
        print(json.dumps(child(*options.child, options.memory_limit)))
        return 0

    from bench_results import make_store
    from results_data import warehouse_file

    console = Console()
    files = [warehouse_file(rows, DATA) for rows in options.rows]
    differences = check(files)
    for label, difference in differences.items():
        console.print(f"same statistics, {label}: largest difference {difference:.1e}")

    table = Table(title="flow_statistics: current expression against prototype")
    for name in ("entries", "path", "best s", "median s", "peak MB"):
        table.add_column(name, justify="left" if name == "path" else "right")
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="liftlab-proto-") as folder:
        store = make_store(Path(folder))
        for rows, file in zip(options.rows, files, strict=True):
            results: dict[str, list[dict[str, float]]] = {p: [] for p in PATHS}
            for _ in range(options.runs):
                for path in PATHS:
                    command = [
                        sys.executable,
                        __file__,
                        "--child",
                        path,
                        str(file),
                        store,
                        "--memory-limit",
                        options.memory_limit,
                    ]
                    done = subprocess.run(
                        command, capture_output=True, text=True, check=True
                    )
                    results[path].append(json.loads(done.stdout.splitlines()[-1]))
            for path in PATHS:
                seconds = [item["seconds"] for item in results[path]]
                peak = max(item["peak_rss_mb"] for item in results[path])
                figures[f"{rows}/{path}"] = {
                    "best_seconds": min(seconds),
                    "median_seconds": statistics.median(seconds),
                    "peak_rss_mb": peak,
                }
                table.add_row(
                    f"{rows:,}",
                    path,
                    f"{min(seconds):.2f}",
                    f"{statistics.median(seconds):.2f}",
                    f"{peak:,.0f}",
                )
            table.add_section()
    console.print(table)
    output = ROOT / "bench" / "results" / "results_prototype.json"
    output.write_text(
        json.dumps(
            {
                "differences": differences,
                "timings": figures,
                "memory_limit": options.memory_limit,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0 if max(differences.values()) <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())

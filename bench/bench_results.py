"""A flow's lift report from DuckDB, with tea-tasting and bare scans as peers.

Run as ``python bench/bench_results.py [--rows N ...]``. For each entry count
(default 1,000,000 and 10,000,000) one DuckDB file holds one flow's entries
and conversions (``results_data.py``), and each path below runs in its own
process (``results_child.py``), ``--runs`` times (default 3), round robin:

- liftlab: ``build_reports`` end to end from ``connect("duckdb:///...")``,
  and one ``Warehouse.flow_statistics`` pass on its own;
- tea-tasting 1.x: ``Experiment(conversion=Mean("converted"),
  revenue=Mean("value")).analyze`` on an Ibis expression that joins the same
  raw tables inside the window (the like-for-like peer), and on a ready
  per-unit table whose derivation is not timed;
- plain DuckDB: one ``GROUP BY`` scan of ``entries``, one of the per-unit
  table, and the window join with both group-bys in one SQL statement.

Targets: liftlab no slower than tea-tasting, at most twice the bare scan of
``entries``, and peak memory flat from the smallest to the largest count.
Results are printed as tables and written to ``bench/results/results.json``.
Nothing asserts on time; the exit status is 1 when liftlab's absolute lift
in conversion or in revenue per recipient differs from tea-tasting's effect
size by more than 1e-9 relative, 2 when a path fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from rich.console import Console
from rich.table import Table

from liftlab.experiments import apply_specs, load_specs
from liftlab.store.engine import make_engine
from liftlab.store.migrate import upgrade
from results_data import warehouse_file

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RESULTS_PATH = RESULTS / "results.json"
DATA = RESULTS / "data"
CHILD = Path(__file__).resolve().with_name("results_child.py")

PATHS = {
    "liftlab_report": "liftlab report",
    "liftlab_stats": "liftlab stats pass",
    "tea_join": "tea-tasting, join",
    "tea_table": "tea-tasting, table",
    "scan_entries": "scan entries",
    "scan_experiment": "scan per-unit",
    "sql_join": "SQL window join",
}
CHECKED = ("liftlab_report", "liftlab_stats", "tea_join", "tea_table")
TARGET_VS_TEA = 1.0
TARGET_VS_SCAN = 2.0
# "Flat" memory, read as: the peak at the largest count within 25% of the
# peak at the smallest.
TARGET_MEMORY_GROWTH = 1.25
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Timing:
    """One path at one entry count over repeated runs."""

    path: str
    rows: int
    runs: int
    best_seconds: float
    median_seconds: float
    peak_rss_mb: float
    rss_start_mb: float
    conversion_lift: float | None
    revenue_lift: float | None
    units: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """liftlab against its peers and the targets at one entry count."""

    rows: int
    conversions: int
    vs_tea_join: float
    vs_tea_table: float
    vs_scan_entries: float
    vs_sql_join: float
    largest_difference: float
    agree: bool


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one run measured, as written to the JSON file."""

    created: str
    rows: list[int]
    files: dict[str, int]
    timings: list[Timing]
    verdicts: list[Verdict]
    memory_growth: float | None
    targets: dict[str, float]
    tea_tasting_input: str
    environment: dict[str, str | int | None]

    @property
    def identical(self) -> bool:
        """Whether liftlab found tea-tasting's effects at every count."""
        return all(item.agree for item in self.verdicts)


class PathFailedError(RuntimeError):
    """A child process did not finish its path."""


def make_store(folder: Path) -> str:
    """A SQLite store with the flows of ``experiments/`` applied."""
    url = f"sqlite:///{folder / 'liftlab.db'}"
    engine = make_engine(url)
    upgrade(engine)
    apply_specs(engine, load_specs(ROOT / "experiments"), actor="bench")
    engine.dispose()
    return url


def run_path(path: str, file: Path, store: str) -> dict[str, float]:
    """One run of one path in a fresh process."""
    finished = subprocess.run(
        [sys.executable, str(CHILD), path, str(file), store],
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise PathFailedError(f"{path} on {file.name} failed:\n{finished.stderr}")
    return json.loads(finished.stdout.splitlines()[-1])


def _timing(path: str, rows: int, results: list[dict[str, float]]) -> Timing:
    seconds = [float(item["seconds"]) for item in results]
    last = results[-1]
    return Timing(
        path=path,
        rows=rows,
        runs=len(results),
        best_seconds=min(seconds),
        median_seconds=statistics.median(seconds),
        peak_rss_mb=max(float(item["peak_rss_mb"]) for item in results),
        rss_start_mb=statistics.median(float(item["rss_start_mb"]) for item in results),
        conversion_lift=last.get("conversion_lift"),
        revenue_lift=last.get("revenue_lift"),
        units=int(last["units"]) if "units" in last else None,
    )


def _relative(left: float | None, right: float | None) -> float:
    if left is None or right is None:
        return float("inf")
    return abs(left - right) / max(abs(left), abs(right), 1e-300)


def _verdict(rows: int, conversions: int, timings: dict[str, Timing]) -> Verdict:
    report = timings["liftlab_report"]
    differences = [
        _relative(getattr(timings[path], metric), getattr(report, metric))
        for path in CHECKED
        for metric in ("conversion_lift", "revenue_lift")
        if path in timings
    ]
    largest = max(differences)

    def ratio(peer: str) -> float:
        if peer not in timings:
            return float("nan")
        return report.best_seconds / timings[peer].best_seconds

    return Verdict(
        rows=rows,
        conversions=conversions,
        vs_tea_join=ratio("tea_join"),
        vs_tea_table=ratio("tea_table"),
        vs_scan_entries=ratio("scan_entries"),
        vs_sql_join=ratio("sql_join"),
        largest_difference=largest,
        agree=largest <= TOLERANCE,
    )


def _conversions(file: Path) -> int:
    import duckdb

    with duckdb.connect(str(file), read_only=True) as connection:
        found = connection.execute("SELECT count(*) FROM conversions").fetchone()
    return int(found[0]) if found else 0


def run(counts: list[int], runs: int, paths: list[str], console: Console) -> Report:
    """Build the files, time every path at every count, and compare answers."""
    timings: list[Timing] = []
    verdicts: list[Verdict] = []
    files: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="liftlab-bench-") as folder:
        store = make_store(Path(folder))
        for rows in counts:
            console.print(f"[dim]{rows:,} entries: preparing the DuckDB file[/dim]")
            file = warehouse_file(rows, DATA)
            files[file.name] = file.stat().st_size
            results: dict[str, list[dict[str, float]]] = {path: [] for path in paths}
            for attempt in range(runs):
                for path in paths:
                    console.print(
                        f"[dim]{rows:,} entries: {path}, run {attempt + 1}[/dim]"
                    )
                    results[path].append(run_path(path, file, store))
            found = {path: _timing(path, rows, results[path]) for path in paths}
            timings.extend(found.values())
            if "liftlab_report" in found:
                verdicts.append(_verdict(rows, _conversions(file), found))

    return Report(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=counts,
        files=files,
        timings=timings,
        verdicts=verdicts,
        memory_growth=_memory_growth(timings, counts),
        targets={
            "liftlab_over_tea_tasting": TARGET_VS_TEA,
            "liftlab_over_scan_entries": TARGET_VS_SCAN,
            "memory_growth": TARGET_MEMORY_GROWTH,
            "relative_tolerance": TOLERANCE,
        },
        tea_tasting_input=(
            "tea_join: an Ibis expression joining entries to purchases inside "
            "the window, timed; tea_table: the per-unit table `experiment`, "
            "derived in SQL beforehand, derivation not timed"
        ),
        environment=_environment(),
    )


def _memory_growth(timings: list[Timing], counts: list[int]) -> float | None:
    peaks = {
        item.rows: item.peak_rss_mb for item in timings if item.path == "liftlab_report"
    }
    if len(counts) < 2 or min(counts) not in peaks or max(counts) not in peaks:
        return None
    return peaks[max(counts)] / peaks[min(counts)]


def _environment() -> dict[str, str | int | None]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "python": platform.python_version(),
        "liftlab": version("liftlab"),
        "tea-tasting": version("tea-tasting"),
        "ibis-framework": version("ibis-framework"),
        "duckdb": version("duckdb"),
        "pandas": version("pandas"),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "memory_gb": round(pages / 2**30),
    }


def render(report: Report, console: Console) -> None:
    """Print the figures of one run as tables."""
    table = Table(title="liftlab results from DuckDB: seconds and peak memory")
    table.add_column("entries", justify="right")
    table.add_column("path", no_wrap=True)
    for name in ("best s", "median", "÷ ours", "peak MB", "start MB"):
        table.add_column(name, justify="right")
    by_key = {(item.path, item.rows): item for item in report.timings}
    for rows in report.rows:
        ours = by_key.get(("liftlab_report", rows))
        for path, label in PATHS.items():
            item = by_key.get((path, rows))
            if item is None:
                continue
            share = f"{item.best_seconds / ours.best_seconds:.2f}" if ours else ""
            table.add_row(
                _count(rows),
                label,
                f"{item.best_seconds:,.2f}",
                f"{item.median_seconds:,.2f}",
                share,
                f"{item.peak_rss_mb:,.0f}",
                f"{item.rss_start_mb:,.0f}",
            )
        table.add_section()
    console.print(table)
    _render_targets(report, console)


def _render_targets(report: Report, console: Console) -> None:
    by_key = {(item.path, item.rows): item for item in report.timings}
    targets = Table(title="liftlab build_reports against peers and targets")
    for name in ("entries", "liftlab ÷ tea join", "liftlab ÷ tea table",
                 "liftlab ÷ scan", "liftlab ÷ SQL join", "answers"):  # fmt: skip
        targets.add_column(name, justify="right")
    for item in report.verdicts:
        targets.add_row(
            f"{item.rows:,}",
            _against(item.vs_tea_join, TARGET_VS_TEA),
            _against(item.vs_tea_table, TARGET_VS_TEA),
            _against(item.vs_scan_entries, TARGET_VS_SCAN),
            f"{item.vs_sql_join:.2f}x",
            ("agree" if item.agree else "DIFFER") + f" ({item.largest_difference:.1e})",
        )
    console.print(targets)
    for item in report.verdicts:
        join, scan = (
            by_key.get(("sql_join", item.rows)),
            by_key.get(("scan_entries", item.rows)),
        )
        if join and scan:
            console.print(
                f"{item.rows:,} entries: the plain SQL window join alone takes "
                f"{join.best_seconds / scan.best_seconds:.0f}x the bare scan"
            )
    console.print(
        "targets: ≤ 1x tea-tasting, ≤ 2x the bare GROUP BY of entries; "
        "best of runs; tea-tasting's 'table' input is derived beforehand, "
        "untimed; its 'join' input starts from the raw tables like liftlab"
    )

    if report.memory_growth is not None:
        peaks = {
            item.rows: item for item in report.timings if item.path == "liftlab_report"
        }
        low, high = peaks[min(report.rows)], peaks[max(report.rows)]
        met = "met" if report.memory_growth <= TARGET_MEMORY_GROWTH else "MISSED"
        console.print(
            f"liftlab peak memory: {low.peak_rss_mb:,.0f} MB at {low.rows:,} "
            f"entries, {high.peak_rss_mb:,.0f} MB at {high.rows:,} "
            f"({report.memory_growth:.2f}x; flat read as ≤ "
            f"{TARGET_MEMORY_GROWTH:g}x: {met}); {low.rss_start_mb:,.0f} MB "
            "after imports"
        )


def _count(rows: int) -> str:
    return f"{rows / 1e6:g}M" if rows % 100_000 == 0 else f"{rows:,}"


def _against(ratio: float, target: float) -> str:
    mark = "met" if ratio <= target else "MISSED"
    return f"{ratio:.2f}x {mark}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="entry counts, smallest first",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each path")
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=list(PATHS),
        default=list(PATHS),
        help="paths to time (default: all)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    options = parser.parse_args(argv)
    if min(options.rows) < 1_000 or options.runs < 1:
        parser.error("--rows must be at least 1,000 and --runs positive")

    console = Console()
    try:
        report = run(sorted(set(options.rows)), options.runs, options.paths, console)
    except PathFailedError as error:
        Console(stderr=True).print(str(error))
        return 2

    render(report, console)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(report), indent=2, ensure_ascii=False)
    options.output.write_text(text + "\n", encoding="utf-8")
    Console(stderr=True).print(f"wrote {options.output}")
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())

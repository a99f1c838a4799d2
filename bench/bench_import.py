"""Importing touches from Parquet, beside a plain bulk load of the same file.

Run as ``python bench/bench_import.py [--rows N] [--backends sqlite,postgresql]
[--postgres-url URL]``. One run writes (or reuses) a Parquet file of N
realistic touches and, for each backend, loads it twice into the ``touches``
table of a fresh, migrated store with the flows applied:

- ``liftlab``: ``liftlab.ingest.import_file``, validated and all or nothing;
- ``plain``: what a competent engineer would write without liftlab, in one
  transaction: ``executemany`` on a raw ``sqlite3`` connection for SQLite,
  ``COPY ... FROM STDIN`` of CSV batches with psycopg for PostgreSQL.

The file is written by ``import_data.py`` and the stores are made by
``import_stores.py``. Each load runs in its own process
(``import_child.py``), which reports its seconds and peak resident memory.
Afterwards the table must hold exactly N rows, liftlab must say it inserted
N, and both loads must have stored the same values (aggregates per channel
and kind, and every column of a 1/256 sample of rows). The figures are
compared with the targets: liftlab at least half the plain load's rows per
second, and under 1 GiB of peak memory. Results are printed as a table and
written to ``bench/results/import.json``. Nothing asserts on time; the exit
status is 1 only when the stored values differ, and 2 when a load fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

import liftlab.ingest
from import_data import touch_file
from import_stores import Store, fresh_store, postgres_server, unreachable
from liftlab.store.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
RESULTS_PATH = RESULTS / "import.json"
DATA_DIR = RESULTS / "data"
CHILD = Path(__file__).resolve().with_name("import_child.py")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

TARGET_SPEED_RATIO = 0.5
TARGET_PEAK_MB = 1024.0

_AGGREGATES = (
    "SELECT channel, kind, count(*), count(flow_key), count(campaign), "
    "count(message_id), min(occurred_at), max(occurred_at) FROM touches "
    "GROUP BY channel, kind ORDER BY channel, kind"
)
_SAMPLE = (
    "SELECT touch_id, unit_id, channel, kind, occurred_at, flow_key, campaign, "
    "message_id FROM touches WHERE touch_id < '01' ORDER BY touch_id"
)


@dataclass(frozen=True, slots=True)
class Run:
    """One load of the file into a fresh store."""

    backend: str
    path: str
    seconds: float
    rows_per_second: float
    peak_rss_mb: float
    rows_read: int
    inserted: int
    stored: int
    sampled: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """liftlab beside the plain load on one backend."""

    backend: str
    speed_ratio: float
    liftlab_peak_rss_mb: float
    plain_peak_rss_mb: float
    meets_speed: bool
    meets_memory: bool
    complete: bool
    identical: bool


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one run measured, as written to the JSON file."""

    created: str
    rows: int
    file: str
    file_bytes: int
    target_speed_ratio: float
    target_peak_mb: float
    runs: list[Run]
    comparisons: list[Comparison]
    skipped: dict[str, str]
    environment: dict[str, str | int | None]

    @property
    def identical(self) -> bool:
        """Whether every backend stored the same values by both paths."""
        return all(item.identical and item.complete for item in self.comparisons)


class LoadFailedError(RuntimeError):
    """A child process did not finish its load."""


def load(path: str, backend: str, store: Store, file: Path, rows: int) -> Run:
    """Run one load in a child process, then check what the store holds."""
    target = store.url if path == "liftlab" else store.plain_target
    finished = subprocess.run(
        [sys.executable, str(CHILD), path, backend, target, str(file)],
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise LoadFailedError(f"{backend} {path} load failed:\n{finished.stderr}")
    result = json.loads(finished.stdout.splitlines()[-1])

    engine = make_engine(store.url)
    with engine.connect() as connection:
        stored = int(connection.execute(text("SELECT count(*) FROM touches")).scalar())
        aggregates = connection.execute(text(_AGGREGATES)).all()
        sample = connection.execute(text(_SAMPLE)).all()
    engine.dispose()

    digest = hashlib.sha256()
    for row in [*aggregates, *sample]:
        digest.update(repr(tuple(row)).encode())
    seconds = float(result["seconds"])
    return Run(
        backend=backend,
        path=path,
        seconds=seconds,
        rows_per_second=rows / seconds,
        peak_rss_mb=float(result["peak_rss_mb"]),
        rows_read=int(result["rows"]),
        inserted=int(result["inserted"]),
        stored=stored,
        sampled=len(sample),
        fingerprint=digest.hexdigest(),
    )


def compare(liftlab: Run, plain: Run, rows: int) -> Comparison:
    """liftlab's figures against the plain load's and the targets."""
    ratio = liftlab.rows_per_second / plain.rows_per_second
    return Comparison(
        backend=liftlab.backend,
        speed_ratio=ratio,
        liftlab_peak_rss_mb=liftlab.peak_rss_mb,
        plain_peak_rss_mb=plain.peak_rss_mb,
        meets_speed=ratio >= TARGET_SPEED_RATIO,
        meets_memory=liftlab.peak_rss_mb < TARGET_PEAK_MB,
        complete=all(
            run.stored == rows and run.inserted == rows for run in (liftlab, plain)
        ),
        identical=liftlab.fingerprint == plain.fingerprint,
    )


def run(
    rows: int, backends: list[str], server: URL | None, skipped: dict[str, str]
) -> Report:
    """Write or reuse the file, then load it both ways on every backend."""
    console = Console(stderr=True)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with console.status(f"writing or reusing a file of {rows:,} touches"):
        file = touch_file(rows, DATA_DIR)

    runs: list[Run] = []
    comparisons: list[Comparison] = []
    for backend in backends:
        pair = []
        for path in ("liftlab", "plain"):
            with (
                console.status(f"{backend}: {path} load of {rows:,} rows"),
                fresh_store(backend, server, folder=DATA_DIR) as store,
            ):
                pair.append(load(path, backend, store, file, rows))
            console.print(
                f"{backend} {path}: {pair[-1].seconds:.1f} s, "
                f"{pair[-1].peak_rss_mb:,.0f} MB peak"
            )
        runs.extend(pair)
        comparisons.append(compare(*pair, rows))

    return Report(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=rows,
        file=str(file.relative_to(ROOT)),
        file_bytes=file.stat().st_size,
        target_speed_ratio=TARGET_SPEED_RATIO,
        target_peak_mb=TARGET_PEAK_MB,
        runs=runs,
        comparisons=comparisons,
        skipped=skipped,
        environment=_environment(server if "postgresql" in backends else None),
    )


def _environment(server: URL | None) -> dict[str, str | int | None]:
    environment: dict[str, str | int | None] = {
        "python": platform.python_version(),
        "liftlab": version("liftlab"),
        "ingest_source_sha256": _source_digest(),
        "pyarrow": version("pyarrow"),
        "pandas": version("pandas"),
        "sqlite": sqlite3.sqlite_version,
        "psycopg": version("psycopg"),
        "postgresql": None,
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
    }
    if server is not None:
        engine = create_engine(server)
        with engine.connect() as connection:
            found = connection.execute(text("SHOW server_version")).scalar()
            environment["postgresql"] = str(found)
        engine.dispose()
    return environment


def _source_digest() -> str:
    """A digest of the importer's source, to tell runs of edited code apart."""
    digest = hashlib.sha256()
    for path in sorted(Path(liftlab.ingest.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def render(report: Report, console: Console) -> None:
    """Print the figures of one run as a table."""
    title = f"liftlab import: {report.rows:,} touches from Parquet"
    table = Table(title=title)
    table.add_column("backend", no_wrap=True)
    table.add_column("path")
    for name in ("seconds", "rows/s", "peak RSS MB", "liftlab ÷ plain"):
        table.add_column(name, justify="right")
    by_backend = {item.backend: item for item in report.comparisons}
    for item in report.runs:
        found = by_backend[item.backend]
        ratio = f"{found.speed_ratio:.2f}x" if item.path == "liftlab" else ""
        table.add_row(
            item.backend,
            item.path,
            f"{item.seconds:,.1f}",
            f"{item.rows_per_second:,.0f}",
            f"{item.peak_rss_mb:,.0f}",
            ratio,
        )
    console.print(table)

    for found in report.comparisons:
        speed = "met" if found.meets_speed else "MISSED"
        memory = "met" if found.meets_memory else "MISSED"
        pair = [item for item in report.runs if item.backend == found.backend]
        stored = ", ".join(f"{item.path} {item.stored:,}" for item in pair)
        verdict = "identical" if found.identical else "DIFFERENT"
        console.print(
            f"{found.backend}: speed {found.speed_ratio:.2f}x of plain (target "
            f"≥ {TARGET_SPEED_RATIO:g}x: {speed}); peak "
            f"{found.liftlab_peak_rss_mb:,.0f} MB (target < {TARGET_PEAK_MB:,.0f} "
            f"MB: {memory}); rows stored {stored} of {report.rows:,}; aggregates "
            f"and a sample of {pair[0].sampled:,} rows: {verdict}"
        )
    for backend, reason in report.skipped.items():
        console.print(f"{backend}: skipped ({reason})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="touches")
    parser.add_argument(
        "--backends", help="comma-separated: sqlite,postgresql (default both)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LIFTLAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a server where a scratch database may be created and dropped",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    options = parser.parse_args(argv)
    backends = (options.backends or "sqlite,postgresql").split(",")
    unknown = set(backends) - {"sqlite", "postgresql"}
    if options.rows < 1 or unknown:
        parser.error("--rows must be positive; --backends sqlite and/or postgresql")

    console = Console()
    server, skipped = None, {}
    if "postgresql" in backends:
        server = postgres_server(options.postgres_url)
        problem = unreachable(server)
        if problem and options.backends:
            parser.error(f"--postgres-url: {problem}")
        if problem:
            skipped["postgresql"] = problem
            backends.remove("postgresql")
            server = None

    try:
        report = run(options.rows, backends, server, skipped)
    except LoadFailedError as error:
        console.print(str(error), markup=False)
        return 2

    render(report, console)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    text_out = json.dumps(asdict(report), indent=2, ensure_ascii=False)
    options.output.write_text(text_out + "\n", encoding="utf-8")
    Console(stderr=True).print(f"wrote {options.output}")
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())

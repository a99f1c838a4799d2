"""One timed load of a touches file, run in its own process by bench_import.

Usage: ``python bench/import_child.py PATH BACKEND TARGET FILE``, where PATH
is ``liftlab`` or ``plain``, BACKEND is ``sqlite`` or ``postgresql``, TARGET
is the store's SQLAlchemy URL for liftlab, and for the plain load a SQLite
file path or a libpq URL. The process prints one JSON object: ``seconds``,
``rows``, ``inserted`` and ``peak_rss_mb``.

Each path imports only what it needs, inside its own function, so the peak
memory of a plain load is not inflated by liftlab's libraries. Peak memory is
the high-water mark of this process's resident set (``VmHWM``), which, unlike
``ru_maxrss``, does not inherit the parent's figure across ``exec``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BATCH_ROWS = 100_000
FILE_COLUMNS = (
    "touch_id",
    "unit_id",
    "channel",
    "kind",
    "occurred_at",
    "flow",
    "campaign",
    "message_id",
)
STORE_COLUMNS = (
    "touch_id",
    "unit_id",
    "channel",
    "kind",
    "occurred_at",
    "flow_key",
    "campaign",
    "message_id",
    "ingested_at",
)


def liftlab_import(backend: str, target: str, file: Path) -> dict[str, Any]:
    """liftlab's own import: validated, all or nothing, one transaction."""
    from liftlab.ingest import import_file
    from liftlab.store.engine import make_engine

    engine = make_engine(target)
    start = time.perf_counter()
    summary = import_file(engine, "touches", file, actor="bench")
    seconds = time.perf_counter() - start
    engine.dispose()
    return {
        "seconds": seconds,
        "rows": summary.rows_read,
        "inserted": summary.inserted,
        "duplicates": summary.duplicates,
    }


def plain_sqlite(target: str, file: Path) -> dict[str, Any]:
    """``executemany`` in one transaction, times as the store's text form.

    Each column goes to Python once with ``to_pylist`` and rows are zipped
    from the columns. The UTC times lose their zone and are cast to text by
    Arrow, which gives ``YYYY-MM-DD HH:MM:SS.ffffff`` for microseconds; this
    is about ten times faster than ``pyarrow.compute.strftime`` on the zoned
    column, which looks up the zone for every value.
    """
    import sqlite3
    from itertools import repeat

    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ", ".join(STORE_COLUMNS)
    marks = ", ".join("?" for _ in STORE_COLUMNS)
    statement = f"INSERT INTO touches ({names}) VALUES ({marks})"
    ingested = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    start = time.perf_counter()
    connection = sqlite3.connect(target, isolation_level=None)
    rows = 0
    connection.execute("BEGIN")
    for batch in pq.ParquetFile(file).iter_batches(BATCH_ROWS, columns=FILE_COLUMNS):
        columns = [batch.column(name) for name in FILE_COLUMNS]
        columns[4] = columns[4].cast(pa.timestamp("us")).cast(pa.string())
        values = [column.to_pylist() for column in columns]
        connection.executemany(statement, zip(*values, repeat(ingested)))
        rows += batch.num_rows
    connection.execute("COMMIT")
    connection.close()
    return {"seconds": time.perf_counter() - start, "rows": rows, "inserted": rows}


def plain_postgresql(target: str, file: Path) -> dict[str, Any]:
    """``COPY ... FROM STDIN`` in one transaction, the batches sent as CSV.

    Each Parquet batch is written as it is by ``pyarrow.csv.write_csv``, with
    the load time appended as a constant text column.
    """
    import io

    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    statement = f"COPY touches ({', '.join(STORE_COLUMNS)}) FROM STDIN (FORMAT csv)"
    ingested = pa.scalar(datetime.now(UTC).isoformat(), pa.string())
    options = pa_csv.WriteOptions(include_header=False)

    start = time.perf_counter()
    rows = 0
    with (
        psycopg.connect(target) as connection,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for batch in pq.ParquetFile(file).iter_batches(
            BATCH_ROWS, columns=FILE_COLUMNS
        ):
            table = pa.Table.from_batches([batch]).append_column(
                "ingested_at", pa.repeat(ingested, batch.num_rows)
            )
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, write_options=options)
            copy.write(buffer.getbuffer())
            rows += batch.num_rows
    return {"seconds": time.perf_counter() - start, "rows": rows, "inserted": rows}


def peak_rss_mb() -> float:
    """This process's peak resident set in MiB."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def main(argv: list[str]) -> int:
    path, backend, target, file = argv
    if path == "liftlab":
        result = liftlab_import(backend, target, Path(file))
    elif backend == "sqlite":
        result = plain_sqlite(target, Path(file))
    else:
        result = plain_postgresql(target, Path(file))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

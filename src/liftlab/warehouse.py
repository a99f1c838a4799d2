"""Sufficient statistics computed where the data lives.

One backend-neutral Ibis expression turns the entries, conversions and
covariates of a store or a warehouse into a small table: per flow, arm,
variant, assignment reason, flow version, segment and day of first entry,
the units, the converters within the flow's conversion window, the sums and
sums of squares of their value, a pre-entry covariate and the
cross-products that variance reduction needs. No row-level data enters
Python, so memory does not grow with the number of entries.

Where the data lives is ``LIFTLAB_WAREHOUSE_URL``; unset, it is the store:

============================  ==========================================
``sqlite:///liftlab.db``      the SQLite store (the default)
``postgresql://...``          the PostgreSQL store
``duckdb:///path.duckdb``     a DuckDB file holding the tables
                              (``?memory_limit=2GB``; 512MB by default)
``parquet:///folder``         ``folder/<table>.parquet`` files, read by DuckDB
``spark:///folder``           Parquet tables read by Spark (``spark`` extra);
                              ``?master=spark://host:7077`` for a cluster
``bigquery://``, ``snowflake://``, ``trino://``  Ibis's own URL forms
============================  ==========================================

Only the entries that have a conversion in their pre-period or window are
grouped per entry; every entry's count comes from a plain projection, and the
two parts are stacked with ``UNION ALL`` before the final group-by, so the
database never builds one group per entry for the many entries that did not
convert. Windows are compared in whole seconds since the epoch, the same on
every backend: a conversion counts for an entry when ``entered <= converted <
entered + window``. A unit whose window has not closed by ``as_of`` is left
out of the statistics and counted as open, so early results are not biased
by units still in their window.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from liftlab.config import get_settings

__all__ = [
    "PRE_PERIOD",
    "STAT_COLUMNS",
    "TABLES",
    "FlowStatistics",
    "Warehouse",
    "WarehouseError",
    "connect",
    "export_tables",
]

logger = logging.getLogger(__name__)

TABLES = (
    "flows", "entries", "conversions", "covariates", "customer_segments", "messages",
)  # fmt: skip
# Read when present: attribution needs the touches, the results engine not.
OPTIONAL_TABLES = ("touches",)
PRE_PERIOD = "pre_period"
DUCKDB_MEMORY_LIMIT = "512MB"
STAT_COLUMNS = (
    "units", "converters", "value", "value_sq",
    "covariate", "covariate_sq", "converted_covariate", "value_covariate",
)  # fmt: skip
GROUPS = ("flow_key", "arm", "variant", "reason", "flow_version", "day")


class WarehouseError(ValueError):
    """The warehouse URL or its tables cannot be used."""


@dataclass(frozen=True, slots=True)
class FlowStatistics:
    """Sufficient statistics of flows, one row per group.

    Attributes:
        table: Columns ``flow_key, arm, variant, reason, flow_version, day``
            (and ``dimension, segment`` for segment statistics), then
            ``units`` (closed windows), ``converters``, ``value``,
            ``value_sq``, ``covariate``, ``covariate_sq``,
            ``converted_covariate``, ``value_covariate`` and ``open_units``
            (entries whose window is still open).
        covariate: What the covariate is: ``pre_period`` (the value of the
            flow's conversion type in the days before entry) or the name of
            a covariate in the ``covariates`` table.
        as_of: The time windows were closed against.
    """

    table: pd.DataFrame
    covariate: str
    as_of: datetime


class Warehouse:
    """An Ibis connection holding liftlab's tables.

    Attributes:
        backend: The Ibis backend.
        name: The warehouse URL, its password hidden.
        memory_limit: DuckDB's memory cap as set by :func:`connect`; None
            for the other backends.
    """

    def __init__(
        self, backend: Any, *, name: str, memory_limit: str | None = None
    ) -> None:
        self.backend = backend
        self.name = name
        self.memory_limit = memory_limit

    def close(self) -> None:
        """Close the connection."""
        self.backend.disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def table(self, name: str) -> ir.Table:
        try:
            return self.backend.table(name)
        except Warning:
            raise
        except Exception as error:
            raise WarehouseError(
                f"warehouse {self.name}: no table '{name}' ({type(error).__name__})"
            ) from error

    def batches(self, expr: ir.Table, rows: int) -> pa.RecordBatchReader:
        """``expr``'s result as a stream of Arrow record batches of at most
        ``rows`` rows, so that a large result is never held whole."""
        if self.backend.name != "duckdb":
            return self.backend.to_pyarrow_batches(expr, chunk_size=rows)
        # Ibis's DuckDB stream calls a cursor method DuckDB 2 no longer has;
        # the relation's own reader streams the same result, uncopied.
        self.backend._run_pre_execute_hooks(expr)
        relation = self.backend.con.sql(self.backend.compile(expr))
        return relation.to_arrow_reader(rows)

    def release_memory(self) -> None:
        """Give back to the system the memory DuckDB kept after a query.

        DuckDB's allocator keeps what a query freed for reuse, several
        hundred MB after a large join, and the next query's allocations
        come on top of it; setting the memory limit again, to the same
        value, flushes the allocator. The other backends hold a query's
        memory in a server of their own, or in a capped page cache.
        """
        if self.memory_limit is not None:
            self.backend.raw_sql(f"SET memory_limit = '{self.memory_limit}'")

    def flow_statistics(
        self,
        flows: list[str] | None = None,
        *,
        as_of: datetime | None = None,
        covariate: str = PRE_PERIOD,
        pre_period_days: int = 30,
        by_segment: bool = False,
    ) -> FlowStatistics:
        """Sufficient statistics per flow, arm, reason, version and day.

        Args:
            flows: Flow keys to include; all flows when None.
            as_of: Windows must close by then; defaults to now.
            covariate: ``pre_period`` or a name in the ``covariates`` table.
            pre_period_days: Days before entry that make the pre-period.
            by_segment: Also group by customer segment (one row per segment
                dimension and value).
        """
        moment = as_of or datetime.now(UTC)
        expression = self._expression(
            flows,
            as_of_seconds=int(moment.timestamp()),
            covariate=covariate,
            pre_seconds=pre_period_days * 86_400,
            by_segment=by_segment,
        )
        frame = expression.to_pandas()
        return FlowStatistics(
            table=_tidy(frame, by_segment), covariate=covariate, as_of=moment
        )

    def has_segments(self) -> bool:
        """Whether any customer has a segment (else segment passes are empty)."""
        segments = self.table("customer_segments")
        return bool(segments.limit(1).count().to_pyarrow().as_py())

    def message_statistics(self, flows: list[str] | None = None) -> pd.DataFrame:
        """Per flow: texts sent, units texted, texts with a known cost, their
        total cost, and units that opted out (a message status
        ``opted_out``)."""
        messages = self.table("messages")
        if flows is not None:
            messages = messages.filter(messages.flow_key.isin(flows))
        opted = messages.status == "opted_out"
        frame = (
            messages.group_by("flow_key")
            .aggregate(
                messages=messages.count(),
                units=messages.unit_id.nunique(),
                costed=messages.cost.notnull().ifelse(1, 0).sum(),
                cost=messages.cost.sum().fill_null(0.0),
                opted_out_units=opted.ifelse(messages.unit_id, None).nunique(),
            )
            .to_pandas()
        )
        for name in ("messages", "units", "costed", "cost", "opted_out_units"):
            frame[name] = frame[name].astype(float)
        return frame.set_index("flow_key")

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
        # Each branch of the union reads the entries through a projection of
        # its own: a shared one becomes a common table expression that DuckDB
        # materialises, every entry with every column, which spills to disk
        # at ten million entries.
        pre = covariate == PRE_PERIOD
        by_unit = ["unit_id"] if by_segment or not pre else []
        every = self._entered(rules, as_of_seconds, [*GROUPS, "closed", *by_unit])
        entered = self._entered(
            rules, as_of_seconds,
            [*GROUPS, "unit_id", "entered_seconds", "window_seconds",
             "conversion_type", "closed"],
        )  # fmt: skip
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

        every = self._with_covariate(every, covariate)
        per_entry = self._with_covariate(per_entry, covariate)
        zero, none = ibis.literal(0.0, "float64"), ibis.literal(0, "int64")
        keys = [*GROUPS, "closed", *(["unit_id"] if by_segment else [])]
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

    def _entered(
        self, rules: ir.Table, as_of_seconds: int, columns: list[str]
    ) -> ir.Table:
        """The entries of the chosen flows and epochs with their window,
        ``day`` and ``closed``, projected to ``columns`` before the join, so
        that callers asking for different columns share no subquery."""
        entries = self.table("entries")
        computed = ("day", "variant", "entered_seconds")
        wanted = [
            name for name in columns if name in entries.columns and name not in computed
        ]
        entries = entries.select(
            *wanted,
            flow_key_=entries.flow_key,
            epoch_=entries.epoch,
            entered_seconds_=entries.entered_at.epoch_seconds().cast("int64"),
            day=entries.entered_at.date(),
            variant=entries.variant.fill_null(""),
        )
        needed = ["rule_key", "rule_epoch", "window_seconds"]
        needed += [name for name in columns if name in rules.columns]
        rules = rules.select(*dict.fromkeys(needed))
        entered = entries.join(
            rules,
            [entries.flow_key_ == rules.rule_key, entries.epoch_ == rules.rule_epoch],
        )
        closed = (entered.entered_seconds_ + entered.window_seconds) <= as_of_seconds
        return entered.mutate(
            closed=closed, entered_seconds=entered.entered_seconds_
        ).select(*columns)

    def _with_covariate(self, table: ir.Table, covariate: str) -> ir.Table:
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


def _tidy(frame: pd.DataFrame, by_segment: bool) -> pd.DataFrame:
    frame = frame.rename(columns={"segment_dimension": "dimension"})
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["variant"] = frame["variant"].replace("", None)
    for name in (*STAT_COLUMNS, "open_units"):
        frame[name] = frame[name].astype(float)
    frame["flow_version"] = frame["flow_version"].astype(int)
    keys = [*GROUPS, *(("dimension", "segment") if by_segment else ())]
    return frame.sort_values(keys, na_position="first").reset_index(drop=True)


def connect(url: str | None = None) -> Warehouse:
    """Connect to the warehouse: ``url``, else ``LIFTLAB_WAREHOUSE_URL``, else
    the store.

    Raises:
        WarehouseError: An unknown scheme, a missing folder, or a backend
            whose extra is not installed.
    """
    target = (
        url or os.environ.get("LIFTLAB_WAREHOUSE_URL") or (get_settings().database_url)
    )
    scheme = urlparse(target).scheme.split("+")[0]
    try:
        if scheme == "sqlite":
            path = target.split("///", 1)[1] if "///" in target else ":memory:"
            return Warehouse(_tune_sqlite(ibis.sqlite.connect(path)), name=target)
        if scheme in ("postgresql", "postgres"):
            plain = "postgres://" + target.split("://", 1)[1]
            return Warehouse(ibis.connect(plain), name=_hide_password(target))
        if scheme == "duckdb":
            plain = target.split("?", 1)[0]
            path = plain.split("///", 1)[1] if "///" in plain else ":memory:"
            if path != ":memory:" and not Path(path).is_file():
                raise WarehouseError(f"warehouse {target}: no DuckDB file at {path}")
            backend = ibis.duckdb.connect(path, read_only=path != ":memory:")
            return _tuned_duckdb(backend, target)
        if scheme == "parquet":
            backend = _parquet_duckdb(_folder(target.split("?", 1)[0]))
            return _tuned_duckdb(backend, target)
        if scheme == "spark":
            return Warehouse(_spark(target), name=target)
        return Warehouse(ibis.connect(target), name=_hide_password(target))
    except ImportError as error:
        raise WarehouseError(
            f"warehouse {scheme}: its backend is not installed ({error}); "
            "for Spark install liftlab with the 'spark' extra"
        ) from error
    except duckdb.Error as error:
        raise WarehouseError(
            f"warehouse {target}: DuckDB refused it ({error})"
        ) from error


def _tune_sqlite(backend: Any) -> Any:
    """Give SQLite room for the report's joins: a 128 MB page cache, the file
    memory-mapped and temporary B-trees in memory. On the demo store this
    about halves the statistics and segment passes."""
    for pragma in (
        "PRAGMA cache_size = -131072",
        "PRAGMA mmap_size = 1073741824",
        "PRAGMA temp_store = MEMORY",
    ):
        backend.raw_sql(pragma).close()
    return backend


def _tuned_duckdb(backend: Any, url: str) -> Warehouse:
    """Cap DuckDB's memory (``?memory_limit=2GB``; 512MB by default), so that
    a report's memory stays flat as entries grow, and let it spill to the
    system's temporary folder: a read-only file's own folder may not be
    writable."""
    query = parse_qs(urlparse(url).query)
    limit = query.get("memory_limit", [DUCKDB_MEMORY_LIMIT])[0]
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit):
        raise WarehouseError(
            f"warehouse {url}: memory_limit must look like 512MB or 2GB"
        )
    spill = Path(tempfile.gettempdir()) / "liftlab-duckdb"
    backend.raw_sql(f"SET memory_limit = '{limit}'")
    backend.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
    return Warehouse(backend, name=url, memory_limit=limit)


def _hide_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def _folder(url: str) -> Path:
    parsed = urlparse(url)
    folder = Path("/" + (parsed.netloc + parsed.path).lstrip("/"))
    if parsed.netloc and not url.startswith(f"{parsed.scheme}:///"):
        folder = Path(parsed.netloc + parsed.path)
    if not folder.is_dir():
        raise WarehouseError(f"warehouse {url}: {folder} is not a folder")
    return folder


def _parquet_path(folder: Path, table: str) -> str:
    single = folder / f"{table}.parquet"
    if single.is_file():
        return str(single)
    if (folder / table).is_dir():
        return str(folder / table / "*.parquet")
    raise WarehouseError(
        f"warehouse {folder}: no {table}.parquet and no {table}/ folder of Parquet"
    )


def _present(folder: Path) -> tuple[str, ...]:
    """The tables a folder holds: every required one, and the optional ones
    that are there."""
    optional = tuple(
        table
        for table in OPTIONAL_TABLES
        if (folder / f"{table}.parquet").is_file() or (folder / table).is_dir()
    )
    return TABLES + optional


def _parquet_duckdb(folder: Path) -> Any:
    backend = ibis.duckdb.connect()
    for table in _present(folder):
        backend.read_parquet(_parquet_path(folder, table), table_name=table)
    return backend


def _spark(url: str) -> Any:
    from pyspark.sql import SparkSession

    parsed = urlparse(url)
    master = parse_qs(parsed.query).get("master", ["local[2]"])[0]
    folder = _folder(url.split("?", 1)[0])
    session = (
        SparkSession.builder.master(master)
        .appName("liftlab")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    for table in _present(folder):
        frame = session.read.parquet("file://" + _parquet_path(folder, table))
        frame.createOrReplaceTempView(table)
    return ibis.pyspark.connect(session)


def export_tables(store: Warehouse, folder: Path) -> dict[str, int]:
    """Write the tables the warehouse reads to ``folder/<table>.parquet``,
    the touches included when the store has them.

    This is how a store's data moves to DuckDB, Parquet or Spark.
    """
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    present = set(store.backend.list_tables())
    written = {}
    for name in (*TABLES, *(t for t in OPTIONAL_TABLES if t in present)):
        table = store.table(name).to_pyarrow()
        pq.write_table(table, folder / f"{name}.parquet")
        written[name] = table.num_rows
    return written

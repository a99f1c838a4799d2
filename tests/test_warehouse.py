"""The same sufficient statistics from SQLite, PostgreSQL, DuckDB and Spark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.reporting import jsonable
from liftlab.results import build_reports
from liftlab.simulate import run_demo
from liftlab.store.tables import Flow
from liftlab.warehouse import (
    STAT_COLUMNS,
    Warehouse,
    WarehouseError,
    connect,
    export_tables,
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime(2026, 10, 3, tzinfo=UTC)
KEYS = ["flow_key", "arm", "variant", "reason", "flow_version", "day"]


@pytest.fixture
def demo_store(engine: Engine, database_url: str) -> str:
    run_demo(
        engine, seed=11, days=30, customers=4_000, actor="test",
        experiments_dir=ROOT / "experiments",
    )  # fmt: skip
    return database_url


@pytest.fixture
def store(demo_store: str) -> Iterator[Warehouse]:
    with connect(demo_store) as warehouse:
        yield warehouse


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    keys = [name for name in KEYS if name in left]
    left = left.sort_values(keys, na_position="first").reset_index(drop=True)
    right = right.sort_values(keys, na_position="first").reset_index(drop=True)
    assert left[keys].astype(str).equals(right[keys].astype(str))
    columns = [*STAT_COLUMNS, "open_units"]
    np.testing.assert_allclose(
        left[columns].to_numpy(), right[columns].to_numpy(), rtol=1e-9, atol=1e-9
    )


def test_store_and_duckdb_agree(store: Warehouse, tmp_path: Path) -> None:
    reference = store.flow_statistics(as_of=AS_OF).table
    export_tables(store, tmp_path / "parquet")
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        for table in ("flows", "entries", "conversions", "covariates",
                      "customer_segments", "messages"):  # fmt: skip
            source = tmp_path / "parquet" / f"{table}.parquet"
            connection.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{source}')"
            )

    assert reference["units"].sum() > 1_000
    assert reference["open_units"].sum() > 0
    _same(
        reference, connect(f"duckdb:///{database}").flow_statistics(as_of=AS_OF).table
    )
    _same(
        reference,
        connect(f"parquet:///{tmp_path / 'parquet'}")
        .flow_statistics(as_of=AS_OF)
        .table,
    )


def test_segment_and_covariate_statistics_agree(
    store: Warehouse, tmp_path: Path
) -> None:
    export_tables(store, tmp_path)
    duck = connect(f"parquet:///{tmp_path}")

    for kwargs in ({"by_segment": True}, {"covariate": "spend_prior_90d"}):
        left = store.flow_statistics(as_of=AS_OF, **kwargs).table
        right = duck.flow_statistics(as_of=AS_OF, **kwargs).table
        assert left["covariate"].sum() > 0
        _same(left, right)


def test_touches_travel_with_the_export(store: Warehouse, tmp_path: Path) -> None:
    written = export_tables(store, tmp_path)
    touches = store.table("touches").count().to_pyarrow().as_py()

    assert touches > 0
    assert written["touches"] == touches
    with connect(f"parquet:///{tmp_path}") as parquet:
        assert parquet.table("touches").count().to_pyarrow().as_py() == touches

    (tmp_path / "touches.parquet").unlink()
    with (
        connect(f"parquet:///{tmp_path}") as parquet,
        pytest.raises(WarehouseError, match="no table 'touches'"),
    ):
        parquet.table("touches")


@pytest.mark.slow
def test_spark_agrees_with_the_store(
    store: Warehouse,
    engine: Engine,
    demo_store: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if "postgresql" in request.node.name:
        pytest.skip("Spark is compared once, against the SQLite store")
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    export_tables(store, tmp_path)

    spark = connect(f"spark:///{tmp_path}")

    _same(
        store.flow_statistics(as_of=AS_OF).table,
        spark.flow_statistics(as_of=AS_OF).table,
    )
    np.testing.assert_allclose(
        _report_numbers(demo_store, engine, store),
        _report_numbers(demo_store, engine, spark),
        rtol=1e-9,
        atol=1e-9,
    )


def test_window_closure_counts_open_units(store: Warehouse) -> None:
    early = store.flow_statistics(as_of=datetime(2026, 9, 10, tzinfo=UTC)).table
    late = store.flow_statistics(as_of=datetime(2027, 1, 1, tzinfo=UTC)).table

    assert late["open_units"].sum() == 0
    assert early["open_units"].sum() > 0
    total = early["units"].sum() + early["open_units"].sum()
    assert total == late["units"].sum()


def test_unknown_warehouse_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="is not a folder"):
        connect(f"parquet:///{tmp_path / 'missing'}")
    with pytest.raises(WarehouseError, match=r"no flows\.parquet and no flows/"):
        connect(f"parquet:///{tmp_path}")


def test_bad_duckdb_warehouses_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(WarehouseError, match=r"no DuckDB file at .*missing\.duckdb"):
        connect(f"duckdb:///{missing}")

    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("these are not DuckDB pages\n" * 1000)
    with pytest.raises(WarehouseError, match="DuckDB refused it"):
        connect(f"duckdb:///{not_duckdb}")

    with pytest.raises(WarehouseError, match="memory_limit must look like"):
        connect("duckdb:///:memory:?memory_limit=lots")


def test_duckdb_spills_to_the_system_temporary_folder(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with connect(f"duckdb:///{path}?memory_limit=256MB") as warehouse:
        settings = warehouse.backend.raw_sql(
            "SELECT current_setting('temp_directory'), current_setting('memory_limit')"
        ).fetchone()
    assert settings[0].endswith("liftlab-duckdb")
    assert settings[1] in ("256.0 MiB", "244.1 MiB")


def test_releasing_duckdb_memory_keeps_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    cap = "SELECT current_setting('memory_limit')"
    with connect(f"duckdb:///{path}?memory_limit=256MB") as warehouse:
        before = warehouse.backend.raw_sql(cap).fetchone()
        warehouse.backend.raw_sql("SELECT sum(range) FROM range(2000000)").fetchone()
        warehouse.release_memory()
        after = warehouse.backend.raw_sql(cap).fetchone()
        assert warehouse.memory_limit == "256MB"
    assert after == before

    # SQLite has no allocator of liftlab's to flush: nothing to release.
    with connect(f"sqlite:///{tmp_path / 'store.db'}") as warehouse:
        assert warehouse.memory_limit is None
        warehouse.release_memory()


def _report_numbers(url: str, engine: Engine, warehouse: Warehouse) -> list[float]:
    """Every number of every flow's report, flattened in a stable order."""
    with Session(engine) as session:
        flows = list(session.exec(select(Flow).where(Flow.kind == "flow")).all())
        reports = build_reports(warehouse, session, flows, as_of=AS_OF)
    numbers: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append(float(value))

    walk(jsonable(reports))
    return numbers


def test_reports_agree_between_store_and_duckdb(
    store: Warehouse, engine: Engine, demo_store: str, tmp_path: Path
) -> None:
    export_tables(store, tmp_path)
    with connect(f"parquet:///{tmp_path}") as duck:
        left = _report_numbers(demo_store, engine, store)
        right = _report_numbers(demo_store, engine, duck)

    assert len(left) == len(right) > 500
    np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-9)

"""Event import: every bad row named, all or nothing, safe to repeat."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from liftlab.experiments import apply_specs, load_specs
from liftlab.ingest import ImportRejectedError, import_file, import_frame
from liftlab.store.tables import Flow

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("touches", "conversions", "messages", "customers", "customer_segments",
          "entries", "import_runs")  # fmt: skip


@pytest.fixture
def store(engine: Engine) -> Engine:
    apply_specs(engine, load_specs(ROOT / "experiments"), actor="test")
    return engine


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every event table, in a stable order."""
    with engine.connect() as connection:
        return {
            table: sorted(
                (
                    tuple(row)
                    for row in connection.execute(text(f"SELECT * FROM {table}"))
                ),
                key=repr,
            )
            for table in TABLES
        }


def _csv(path: Path, text_: str) -> Path:
    path.write_text(text_, encoding="utf-8")
    return path


TOUCHES = """\
touch_id,unit_id,channel,kind,occurred_at,flow,campaign
t1,c1,sms,view,2026-11-02T09:30:00+01:00,abandoned_cart,
t2,c2,email,click,2026-11-02T09:30:00Z,,newsletter
t3,c3,paid_search,session,2026-11-02T10:00:00.250-05:00,,brand
"""


def test_import_touches_converts_times_to_utc(store: Engine, tmp_path: Path) -> None:
    summary = import_file(
        store, "touches", _csv(tmp_path / "t.csv", TOUCHES), actor="a"
    )

    assert (summary.rows_read, summary.inserted, summary.duplicates) == (3, 3, 0)
    with store.connect() as connection:
        rows = dict(
            connection.execute(text("SELECT touch_id, occurred_at FROM touches")).all()
        )
    assert str(rows["t1"]).startswith("2026-11-02 08:30:00")
    assert str(rows["t3"]).startswith("2026-11-02 15:00:00.25")


def test_import_twice_leaves_the_same_tables(store: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", TOUCHES + "t1,c1,sms,view,2026-11-02T09:30:00Z,,\n")

    first = import_file(store, "touches", path, actor="a")
    after_first = snapshot(store)
    second = import_file(store, "touches", path, actor="a")

    assert (first.inserted, first.duplicates) == (3, 1)
    assert (second.inserted, second.duplicates) == (0, 4)
    assert snapshot(store) == after_first


def test_good_and_bad_rows_write_nothing_and_list_each_bad_row(
    store: Engine, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path / "conversions.csv",
        "conversion_id,unit_id,occurred_at,type,value\n"
        "o1,c1,2026-11-03T10:00:00Z,purchase,25.50\n"
        "o2,c2,2026-11-03T10:00:00,purchase,10\n"
        "o3,,2026-11-03T10:00:00Z,purchase,-1\n"
        "o4,c4,2026-11-03T10:00:00Z,Purchase!,abc\n"
        "o5,c5,2026-11-03T10:00:00Z,purchase,12\n",
    )
    before = snapshot(store)

    with pytest.raises(ImportRejectedError) as caught:
        import_file(store, "conversions", path, actor="a")

    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}: row 2 (line 3): occurred_at: has no zone (write it with Z or an "
        "offset such as +01:00)",
        f"{path}: row 3 (line 4): unit_id: is required",
        f"{path}: row 3 (line 4): value: must be a number, 0 or more",
        f"{path}: row 4 (line 5): type: must be 1 to 32 lowercase letters, digits "
        "or underscores",
        f"{path}: row 4 (line 5): value: must be a number, 0 or more",
        f"{path}: 3 of 5 rows rejected; nothing was written",
    ]
    assert snapshot(store) == before


def test_first_hundred_problems_listed_then_counted(
    store: Engine, tmp_path: Path
) -> None:
    rows = "".join(f"t{n},c{n},sms,hover,2026-11-02T09:30:00Z,,\n" for n in range(150))
    path = _csv(tmp_path / "t.csv", TOUCHES.splitlines()[0] + "\n" + rows)

    with pytest.raises(ImportRejectedError) as caught:
        import_file(store, "touches", path, actor="a", batch_rows=40)

    assert len(caught.value.problems) == 100
    message = str(caught.value)
    assert "... and 50 more bad values" in message
    assert "150 of 150 rows rejected" in message


def test_missing_and_unknown_columns_are_named(store: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", "touch_id,unit_id,channel,when\nt1,c1,sms,x\n")

    with pytest.raises(ImportRejectedError) as caught:
        import_file(store, "touches", path, actor="a")

    message = str(caught.value)
    assert f"{path}: kind: column is required" in message
    assert f"{path}: occurred_at: column is required" in message
    assert f"{path}: when: unknown column for touches; allowed:" in message


def test_parquet_needs_zoned_timestamps(store: Engine, tmp_path: Path) -> None:
    base = {
        "touch_id": ["t1", "t2"],
        "unit_id": [101, 102],
        "channel": ["email", "direct"],
        "kind": ["click", "session"],
    }
    zoned = pa.table(base | {"occurred_at": pa.array(
        pd.to_datetime(["2026-11-02T09:30:00Z"] * 2, utc=True))})  # fmt: skip
    naive = pa.table(base | {"occurred_at": pa.array(
        pd.to_datetime(["2026-11-02T09:30:00"] * 2))})  # fmt: skip
    pq.write_table(zoned, tmp_path / "zoned.parquet")
    pq.write_table(naive, tmp_path / "naive.parquet")

    summary = import_file(store, "touches", tmp_path / "zoned.parquet", actor="a")
    assert summary.inserted == 2
    with pytest.raises(ImportRejectedError, match=r"row 1: occurred_at: has no zone"):
        import_file(store, "touches", tmp_path / "naive.parquet", actor="a")
    with store.connect() as connection:
        units = connection.execute(text("SELECT unit_id FROM touches")).scalars()
        assert sorted(units) == ["101", "102"]


def test_customers_normalise_phones_and_update_consent(
    store: Engine, tmp_path: Path
) -> None:
    first = _csv(
        tmp_path / "c1.csv",
        "unit_id,phone,sms_consent,ltv_tier\n"
        "c1,(415) 555-2671,yes,high\n"
        ",415 555 2672,no,low\n",
    )
    second = _csv(tmp_path / "c2.csv", "unit_id,sms_consent\nc1,false\n")

    created = import_file(store, "customers", first, actor="a")
    changed = import_file(store, "customers", second, actor="a")

    assert (created.inserted, changed.inserted, changed.updated) == (2, 0, 1)
    with store.connect() as connection:
        customers = connection.execute(
            text("SELECT unit_id, phone, sms_consent FROM customers ORDER BY unit_id")
        ).all()
        segments = connection.execute(
            text("SELECT unit_id, dimension, value FROM customer_segments")
        ).all()
    assert [tuple(row) for row in customers] == [
        ("+14155552672", "+14155552672", False),
        ("c1", "+14155552671", False),
    ]
    assert sorted(tuple(row) for row in segments) == [
        ("+14155552672", "ltv_tier", "low"),
        ("c1", "ltv_tier", "high"),
    ]


def test_customers_with_invalid_phone_are_rejected_without_echoing_it(
    store: Engine, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "c.csv", "phone\n415 555 2671\n555-0000-99\n")

    with pytest.raises(ImportRejectedError) as caught:
        import_file(store, "customers", path, actor="a")

    assert f"{path}: row 2 (line 3): phone: is not a valid number" in str(caught.value)
    assert "555-0000-99" not in str(caught.value)


def test_entries_arm_is_checked_against_the_hash(store: Engine, tmp_path: Path) -> None:
    entries = pd.DataFrame(
        {
            "flow": ["winback", "winback"],
            "unit_id": ["c1", "c1"],
            "entered_at": ["2026-11-02T09:00:00Z", "2026-11-05T09:00:00Z"],
        }
    )
    summary = import_frame(store, "entries", entries, source="frame", actor="a")
    assert (summary.inserted, summary.rows_read) == (1, 2)

    with Session(store) as session:
        winback = session.get(Flow, "winback")
        assert winback is not None
    with store.connect() as connection:
        arm, count = connection.execute(
            text("SELECT arm, entry_count FROM entries WHERE unit_id = 'c1'")
        ).one()
    assert count == 2
    wrong = "holdout" if arm == "exposed" else "exposed"
    bad = entries.iloc[:1].assign(arm=wrong, unit_id="c1")
    with pytest.raises(ImportRejectedError, match=f"arm: is {wrong} but the assign"):
        import_frame(store, "entries", bad, source="frame", actor="a")


def test_entries_for_unknown_flow_are_rejected(store: Engine) -> None:
    entries = pd.DataFrame(
        {"flow": ["cart"], "unit_id": ["c1"], "entered_at": ["2026-11-02T09:00:00Z"]}
    )
    with pytest.raises(ImportRejectedError, match="flow: no flow 'cart'; known"):
        import_frame(store, "entries", entries, source="frame", actor="a")

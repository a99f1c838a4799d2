"""Paths built in the warehouse: window edges, coupons, nulls, and the same
answer on SQLite, PostgreSQL and DuckDB.

Boundary rule under test: every window is inclusive. A touch exactly one
window before the conversion is eligible; one second earlier it is not. A
touch at the conversion's own second is eligible.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from liftlab.attribution import AttributionSettings
from liftlab.attribution import paths as attribution_paths
from liftlab.attribution.paths import TOP_COLUMNS, PathFrames, _leading, path_frames
from liftlab.store.tables import Conversion, Flow, Message, Touch
from liftlab.warehouse import Warehouse, connect

BUY = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
TABLES = ("flows", "touches", "conversions", "messages", "customer_segments")


def _flow(key: str, *, click_hours: float = 120.0) -> Flow:
    return Flow(
        key=key, name=key, holdout_percent=10.0, salt=key, conversion_type="purchase",
        window_hours=72.0, view_window_hours=24.0, click_window_hours=click_hours,
    )  # fmt: skip


def _sms(unit: str, number: int, kind: str, before: timedelta, flow: str) -> Touch:
    return Touch(
        touch_id=f"{unit}-t{number}", unit_id=unit, channel="sms", kind=kind,
        occurred_at=BUY - before, flow_key=flow, campaign=flow,
    )  # fmt: skip


def _buy(unit: str, *, at: datetime = BUY, coupon: str | None = None) -> Conversion:
    return Conversion(
        conversion_id=f"{unit}-c", unit_id=unit, occurred_at=at, type="purchase",
        value=10.0, coupon_code=coupon,
    )  # fmt: skip


def _rows() -> list[object]:
    """One unit per case; the path each conversion should get is in
    ``EXPECTED``."""
    rows: list[object] = [_flow("cart"), _flow("week", click_hours=168.0)]
    rows += [_sms("view23", 1, "view", 23 * HOUR, "cart"), _buy("view23")]
    rows += [_sms("view30", 1, "view", 30 * HOUR, "cart"), _buy("view30")]
    rows += [_sms("click6", 1, "click", timedelta(days=6), "week"), _buy("click6")]
    rows += [_sms("click8", 1, "click", timedelta(days=8), "week"), _buy("click8")]
    rows += [_sms("edge", 1, "view", 24 * HOUR, "cart"), _buy("edge")]
    rows += [_sms("past", 1, "view", 24 * HOUR + SECOND, "cart"), _buy("past")]
    rows += [
        Touch(touch_id="same-t1", unit_id="same", channel="email", kind="click",
              occurred_at=BUY - 2 * HOUR),
        Touch(touch_id="same-t2", unit_id="same", channel="direct", kind="session",
              occurred_at=BUY),
        _buy("same"),
    ]  # fmt: skip
    rows += [
        Touch(touch_id="old-t1", unit_id="old", channel="email", kind="click",
              occurred_at=BUY - timedelta(days=31)),
        _buy("old"),
    ]  # fmt: skip
    rows += [
        Message(message_id="m1", flow_key="cart", unit_id="shop", sent_at=BUY
                - timedelta(days=20), coupon_code="CART-1"),
        Touch(touch_id="shop-t1", unit_id="shop", channel="paid_search",
              kind="click", occurred_at=BUY - HOUR),
        _buy("shop", coupon="CART-1"),
    ]  # fmt: skip
    rows += [
        Touch(touch_id="null-t1", unit_id="null", channel="email", kind="click",
              occurred_at=BUY - 3 * HOUR),
        Touch(touch_id="null-t2", unit_id="null", channel="email", kind="click",
              occurred_at=BUY - 2 * HOUR),
        _sms("null", 3, "view", HOUR, "cart"),
    ]  # fmt: skip
    return rows


EXPECTED = {
    # A delivery 23 hours before a purchase is inside the 24-hour view
    # window, 30 hours before is outside it.
    "sms:cart": 2,  # view23 and edge
    # A click 6 days before is inside a flow's 7-day click window, 8 days
    # before is outside it.
    "sms:week": 1,  # click6
    "email > direct": 1,  # same: a touch at the conversion's second counts
    "paid_search > sms:cart": 1,  # shop: the redeemed coupon is an SMS click
}


@pytest.fixture
def edge_store(engine: Engine) -> Engine:
    with Session(engine) as session:
        for row in _rows():
            session.add(row)
            session.flush()
        session.commit()
    return engine


def _duckdb_copy(store: Warehouse, folder: Path) -> str:
    path = folder / "copy.duckdb"
    with duckdb.connect(str(path)) as connection:
        for name in TABLES:
            frame = store.table(name).to_pyarrow()  # noqa: F841
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    return f"duckdb:///{path}"


def _store_and_copy(database_url: str, folder: Path) -> Iterator[list[Warehouse]]:
    """The store and a DuckDB copy of its tables, closed after the test."""
    store = connect(database_url)
    duck = connect(_duckdb_copy(store, folder))
    yield [store, duck]
    store.close()
    duck.close()


@pytest.fixture
def warehouses(
    edge_store: Engine, database_url: str, tmp_path: Path
) -> Iterator[list[Warehouse]]:
    yield from _store_and_copy(database_url, tmp_path)


def _converting(warehouse: Warehouse, **options: object) -> dict[str, float]:
    frames = path_frames(warehouse, AttributionSettings(**options))  # type: ignore[arg-type]
    table = frames.paths.to_frame()
    paths = table[table["conversions"] > 0]
    return dict(zip(paths["path"], paths["conversions"], strict=True))


def test_window_edges_on_every_backend(warehouses: list[Warehouse]) -> None:
    for warehouse in warehouses:
        assert _converting(warehouse) == EXPECTED, warehouse.name


def test_conversions_before_any_touch_have_no_path(
    warehouses: list[Warehouse],
) -> None:
    for warehouse in warehouses:
        frames = path_frames(warehouse, AttributionSettings())

        # 9 conversions; view30, click8, past and old have no eligible touch.
        assert frames.totals["conversions"] == 9
        assert frames.totals["with_path"] == 5


def test_non_converting_path_and_collapse(warehouses: list[Warehouse]) -> None:
    for warehouse in warehouses:
        table = path_frames(warehouse, AttributionSettings()).paths.to_frame()
        nulls = table[table["nulls"] > 0]
        collapsed = path_frames(warehouse, AttributionSettings(collapse_repeats=True))
        folded = collapsed.paths.to_frame()
        folded = folded[folded["nulls"] > 0]

        assert dict(zip(nulls["path"], nulls["nulls"], strict=True)) == {
            "email > email > sms:cart": 1
        }
        assert list(folded["path"]) == ["email > sms:cart"]


def test_longer_lookback_reaches_older_touches(warehouses: list[Warehouse]) -> None:
    for warehouse in warehouses:
        paths = _converting(warehouse, lookback_days=31)

        assert paths["email"] == 1  # old: 31 days before, inside a 31-day lookback


def test_assist_counts_split_clicks_and_views(warehouses: list[Warehouse]) -> None:
    for warehouse in warehouses:
        keys = path_frames(warehouse, AttributionSettings()).keys
        flows = keys[keys["dimension"] == "flow"].set_index("key")

        cart = flows.loc["cart"]
        assert (cart["conversions"], cart["last_touch"], cart["assisted"]) == (3, 3, 0)
        assert flows.loc["week", "click_assisted"] == 0


def _by_path(frames: PathFrames) -> pd.DataFrame:
    table = frames.paths.to_frame()
    return table.sort_values("path", ignore_index=True)


def test_path_tables_agree_across_backends(warehouses: list[Warehouse]) -> None:
    frames = [path_frames(w, AttributionSettings()) for w in warehouses]

    for other in frames[1:]:
        pd.testing.assert_frame_equal(_by_path(frames[0]), _by_path(other))
        pd.testing.assert_frame_equal(frames[0].top_paths, other.top_paths)
        # The assists query's parts come in the same order from every backend.
        for part in ("keys", "lags", "lengths", "decay"):
            left, right = getattr(frames[0], part), getattr(other, part)
            pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=part)
        assert frames[0].totals == other.totals


@pytest.fixture
def tie_warehouses(
    engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[list[Warehouse]]:
    """One purchase whose two touches share a second; the SMS touch has the
    smaller id, the email touch the smaller state name."""
    with Session(engine) as session:
        session.add(_flow("cart"))
        session.flush()
        session.add(_sms("tie", 1, "click", HOUR, "cart"))
        session.add(
            Touch(touch_id="tie-t2", unit_id="tie", channel="email", kind="click",
                  occurred_at=BUY - HOUR)
        )  # fmt: skip
        session.add(_buy("tie"))
        session.commit()
    yield from _store_and_copy(database_url, tmp_path)


def test_touches_of_one_second_are_ordered_by_state(
    tie_warehouses: list[Warehouse],
) -> None:
    for warehouse in tie_warehouses:
        frames = path_frames(warehouse, AttributionSettings())
        keys = frames.keys[frames.keys["dimension"] == "channel"].set_index("key")

        # By id the SMS click ("tie-t1") would come first; by state name
        # ("email" < "sms:cart") it comes last, and is the last touch.
        paths = list(frames.paths.to_frame()["path"])
        assert paths == ["email > sms:cart"], warehouse.name
        assert keys.loc["sms", "last_touch"] == 1
        assert keys.loc["email", "assisted"] == 1


def _click(unit: str, number: int, channel: str, before: timedelta) -> Touch:
    return Touch(
        touch_id=f"{unit}-t{number}", unit_id=unit, channel=channel, kind="click",
        occurred_at=BUY - before,
    )  # fmt: skip


@pytest.fixture
def merge_warehouses(
    engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[list[Warehouse]]:
    """Paths that only convert, convert and also end without converting,
    or only end without converting; two converting paths tie."""
    rows: list[object] = [_flow("cart")]
    for unit in ("both1", "both2"):
        rows += [
            _click(unit, 1, "email", 2 * HOUR),
            _sms(unit, 2, "view", HOUR, "cart"),
        ]
        rows += [_buy(unit)]
    rows += [_sms("once", 1, "view", HOUR, "cart"), _buy("once")]
    rows += [_sms("idle", 1, "view", HOUR, "cart")]
    rows += [_click("paid", 1, "paid_search", HOUR), _buy("paid")]
    rows += [_click("walk", 1, "direct", HOUR)]
    with Session(engine) as session:
        for row in rows:
            session.add(row)
            session.flush()
        session.commit()
    yield from _store_and_copy(database_url, tmp_path)


def test_path_table_merges_converting_and_non_converting_paths(
    merge_warehouses: list[Warehouse],
) -> None:
    for warehouse in merge_warehouses:
        frames = path_frames(warehouse, AttributionSettings(top_paths=2))

        table = frames.paths.to_frame()

        # By conversions, most first; "sms:cart" converted once and ended
        # once without converting: one row holds both.
        assert table["conversions"].is_monotonic_decreasing, warehouse.name
        assert _by_path(frames).to_dict("list") == {
            "path": ["direct", "email > sms:cart", "paid_search", "sms:cart"],
            "conversions": [0.0, 2.0, 1.0, 1.0],
            "value": [0.0, 20.0, 10.0, 10.0],
            "nulls": [1.0, 0.0, 0.0, 1.0],
        }, warehouse.name
        # Top paths break the tie at one conversion by path.
        assert list(frames.top_paths["path"]) == ["email > sms:cart", "paid_search"]
        # Each conversion's eligible touches: two for both1 and both2, one
        # for once and paid; shortest first on every backend.
        lengths = frames.lengths
        assert lengths.to_dict("list") == {"touches": [1, 2], "conversions": [2, 2]}
        assert frames.totals == {"conversions": 4.0, "value": 40.0, "with_path": 4.0}


def test_path_table_read_one_row_at_a_time_is_the_same(
    merge_warehouses: list[Warehouse], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = AttributionSettings(top_paths=3)
    for warehouse in merge_warehouses:
        whole = path_frames(warehouse, settings)
        monkeypatch.setattr(attribution_paths, "PATH_BATCH_ROWS", 1)
        batched = path_frames(warehouse, settings)
        monkeypatch.undo()

        assert batched.paths.states == whole.paths.states
        pd.testing.assert_frame_equal(batched.paths.to_frame(), whole.paths.to_frame())
        pd.testing.assert_frame_equal(batched.top_paths, whole.top_paths)
        pd.testing.assert_frame_equal(batched.lengths, whole.lengths)
        assert batched.totals == whole.totals
        assert len(batched.top_paths) == 3


def _batch(rows: list[tuple[str, float]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "path": [path for path, _ in rows],
            "conversions": [conversions for _, conversions in rows],
            "value": [0.0] * len(rows),
            "nulls": [0.0] * len(rows),
        }
    )


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, []), (3, ["z", "a", "b"]), (6, ["z", "a", "b", "c", "y"])],
)
def test_top_paths_across_batches_break_ties_by_path(
    count: int, expected: list[str]
) -> None:
    # Batches by conversions, most first, ties in no particular order; the
    # tie at three conversions spans both batches.
    batches = [
        _batch([("z", 5.0), ("b", 3.0), ("y", 3.0)]),
        _batch([("c", 3.0), ("a", 3.0), ("d", 0.0)]),
    ]
    leaders = pa.schema(TOP_COLUMNS).empty_table()
    for batch in batches:
        leaders = _leading(leaders, batch, count)

    assert leaders["path"].to_pylist() == expected

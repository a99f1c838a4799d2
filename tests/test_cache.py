"""The shared cache of heavy results: keyed by the store's fingerprint,
written atomically, and rebuilt when a file cannot be read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from liftlab import cache
from liftlab.attribution import AssistsReport, AttributionSettings
from liftlab.config import get_settings
from liftlab.simulate import run_demo
from liftlab.store.engine import get_engine, make_engine
from liftlab.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated store, copied by each test that writes to it."""
    path = tmp_path_factory.mktemp("cache") / "liftlab.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    run_demo(
        engine,
        days=14,
        customers=2_000,
        actor="demo",
        experiments_dir=ROOT / "experiments",
    )
    engine.dispose()
    return path


@pytest.fixture
def url(
    demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the demo store, with a private cache folder."""
    copy = tmp_path / "liftlab.db"
    copy.write_bytes(demo_file.read_bytes())
    address = f"sqlite:///{copy}"
    monkeypatch.setenv("LIFTLAB_DATABASE_URL", address)
    monkeypatch.setenv("LIFTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LIFTLAB_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield address
    get_engine(address).dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _files(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.glob(f"{kind}-*.pickle"))


def test_cache_warm_builds_once_then_reads(url: str, tmp_path: Path) -> None:
    first = cache.warm()
    second = cache.warm()

    assert [item.cached for item in first] == [False, False]
    assert [item.cached for item in second] == [True, True]
    assert len(_files(tmp_path / "cache", "reports")) == 1
    assert len(_files(tmp_path / "cache", "assists")) == 1
    assert not list((tmp_path / "cache").glob("*.part"))


def test_cache_reads_what_warm_built(url: str) -> None:
    cache.warm()
    version = cache.fingerprint()

    loaded = cache.flow_reports(version)
    report = cache.assists(version)

    assert loaded.reports
    fresh = cache.build_flow_reports(url)
    assert list(loaded.reports) == list(fresh.reports)
    for key, built in fresh.reports.items():
        cached = loaded.reports[key].primary.conversion.incremental_conversions
        assert cached == built.primary.conversion.incremental_conversions
    assert isinstance(report, AssistsReport)
    assert report.settings == AttributionSettings()


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO import_runs (kind, source, actor, started_at, finished_at, "
        "rows_read, inserted, duplicates, sha256) VALUES ('touches', 'x.csv', 'me', "
        ":now, :now, 0, 0, 0, 'x')",
        "UPDATE entries SET entry_count = entry_count + 1 WHERE id = 1",
        "UPDATE flows SET version = version + 1 WHERE key = 'winback'",
        "DELETE FROM touches WHERE touch_id = (SELECT MIN(touch_id) FROM touches)",
        "DELETE FROM conversions WHERE conversion_id = "
        "(SELECT MIN(conversion_id) FROM conversions)",
        "DELETE FROM messages WHERE message_id = "
        "(SELECT MIN(message_id) FROM messages)",
    ],
    ids=["import", "entry", "flow", "touch", "conversion", "message"],
)
def test_cache_fingerprint_change_invalidates(
    url: str, tmp_path: Path, write: str
) -> None:
    warmed = cache.fingerprint()
    cache.warm()

    with get_engine(url).begin() as connection:
        connection.execute(text(write), {"now": datetime.now(UTC)})
    changed = cache.fingerprint()
    again = cache.warm()

    assert changed != warmed
    assert [item.cached for item in again] == [False, False]
    assert len(_files(tmp_path / "cache", "reports")) == 2


def test_cache_ignores_and_rebuilds_a_corrupt_file(url: str, tmp_path: Path) -> None:
    cache.warm()
    (path,) = _files(tmp_path / "cache", "reports")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])

    rebuilt = cache.warm()
    loaded = cache.flow_reports(cache.fingerprint())

    assert [item.cached for item in rebuilt] == [False, True]
    assert loaded.reports
    assert path.read_bytes() != whole[: len(whole) // 2]


def test_cache_ignores_a_file_holding_something_else(url: str, tmp_path: Path) -> None:
    cache.warm()
    (path,) = _files(tmp_path / "cache", "assists")
    cache.write(path, {"not": "a report"})

    report = cache.assists(cache.fingerprint())

    assert isinstance(report, AssistsReport)
    assert isinstance(cache.read(path), AssistsReport)


def test_cache_keys_assists_by_settings(url: str, tmp_path: Path) -> None:
    version = cache.fingerprint()

    default = cache.assists(version)
    short = cache.assists(version, AttributionSettings(lookback_days=7))

    assert short.settings.lookback_days == 7
    assert default.settings.lookback_days == 30
    assert len(_files(tmp_path / "cache", "assists")) == 2


def test_cache_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "value.pickle"
    cache.write(path, [1, 2, 3])

    with pytest.raises(TypeError):
        cache.write(path, (number for number in range(3)))  # cannot be pickled

    assert cache.read(path) == [1, 2, 3]
    assert [item.name for item in tmp_path.iterdir()] == ["value.pickle"]


def test_cache_folder_defaults_to_a_private_temporary_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LIFTLAB_CACHE_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    get_settings.cache_clear()

    folder = cache.cache_folder()

    assert folder.parent == tmp_path
    assert folder.stat().st_mode & 0o077 == 0
    get_settings.cache_clear()

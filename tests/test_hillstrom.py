"""The real Hillstrom e-mail test loads as a three-arm liftlab experiment."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.hillstrom import HillstromError, load_hillstrom

HILLSTROM = Path(__file__).resolve().parents[2] / "shared" / "data" / "hillstrom.csv"
needs_file = pytest.mark.skipif(
    not HILLSTROM.is_file(),
    reason=f"the Hillstrom file is not at {HILLSTROM} (see shared/data/README.md)",
)

# Group sizes and conversions as published with the MineThatData challenge
# (Hillstrom, 2008) and stated in shared/data/README.md.
EXPECTED_UNITS = {"mens_email": 21_307, "womens_email": 21_387, "holdout": 21_306}
EXPECTED_CONVERSIONS = {"mens_email": 267, "womens_email": 189, "holdout": 122}

_BY_GROUP = """
SELECT COALESCE(e.variant, e.arm) AS grp, count(*) AS units,
       sum(CASE WHEN c.conversion_id IS NULL THEN 0 ELSE 1 END) AS conversions
FROM entries e
LEFT JOIN conversions c ON c.unit_id = e.unit_id AND c.type = 'purchase'
WHERE e.flow_key = 'hillstrom'
GROUP BY COALESCE(e.variant, e.arm)
"""


@needs_file
def test_hillstrom_loads_three_arms_with_published_counts(engine: Engine) -> None:
    loaded = load_hillstrom(engine, HILLSTROM, actor="test")

    assert loaded.matches_published
    with engine.connect() as connection:
        rows = connection.execute(text(_BY_GROUP)).all()
        spend = connection.execute(
            text("SELECT sum(value) FROM conversions WHERE type = 'purchase'")
        ).scalar_one()
        visits = connection.execute(
            text("SELECT count(*) FROM conversions WHERE type = 'visit'")
        ).scalar_one()
        flow = connection.execute(
            text("SELECT assignment FROM flows WHERE key = 'hillstrom'")
        ).scalar_one()
    assert {group: units for group, units, _ in rows} == EXPECTED_UNITS
    assert {group: conv for group, _, conv in rows} == EXPECTED_CONVERSIONS
    assert spend == pytest.approx(30_311.69 + 23_038.11 + 13_908.33)
    assert visits == 3_894 + 3_238 + 2_262
    assert flow == "external"


@needs_file
def test_hillstrom_loads_twice_without_change(engine: Engine) -> None:
    load_hillstrom(engine, HILLSTROM, actor="test")
    again = load_hillstrom(engine, HILLSTROM, actor="test")

    assert [summary.inserted for summary in again.imports] == [0, 0, 0]


def test_hillstrom_refuses_another_file(engine: Engine, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("recency,spend\n1,0\n")

    with pytest.raises(HillstromError, match="not the Hillstrom file: missing"):
        load_hillstrom(engine, other, actor="test")


@needs_file
def test_cli_imports_hillstrom(liftlab_env: str) -> None:
    result = CliRunner().invoke(app, ["import", "hillstrom", str(HILLSTROM)])

    assert result.exit_code == 0, result.output
    assert "21,307" in result.stdout
    assert "entries: 64,000 inserted" in result.stdout

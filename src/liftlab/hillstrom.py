"""The Hillstrom e-mail test as a liftlab experiment with real outcomes.

Kevin Hillstrom's MineThatData E-Mail Analytics and Data Mining Challenge
(2008) randomised 64,000 customers who had bought within a year into three
equal groups: a men's merchandise e-mail, a women's e-mail, and no e-mail.
Visits, conversions and spend were tracked for two weeks. It has the shape of
an SMS flow holdout, so liftlab loads it as the flow ``hillstrom``: two
exposed variants (``mens_email``, ``womens_email``) and the no-e-mail group
as the holdout, randomised outside liftlab.

The file gives no dates. The send is placed at a nominal 2008-03-03 00:00
UTC and every visit and purchase one day later, inside the two-week window;
analyses of the file should not read anything into those times.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from liftlab.ingest import ImportSummary, import_frame
from liftlab.store.engine import session_scope
from liftlab.store.tables import Covariate, Flow, FlowChange

__all__ = [
    "HILLSTROM_KEY",
    "HILLSTROM_SHA256",
    "HillstromError",
    "HillstromLoad",
    "load_hillstrom",
]

logger = logging.getLogger(__name__)

HILLSTROM_KEY = "hillstrom"
HILLSTROM_SHA256 = "0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece"
SENT_AT = datetime(2008, 3, 3, tzinfo=UTC)
WINDOW = timedelta(days=14)
COLUMNS = (
    "recency", "history_segment", "history", "mens", "womens", "zip_code",
    "newbie", "channel", "segment", "visit", "conversion", "spend",
)  # fmt: skip
ARMS = {
    "Mens E-Mail": ("exposed", "mens_email"),
    "Womens E-Mail": ("exposed", "womens_email"),
    "No E-Mail": ("holdout", None),
}
SEGMENTS = ("history_segment", "zip_code", "newbie", "channel", "mens", "womens")


class HillstromError(ValueError):
    """The file is not the Hillstrom challenge data."""


@dataclass(frozen=True, slots=True)
class HillstromLoad:
    """What loading the Hillstrom file did.

    Attributes:
        units: Customers per group (``Mens E-Mail`` ...).
        conversions: Purchases per group.
        matches_published: Whether the file's SHA-256 is the published one.
        imports: The importer's summary per kind.
    """

    units: dict[str, int]
    conversions: dict[str, int]
    matches_published: bool
    imports: tuple[ImportSummary, ...]


def read_hillstrom(path: Path) -> pd.DataFrame:
    """Read and check the file.

    Raises:
        HillstromError: Missing columns, an unknown group, or spend without a
            conversion.
    """
    if not path.is_file():
        raise HillstromError(f"{path}: no such file")
    frame = pd.read_csv(path)
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        raise HillstromError(
            f"{path}: not the Hillstrom file: missing columns {', '.join(missing)}"
        )
    unknown = sorted(set(frame["segment"]) - set(ARMS))
    if unknown:
        raise HillstromError(
            f"{path}: segment: unknown groups {unknown}; expected {sorted(ARMS)}"
        )
    odd = frame.index[(frame["spend"] > 0) != (frame["conversion"] == 1)]
    if len(odd):
        raise HillstromError(
            f"{path}: row {odd[0] + 1}: spend: must be non-zero exactly when "
            "conversion is 1"
        )
    return frame


def load_hillstrom(engine: Engine, path: Path, *, actor: str) -> HillstromLoad:
    """Load the Hillstrom file as the externally randomised flow ``hillstrom``.

    Each step is idempotent, so loading twice changes nothing the second time.
    """
    frame = read_hillstrom(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != HILLSTROM_SHA256:
        logger.warning("%s differs from the published Hillstrom file", path)

    units = "hillstrom_" + pd.Series(range(1, len(frame) + 1)).astype(str).str.zfill(5)
    arms = frame["segment"].map(lambda group: ARMS[group][0])
    variants = frame["segment"].map(lambda group: ARMS[group][1])
    _ensure_flow(engine, actor=actor, source=str(path))

    customers = pd.DataFrame({"unit_id": units})
    for name in SEGMENTS:
        customers[name] = frame[name].astype(str)
    entries = pd.DataFrame(
        {
            "flow": HILLSTROM_KEY,
            "unit_id": units,
            "entered_at": pd.Timestamp(SENT_AT),
            "arm": arms,
            "variant": variants,
        }
    )
    outcome_at = pd.Timestamp(SENT_AT + timedelta(days=1))
    visits = pd.DataFrame(
        {
            "conversion_id": units + "_visit",
            "unit_id": units,
            "occurred_at": outcome_at,
            "type": "visit",
            "value": 0.0,
        }
    )[frame["visit"].eq(1).to_numpy()]
    purchases = pd.DataFrame(
        {
            "conversion_id": units + "_purchase",
            "unit_id": units,
            "occurred_at": outcome_at,
            "type": "purchase",
            "value": frame["spend"].astype(float),
        }
    )[frame["conversion"].eq(1).to_numpy()]

    summaries = []
    for kind, part in (
        ("customers", customers),
        ("entries", entries),
        ("conversions", pd.concat([visits, purchases], ignore_index=True)),
    ):
        summaries.append(
            import_frame(engine, kind, part, source=f"{path} ({kind})", actor=actor)
        )
    _write_covariates(engine, units, frame)

    by_group = frame.groupby("segment")
    return HillstromLoad(
        units={str(k): int(v) for k, v in by_group.size().items()},
        conversions={str(k): int(v) for k, v in by_group["conversion"].sum().items()},
        matches_published=digest == HILLSTROM_SHA256,
        imports=tuple(summaries),
    )


def _ensure_flow(engine: Engine, *, actor: str, source: str) -> None:
    values = {
        "kind": "flow",
        "name": "Hillstrom e-mail test (MineThatData, 2008)",
        "stage": "retention",
        "holdout_percent": 33.33,
        "salt": HILLSTROM_KEY,
        "conversion_type": "purchase",
        "window_hours": WINDOW.total_seconds() / 3600,
        "starts_at": SENT_AT,
        "ends_at": SENT_AT + WINDOW,
        "cost_per_message": None,
    }
    with session_scope(engine) as session:
        if session.get(Flow, HILLSTROM_KEY) is not None:
            return
        session.add(
            Flow(key=HILLSTROM_KEY, assignment="external", source=source, **values)
        )
        session.flush()
        after = {k: v.isoformat() if isinstance(v, datetime) else v
                 for k, v in values.items()}  # fmt: skip
        session.add(
            FlowChange(
                flow_key=HILLSTROM_KEY,
                actor=actor,
                action="create",
                after=after | {"assignment": "external"},
                note="randomised outside liftlab: arms come from the file",
            )
        )


def _write_covariates(engine: Engine, units: pd.Series, frame: pd.DataFrame) -> None:
    rows = [
        {"unit_id": unit, "name": name, "value": float(value)}
        for name in ("history", "recency")
        for unit, value in zip(units, frame[name], strict=True)
    ]
    with session_scope(engine) as session:
        dialect = session.get_bind().dialect.name
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(Covariate).on_conflict_do_nothing(
            index_elements=["unit_id", "name"]
        )
        session.execute(statement, rows)

"""The simulated programme: reproducible, causally right, and storable."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from liftlab.assignment import FlowRule, assign_many
from liftlab.experiments import FlowSpec, GlobalSpec, apply_specs, load_specs
from liftlab.identity import normalise_phone
from liftlab.simulate import (
    DEFAULT_FLOWS,
    DEFAULT_GLOBAL_RULE,
    SimulatedProgramme,
    SimulationConflictError,
    run_demo,
    simulate_programme,
    store,
    stored_truths,
    write_programme,
)
from liftlab.store.engine import session_scope
from liftlab.store.tables import (
    Conversion,
    Covariate,
    Customer,
    CustomerSegment,
    Entry,
    Message,
    SimulationTruth,
    Touch,
)

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"

COLUMNS = {
    "customers": ["unit_id", "phone", "sms_consent", "lifecycle", "ltv_tier"],
    "entries": ["flow", "unit_id", "entered_at", "arm"],
    "messages": [
        "message_id",
        "flow",
        "unit_id",
        "sent_at",
        "delivered_at",
        "status",
        "cost",
        "coupon_code",
    ],
    "touches": [
        "touch_id",
        "unit_id",
        "channel",
        "kind",
        "occurred_at",
        "flow",
        "campaign",
        "message_id",
    ],
    "conversions": [
        "conversion_id",
        "unit_id",
        "occurred_at",
        "type",
        "value",
        "channel",
        "coupon_code",
    ],
    "covariates": ["unit_id", "name", "value"],
    "truths": ["flow_key", "dimension", "segment", "quantity", "value"],
}
IDS = {
    "customers": "unit_id",
    "messages": "message_id",
    "touches": "touch_id",
    "conversions": "conversion_id",
}


@pytest.fixture(scope="module")
def large() -> SimulatedProgramme:
    """A million customers over the default 90 days."""
    return simulate_programme(seed=7, customers=1_000_000)


@pytest.fixture(scope="module")
def small() -> SimulatedProgramme:
    return simulate_programme(seed=3, customers=20_000, days=30)


def _spec(key: str) -> FlowSpec:
    return next(spec for spec in DEFAULT_FLOWS if spec.key == key)


def _reasons(entries: pd.DataFrame, spec: FlowSpec) -> np.ndarray:
    rule = FlowRule(spec.key, spec.effective_salt, spec.holdout_percent)
    units = entries["unit_id"].tolist()
    return assign_many(rule, units, global_rule=DEFAULT_GLOBAL_RULE).reasons


def _outcomes(programme: SimulatedProgramme, spec: FlowSpec) -> pd.DataFrame:
    """Entrants outside the global holdout, with whether they converted in
    the flow's window after entry, computed with plain pandas."""
    entries = programme.entries[programme.entries["flow"] == spec.key]
    entries = entries[_reasons(entries, spec) != "global_holdout"]
    conversions = programme.conversions
    conversions = conversions[conversions["type"] == spec.conversion]
    joined = entries.merge(conversions[["unit_id", "occurred_at"]], on="unit_id")
    closes = joined["entered_at"] + timedelta(hours=spec.window_hours)
    inside = (joined["occurred_at"] >= joined["entered_at"]) & (
        joined["occurred_at"] < closes
    )
    converted = set(joined.loc[inside, "unit_id"])
    segments = programme.customers[["unit_id", "lifecycle", "ltv_tier"]]
    return entries.assign(converted=entries["unit_id"].isin(converted)).merge(
        segments, on="unit_id"
    )


def test_simulate_programme_same_seed_identical(small: SimulatedProgramme) -> None:
    again = simulate_programme(seed=3, customers=20_000, days=30)
    for name, frame in small.frames.items():
        pd.testing.assert_frame_equal(frame, again.frames[name])


def test_simulate_programme_other_seed_differs(small: SimulatedProgramme) -> None:
    other = simulate_programme(seed=4, customers=20_000, days=30)
    for name in ("customers", "entries", "messages", "touches", "conversions"):
        assert not small.frames[name].equals(other.frames[name]), name


def test_simulate_programme_event_file_columns(small: SimulatedProgramme) -> None:
    for name, frame in small.frames.items():
        assert list(frame.columns) == COLUMNS[name], name
        for column in frame.columns:
            if column.endswith("_at"):
                assert str(frame[column].dt.tz) == "UTC", (name, column)
    for name, column in IDS.items():
        assert small.frames[name][column].is_unique, name
    assert not small.entries.duplicated(["flow", "unit_id"]).any()
    assert set(small.touches["kind"]) == {"view", "click", "session"}
    assert {"sms", "email", "paid_search", "organic_search", "direct", "push"} == set(
        small.touches["channel"]
    )
    sms = small.touches[small.touches["channel"] == "sms"]
    assert sms["message_id"].isin(small.messages["message_id"]).all()
    assert sms["flow"].notna().all()
    assert set(small.conversions["type"]) == {"purchase", "renewal"}
    assert (small.conversions["value"] > 0).all()
    assert small.start.isoformat() == "2026-09-01T00:00:00+00:00"


def test_simulate_programme_realised_lift_within_three_standard_errors(
    large: SimulatedProgramme,
) -> None:
    checks = [(spec, "", "") for spec in DEFAULT_FLOWS]
    checks += [(_spec("abandoned_cart"), "lifecycle", s) for s in ("new", "returning")]
    for spec, dimension, segment in checks:
        outcomes = _outcomes(large, spec)
        if dimension:
            outcomes = outcomes[outcomes[dimension] == segment]
        rates = outcomes.groupby("arm")["converted"].agg(["mean", "size"])
        p1, n1 = rates.loc["exposed"]
        p0, n0 = rates.loc["holdout"]
        error = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        truth = large.truth(
            spec.key, "true_absolute_lift", dimension=dimension, segment=segment
        )
        assert abs((p1 - p0) - truth) < 3 * error, (spec.key, segment, p1 - p0)
        baseline = large.truth(
            spec.key, "baseline_rate", dimension=dimension, segment=segment
        )
        assert abs(p0 - baseline) < 3 * math.sqrt(p0 * (1 - p0) / n0), spec.key


def test_simulate_programme_known_effects(large: SimulatedProgramme) -> None:
    assert large.truth("browse_abandonment", "true_absolute_lift") == 0.0
    assert large.truth("browse_abandonment", "true_incremental_conversions") == 0.0
    new = large.truth(
        "abandoned_cart", "true_absolute_lift", dimension="lifecycle", segment="new"
    )
    returning = large.truth(
        "abandoned_cart",
        "true_absolute_lift",
        dimension="lifecycle",
        segment="returning",
    )
    assert new > 3 * returning > 0
    for spec in DEFAULT_FLOWS:
        base = large.truth(spec.key, "baseline_rate")
        lift = large.truth(spec.key, "true_absolute_lift")
        relative = large.truth(spec.key, "true_relative_lift")
        assert relative == pytest.approx(lift / base, rel=1e-9)
    assert large.truth("_run", "customers") == 1_000_000
    assert large.truth("_run", "days") == 90


def test_simulate_programme_entrants_likelier_buyers(
    large: SimulatedProgramme,
) -> None:
    spend = large.covariates[large.covariates["name"] == "spend_prior_90d"]
    spend = spend.set_index("unit_id")["value"]
    for key in ("abandoned_cart", "browse_abandonment"):
        units = large.entries.loc[large.entries["flow"] == key, "unit_id"]
        assert spend[units].mean() > 1.3 * spend.mean(), key


def test_simulate_programme_assists_overstate_small_effects(
    large: SimulatedProgramme,
) -> None:
    for key in ("browse_abandonment", "renewal_reminder"):
        spec = _spec(key)
        entries = large.entries[large.entries["flow"] == key]
        exposed = entries.loc[entries["arm"] == "exposed", "unit_id"]
        conversions = large.conversions[
            (large.conversions["type"] == spec.conversion)
            & large.conversions["unit_id"].isin(exposed)
        ]
        touches = large.touches[
            (large.touches["channel"] == "sms") & (large.touches["flow"] == key)
        ]
        paths = conversions.merge(
            touches[["unit_id", "occurred_at"]], on="unit_id", suffixes=("", "_sms")
        )
        lag = paths["occurred_at"] - paths["occurred_at_sms"]
        on_path = (lag > timedelta(0)) & (lag <= timedelta(days=7))
        assisted = paths.loc[on_path, "conversion_id"].nunique()
        incremental = large.truth(key, "true_incremental_conversions")
        assert assisted > 1_000, key
        assert assisted > 5 * incremental, (key, assisted, incremental)


def test_simulate_programme_arms_follow_engine(large: SimulatedProgramme) -> None:
    customers = large.customers.set_index("unit_id")
    refused = customers.index[~customers["sms_consent"]]
    held_everywhere = set()
    for spec in DEFAULT_FLOWS:
        entries = large.entries[large.entries["flow"] == spec.key]
        reasons = _reasons(entries, spec)
        rule = FlowRule(spec.key, spec.effective_salt, spec.holdout_percent)
        batch = assign_many(
            rule, entries["unit_id"].tolist(), global_rule=DEFAULT_GLOBAL_RULE
        )
        assert (entries["arm"].to_numpy() == batch.arms).all(), spec.key
        assert not entries["unit_id"].isin(refused).any(), spec.key

        texted = large.messages.loc[large.messages["flow"] == spec.key, "unit_id"]
        held = entries.loc[entries["arm"] == "holdout", "unit_id"]
        assert not texted.isin(held).any(), spec.key
        exposed = entries.loc[entries["arm"] == "exposed", "unit_id"]
        assert sorted(texted) == sorted(exposed), spec.key
        held_everywhere |= set(entries.loc[reasons == "global_holdout", "unit_id"])
    assert held_everywhere
    assert not large.messages["unit_id"].isin(held_everywhere).any()
    assert (
        not large.touches.loc[large.touches["channel"] == "sms", "unit_id"]
        .isin(held_everywhere)
        .any()
    )


def test_simulate_programme_winback_coupons_redeemed(
    small: SimulatedProgramme,
) -> None:
    coupons = small.messages.dropna(subset=["coupon_code"])
    assert set(coupons["flow"]) == {"winback"}
    assert coupons["coupon_code"].is_unique
    used = small.conversions.dropna(subset=["coupon_code"])
    assert len(used) > 0
    pairs = used.merge(coupons, on="coupon_code", suffixes=("", "_text"))
    assert len(pairs) == len(used)
    assert (pairs["unit_id"] == pairs["unit_id_text"]).all()
    assert (pairs["occurred_at"] >= pairs["delivered_at"]).all()


def test_simulate_programme_phones_fictional_e164(small: SimulatedProgramme) -> None:
    phones = small.customers["phone"].dropna()
    assert 0 < len(phones) <= len(small.customers) // 4
    assert phones.is_unique
    for phone in phones.sample(300, random_state=1):
        assert normalise_phone(phone, region="GB") == phone
        assert phone[5:10] == "55501"


def test_simulate_programme_defaults_match_experiments() -> None:
    loaded = [item.spec for item in load_specs(EXPERIMENTS)]
    flows = {spec.key: spec for spec in loaded if isinstance(spec, FlowSpec)}
    assert flows == {spec.key: spec for spec in DEFAULT_FLOWS}
    (rule,) = [spec for spec in loaded if isinstance(spec, GlobalSpec)]
    assert (rule.salt, rule.holdout_percent) == (
        DEFAULT_GLOBAL_RULE.salt,
        DEFAULT_GLOBAL_RULE.holdout_percent,
    )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"days": 0}, "days"),
        ({"customers": 0}, "customers"),
        ({"seed": -1}, "seed"),
        ({"customers": 2.5}, "customers"),
        ({"flows": ()}, "flows"),
        ({"flows": [_spec("winback").model_copy(update={"key": "other"})]}, "flows"),
        (
            {"flows": [_spec("winback").model_copy(update={"conversion": "visit"})]},
            "flows",
        ),
        (
            {"flows": [_spec("winback").model_copy(update={"window_hours": 0.5})]},
            "flows",
        ),
    ],
)
def test_simulate_programme_bad_arguments(options: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        simulate_programme(**{"customers": 100, **options})


def _table_counts(engine: Engine) -> dict[str, int]:
    tables = {
        "customers": Customer,
        "customer_segments": CustomerSegment,
        "entries": Entry,
        "messages": Message,
        "touches": Touch,
        "conversions": Conversion,
        "covariates": Covariate,
        "simulation_truths": SimulationTruth,
    }
    with session_scope(engine) as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in tables.items()
        }


def test_write_programme_rows_and_truths(engine: Engine) -> None:
    apply_specs(engine, load_specs(EXPERIMENTS), actor="test")
    programme = simulate_programme(seed=5, customers=5_000, days=14)
    rows = write_programme(engine, programme, actor="test")

    counts = programme.counts()
    expected = {kind: counts[kind] for kind in COLUMNS if kind != "truths"}
    expected["simulation_truths"] = counts["truths"]
    assert rows == expected
    stored = _table_counts(engine)
    assert stored == expected | {"customer_segments": 2 * counts["customers"]}

    again = write_programme(engine, programme, actor="test")
    assert set(again.values()) == {0} | {counts["truths"]}
    assert _table_counts(engine) == stored

    effects = {(e.flow, e.segment): e for e in stored_truths(engine)}
    cart = effects[("abandoned_cart", "new")]
    assert cart.absolute_lift == pytest.approx(
        programme.truth(
            "abandoned_cart",
            "true_absolute_lift",
            dimension="lifecycle",
            segment="new",
        )
    )
    assert effects[("browse_abandonment", "")].absolute_lift == 0.0


def test_write_programme_refuses_other_data(engine: Engine) -> None:
    first = simulate_programme(seed=1, customers=500, days=7)
    with pytest.raises(SimulationConflictError, match="not in the store"):
        write_programme(engine, first, actor="test")

    apply_specs(engine, load_specs(EXPERIMENTS), actor="test")
    other_rule = replace(DEFAULT_GLOBAL_RULE, holdout_percent=2.0)
    shifted = simulate_programme(seed=1, customers=500, days=7, global_rule=other_rule)
    with pytest.raises(SimulationConflictError, match="global holdout is 5%"):
        write_programme(engine, shifted, actor="test")

    write_programme(engine, first, actor="test")
    second = simulate_programme(seed=2, customers=500, days=7)
    with pytest.raises(SimulationConflictError, match="another simulated programme"):
        write_programme(engine, second, actor="test")


def test_write_programme_finishes_interrupted_write(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_specs(engine, load_specs(EXPERIMENTS), actor="test")
    programme = simulate_programme(seed=6, customers=1_000, days=7)
    real_import = store.import_frame

    def failing(engine: Engine, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "touches":
            raise KeyboardInterrupt
        return real_import(engine, kind, *args, **kwargs)

    monkeypatch.setattr(store, "import_frame", failing)
    with pytest.raises(KeyboardInterrupt):
        write_programme(engine, programme, actor="test")
    monkeypatch.setattr(store, "import_frame", real_import)

    rows = write_programme(engine, programme, actor="test")
    assert rows["customers"] == 0
    assert rows["touches"] == len(programme.touches)
    counts = _table_counts(engine)
    assert counts["touches"] == len(programme.touches)
    assert counts["simulation_truths"] == len(programme.truths)


def test_run_demo_summary(engine: Engine) -> None:
    done: dict[str, int] = {}

    def progress(kind: str, rows: int) -> None:
        done[kind] = done.get(kind, 0) + rows

    summary = run_demo(
        engine,
        seed=9,
        customers=3_000,
        days=10,
        actor="test",
        experiments_dir=EXPERIMENTS,
        progress=progress,
    )
    assert done == {kind: summary.rows[kind] for kind in done}
    assert list(done) == ["customers", "entries", "messages", "touches", "conversions"]
    assert summary.rows["customers"] == 3_000
    assert summary.rows["entries"] > 0
    assert summary.unsimulated == ()
    whole = [effect for effect in summary.effects if not effect.dimension]
    assert [effect.flow for effect in whole] == [s.key for s in DEFAULT_FLOWS]
    assert summary.end - summary.start == timedelta(days=10)
    assert stored_truths(engine) == summary.effects

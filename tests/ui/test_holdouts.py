"""The Holdouts page: editors create and change flows; bad input saves nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from liftlab.store.tables import Flow, FlowChange
from tests.ui.support import page_test, texts

SignIn = Callable[[AppTest, str], AppTest]


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        flows = session.exec(select(func.count()).select_from(Flow)).one()
        changes = session.exec(select(func.count()).select_from(FlowChange)).one()
    return int(flows), int(changes)


def _fill(app: AppTest, *, key: str, name: str, holdout: float) -> AppTest:
    app.text_input(key="new_key").input(key)
    app.text_input(key="new_name").input(name)
    app.number_input(key="new_holdout_percent").set_value(holdout)
    return app


def test_holdouts_refuse_anonymous_viewers(store: Engine) -> None:
    app = page_test("holdouts").run()

    assert not app.exception
    assert any("needs an editor's sign-in" in w for w in texts(app, "warning"))
    assert not app.text_input
    assert len(app.dataframe) == 2


def test_holdouts_refuse_a_signed_in_viewer(store: Engine, signed_in: SignIn) -> None:
    app = signed_in(page_test("holdouts"), "viv").run()

    (warning,) = texts(app, "warning")
    assert "You are signed in as viv (viewer)" in warning
    assert not app.text_input


def test_editor_creates_a_flow_recorded_with_their_name(
    store: Engine, signed_in: SignIn
) -> None:
    app = signed_in(page_test("holdouts"), "ed").run()

    _fill(app, key="post_purchase", name="Post-purchase upsell", holdout=12.5)
    app.button(key="new_save").click().run()

    assert not app.exception
    assert "post_purchase: created." in texts(app, "success")
    with Session(store) as session:
        flow = session.get(Flow, "post_purchase")
        change = session.exec(
            select(FlowChange).where(FlowChange.flow_key == "post_purchase")
        ).one()
    assert flow is not None
    assert flow.holdout_percent == 12.5
    assert flow.source == "app"
    assert change.actor == "ed"
    assert change.action == "create"
    assert "post_purchase" in list(app.dataframe[0].value["key"])


def test_check_previews_without_saving(store: Engine, signed_in: SignIn) -> None:
    app = signed_in(page_test("holdouts"), "ed").run()
    before = _counts(store)

    _fill(app, key="post_purchase", name="Post-purchase upsell", holdout=10.0)
    app.button(key="new_check").click().run()

    assert any("Saving would **create**" in info for info in texts(app, "info"))
    preview = "At a 10% holdout a 10% lift is detectable in about"
    assert any(preview in info for info in texts(app, "info"))
    assert _counts(store) == before


@pytest.mark.parametrize(
    ("key", "name", "holdout", "message"),
    [
        ("post_purchase", "Upsell", 0.0, "must be greater than 0 and less than 100"),
        ("post_purchase", "Upsell", 150.0, "must be greater than 0 and less than 100"),
        ("abandoned_cart", "Upsell", 10.0, "'abandoned_cart' is already taken"),
        ("post_purchase", "", 10.0, "at least 1 character"),
    ],
    ids=["holdout_0", "holdout_150", "duplicate_key", "empty_name"],
)
def test_bad_input_is_named_and_nothing_is_saved(
    store: Engine,
    signed_in: SignIn,
    key: str,
    name: str,
    holdout: float,
    message: str,
) -> None:
    app = signed_in(page_test("holdouts"), "ed").run()
    before = _counts(store)

    _fill(app, key=key, name=name, holdout=holdout)
    app.button(key="new_save").click().run()

    errors = texts(app, "error")
    assert any(message in error for error in errors), errors
    assert "Nothing was saved: fix the fields marked above." in errors
    assert not texts(app, "success")
    assert _counts(store) == before


def test_editor_raises_a_running_flows_holdout(
    store: Engine, signed_in: SignIn
) -> None:
    app = signed_in(page_test("holdouts"), "ed").run()
    app.radio(key="mode").set_value("Edit a flow").run()
    app.selectbox(key="edit_key").select("winback").run()

    app.number_input(key="edit_winback_holdout_percent").set_value(20.0)
    app.button(key="edit_winback_save").click().run()

    (success,) = texts(app, "success")
    assert success.startswith("winback: updated. holdout raised from 15% to 20%")
    with Session(store) as session:
        assert session.get(Flow, "winback").holdout_percent == 20.0


def test_global_holdout_of_100_is_refused(store: Engine, signed_in: SignIn) -> None:
    app = signed_in(page_test("holdouts"), "ed").run()
    app.radio(key="mode").set_value("Global holdout").run()
    before = _counts(store)

    app.number_input[0].set_value(100.0)
    app.button(key="global_save").click().run()

    assert any("less than 100" in error for error in texts(app, "error"))
    assert _counts(store) == before

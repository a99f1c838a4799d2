"""Holdouts: create and edit flows and the global holdout (editors only).

The forms are checked by the spec models that check ``experiments/*.toml``
and saved through the same apply machinery, so the change log records the
signed-in editor, the values before and after, and any new epoch. A form
with a problem shows each message under its field and saves nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from liftlab.experiments import SpecError
from liftlab.experiments.apply import ApplyResult, apply_spec
from liftlab.ui import power
from liftlab.ui.access import visitor
from liftlab.ui.data_access import (
    FlowInfo,
    changes_frame,
    data_version,
    engine,
    flows,
    forget,
    load_reports,
)

__all__ = ["render"]

STAGES = ("retention", "acquisition", "reactivation")
FLASH = "holdouts_flash"
FLOW_FIELDS = (
    "key",
    "name",
    "stage",
    "holdout_percent",
    "salt",
    "conversion",
    "window_hours",
    "starts",
    "ends",
    "cost_per_message",
    "view_window_hours",
    "click_window_hours",
)
GLOBAL_FIELDS = ("name", "holdout_percent", "salt")
NEW, EDIT, GLOBAL = "New flow", "Edit a flow", "Global holdout"


def render() -> None:
    """Draw the page."""
    st.title("Holdouts")
    version = data_version()
    every = flows(version)
    _listing(every)

    who = visitor()
    if not who.can_edit:
        from liftlab.ui.pages import page

        who_text = (
            f"You are signed in as {who.name} ({who.role})"
            if who.signed_in
            else ("You are not signed in")
        )
        st.warning(
            f"Creating or changing holdouts needs an editor's sign-in. {who_text}."
        )
        st.page_link(page("signin"), label="Sign in")
        _history(version)
        return

    if message := st.session_state.pop(FLASH, None):
        st.success(message)
    mode = st.radio("Change", (NEW, EDIT, GLOBAL), horizontal=True, key="mode")
    by_key = {flow.key: flow for flow in every}
    if mode == GLOBAL:
        _global_form(by_key.get("global"), who.name or "")
    elif mode == EDIT:
        keys = [flow.key for flow in every if flow.kind == "flow"]
        if not keys:
            st.info("No flows yet: create one first.")
        else:
            key = st.selectbox("Flow", keys, key="edit_key")
            _flow_form(by_key[key], who.name or "")
    else:
        _flow_form(None, who.name or "")
    _history(version)


def _listing(every: list[FlowInfo]) -> None:
    rows = [
        {
            "key": flow.key,
            "name": flow.name,
            "stage": flow.stage or "all flows",
            "holdout %": flow.holdout_percent,
            "conversion": flow.conversion_type or "",
            "window h": f"{flow.window_hours:g}" if flow.window_hours else "",
            "version": f"{flow.version}.{flow.epoch}",
            "exposed": flow.exposed,
            "holdout": flow.holdout,
        }
        for flow in every
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="flows_table")
    st.caption("version is <version>.<randomisation epoch>")


def _history(version: Any) -> None:
    st.subheader("Change history")
    history = changes_frame(version)
    if history.empty:
        st.caption("No changes recorded yet.")
    else:
        st.dataframe(history, hide_index=True, key="history_table")


def _flow_form(current: FlowInfo | None, actor: str) -> None:
    new = current is None
    report = None if new else load_reports(data_version()).reports.get(current.key)
    seen = power.observed(report)
    starts = current.starts_at if current and current.starts_at else None
    starts = starts or datetime.combine(date.today(), time(0), tzinfo=UTC)
    ends = current.ends_at if current else None

    prefix = "new" if current is None else f"edit_{current.key}"
    with st.form(f"{prefix}_form"):
        slots: dict[str, DeltaGenerator] = {}

        def slot(field: str) -> None:
            slots[field] = st.empty()

        key = st.text_input(
            "Key",
            value=current.key if current else "",
            disabled=not new,
            help="Lowercase letters, digits, _",
            key=f"{prefix}_key",
        )
        slot("key")
        name = st.text_input(
            "Name", value=current.name if current else "", key=f"{prefix}_name"
        )
        slot("name")
        left, right = st.columns(2)
        with left:
            stage = st.selectbox(
                "Stage",
                STAGES,
                index=STAGES.index(current.stage)
                if current and current.stage in STAGES
                else 0,
                key=f"{prefix}_stage",
            )
            slot("stage")
            holdout = st.number_input(
                "Holdout percent",
                value=current.holdout_percent if current else 10.0,
                step=1.0,
                format="%.2f",
                help="0 < x < 100; units held out get no text",
                key=f"{prefix}_holdout_percent",
            )
            slot("holdout_percent")
            conversion = st.text_input(
                "Conversion type that counts",
                value=current.conversion_type or "purchase" if current else "purchase",
                key=f"{prefix}_conversion",
            )
            slot("conversion")
            window = st.number_input(
                "Conversion window (hours after entry)",
                value=float(current.window_hours or 72) if current else 72.0,
                step=1.0,
                key=f"{prefix}_window_hours",
            )
            slot("window_hours")
            cost = st.number_input(
                "Cost per message (optional)",
                value=current.cost_per_message if current else None,
                step=0.001,
                format="%.4f",
                key=f"{prefix}_cost_per_message",
            )
            slot("cost_per_message")
        with right:
            salt = st.text_input(
                "Salt (blank: the key)",
                value=current.salt if current and current.salt != current.key else "",
                help="Changing the salt of a running flow re-randomises everyone.",
                key=f"{prefix}_salt",
            )
            slot("salt")
            start_day = st.date_input("Starts (UTC)", value=starts.date())
            start_time = st.time_input("Start time (UTC)", value=starts.time())
            slot("starts")
            end_day = st.date_input(
                "Ends (UTC, optional)", value=ends.date() if ends else None
            )
            slot("ends")
            view = st.number_input(
                "SMS view window (hours)",
                step=1.0,
                value=current.view_window_hours if current else 24.0,
            )
            slot("view_window_hours")
            click = st.number_input(
                "SMS click window (hours)",
                step=1.0,
                value=current.click_window_hours if current else 120.0,
            )
            slot("click_window_hours")
        slot("")

        st.markdown("**Power preview**")
        lift = st.select_slider(
            "Lift worth detecting",
            options=[0.02, 0.05, 0.10, 0.15, 0.20, 0.30],
            value=0.10,
            format_func=lambda value: f"{value:.0%}",
        )
        if seen is None:
            a, b = st.columns(2)
            daily = a.number_input("Expected entries a day", value=1000.0, step=100.0)
            baseline = (
                b.number_input(
                    "Expected conversion rate without texts (%)", value=5.0, step=0.5
                )
                / 100
            )
            source = "as typed"
        else:
            daily, baseline = seen.daily_entries, seen.baseline_rate
            source = f"observed in this flow over {seen.days} days"
        reshuffle = False
        if not new:
            reshuffle = st.checkbox(
                "Start a new randomisation epoch (needed to lower the holdout or "
                "change the salt of a running flow)"
            )
        check, save = st.columns([1, 5])
        checked = check.form_submit_button("Check", key=f"{prefix}_check")
        saved = save.form_submit_button("Save", type="primary", key=f"{prefix}_save")

    values = {
        "kind": "flow",
        "key": (key if new else current.key).strip(),
        "name": name.strip(),
        "stage": stage,
        "holdout_percent": holdout,
        "salt": salt.strip() or None,
        "conversion": conversion.strip(),
        "window_hours": window,
        "starts": datetime.combine(start_day, start_time, tzinfo=UTC),
        "ends": datetime.combine(end_day, time(0), tzinfo=UTC) if end_day else None,
        "cost_per_message": cost,
        "view_window_hours": view,
        "click_window_hours": click,
    }
    preview = power.preview(
        holdout_percent=holdout,
        lift=lift,
        daily_entries=daily,
        baseline_rate=baseline,
        source=source,
    )
    if preview.plan is not None:
        st.info(preview.sentence, icon=":material/timer:")
    if preview.warning:
        st.warning(preview.warning)
    if checked or saved:
        _submit(
            values,
            slots,
            actor=actor,
            create=new,
            reshuffle=reshuffle,
            dry_run=not saved,
        )


def _global_form(current: FlowInfo | None, actor: str) -> None:
    with st.form("global_form"):
        slots: dict[str, DeltaGenerator] = {}
        name = st.text_input(
            "Name", value=current.name if current else "Global SMS holdout"
        )
        slots["name"] = st.empty()
        holdout = st.number_input(
            "Holdout percent (0 turns it off)",
            step=0.5,
            format="%.2f",
            value=current.holdout_percent if current else 5.0,
            help="A share of all units no flow texts; 1-15% is typical.",
        )
        slots["holdout_percent"] = st.empty()
        salt = st.text_input("Salt", value=current.salt if current else "")
        slots["salt"] = st.empty()
        slots[""] = st.empty()
        reshuffle = st.checkbox(
            "Start a new randomisation epoch for every flow (needed to lower the "
            "global holdout or change its salt while flows run)"
        )
        check, save = st.columns([1, 5])
        checked = check.form_submit_button("Check", key="global_check")
        saved = save.form_submit_button("Save", type="primary", key="global_save")
    if checked or saved:
        values = {
            "kind": "global",
            "name": name.strip(),
            "holdout_percent": holdout,
            "salt": salt.strip(),
        }
        _submit(
            values,
            slots,
            actor=actor,
            create=False,
            reshuffle=reshuffle,
            dry_run=not saved,
        )


def _submit(
    values: dict[str, Any],
    slots: dict[str, DeltaGenerator],
    *,
    actor: str,
    create: bool,
    reshuffle: bool,
    dry_run: bool,
) -> None:
    """Validate and apply (or plan) a form's values; errors go under fields."""
    try:
        result = apply_spec(
            engine(),
            values,
            actor=actor,
            create=create,
            reshuffle=reshuffle,
            dry_run=dry_run,
            source="app",
        )
    except SpecError as error:
        for problem in error.problems:
            field = problem.field if problem.field in slots else ""
            label = f"{problem.field}: " if field == "" and problem.field else ""
            slots[field].error(f"{label}{problem.message}")
        st.error("Nothing was saved: fix the fields marked above.")
        return
    if dry_run:
        _plan(result)
        return
    forget()
    st.session_state[FLASH] = _saved_message(result)
    st.rerun()


def _plan(result: ApplyResult) -> None:
    (plan,) = result.plans
    if plan.action == "unchanged":
        st.info("Nothing would change.")
        return
    lines = [f"Saving would **{plan.action}** `{plan.key}`:"]
    for change in plan.changes:
        before = "" if plan.action == "create" else f"{change.before} → "
        lines.append(f"- {change.field}: {before}{change.after}")
    lines.extend(f"- note: {note}" for note in plan.notes)
    st.info("\n".join(lines))


def _saved_message(result: ApplyResult) -> str:
    (plan,) = result.plans
    if plan.action == "unchanged":
        return f"{plan.key}: nothing changed."
    notes = "".join(f" {note}." for note in plan.notes)
    verb = {"create": "created", "update": "updated", "reshuffle": "reshuffled"}
    return f"{plan.key}: {verb.get(plan.action, plan.action)}.{notes}"

"""Reading flows and their assignment rules from the store."""

from __future__ import annotations

import difflib

from sqlmodel import Session, select

from liftlab.assignment import FlowRule, GlobalRule
from liftlab.store.tables import Flow, FlowChange

__all__ = [
    "UnknownFlowError",
    "flow_history",
    "flow_rule",
    "get_flow",
    "global_rule",
    "list_flows",
]

GLOBAL_KEY = "global"


class UnknownFlowError(LookupError):
    """No flow has the key asked for."""

    def __init__(self, key: str, known: list[str]) -> None:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        listing = (
            ", ".join(known) if known else "none; run `liftlab apply experiments/`"
        )
        super().__init__(f"flow: no flow '{key}'{hint}; known flows: {listing}")
        self.key = key


def list_flows(session: Session) -> list[Flow]:
    """Every flow, the global holdout first."""
    flows = session.exec(select(Flow).order_by(Flow.kind.desc(), Flow.key)).all()
    return list(flows)


def get_flow(session: Session, key: str) -> Flow:
    """The flow with a key (not the global holdout).

    Raises:
        UnknownFlowError: No such flow, with the known keys.
    """
    flow = session.get(Flow, key)
    if flow is None or flow.kind != "flow":
        known = [f.key for f in list_flows(session) if f.kind == "flow"]
        raise UnknownFlowError(key, known)
    return flow


def flow_rule(flow: Flow) -> FlowRule:
    """The assignment engine's view of a flow."""
    return FlowRule(
        key=flow.key,
        salt=flow.salt,
        holdout_percent=flow.holdout_percent,
        version=flow.version,
    )


def global_rule(session: Session) -> GlobalRule | None:
    """The global holdout, if one is configured."""
    flow = session.get(Flow, GLOBAL_KEY)
    if flow is None:
        return None
    return GlobalRule(salt=flow.salt, holdout_percent=flow.holdout_percent)


def flow_history(session: Session, key: str | None = None) -> list[FlowChange]:
    """Recorded changes, newest first, of one flow or of all."""
    statement = select(FlowChange).order_by(FlowChange.id.desc())
    if key is not None:
        statement = statement.where(FlowChange.flow_key == key)
    return list(session.exec(statement).all())

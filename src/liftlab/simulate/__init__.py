"""A simulated store's SMS programme whose true causal effects are known.

:func:`simulate_programme` draws a store's customers and 90 days of their
journeys from one seed, as the event files liftlab imports, together with
each flow's true effect; :func:`write_programme` loads them into the store
and :func:`run_demo` does both after applying ``experiments/``.

The model, in brief (numbers in :mod:`liftlab.simulate.scenario`):

- Customers are new or returning, of low, mid or high lifetime value, and
  most consent to texts. Each buys at a rate of their own (a Poisson
  process, spread lognormally within a tier); a returning customer may be
  lapsing, buying nothing until 90 days without a purchase are reached.
  ``spend_prior_90d`` and ``orders_prior_90d`` grow with that rate.
- Triggers enter customers into the flows: carts left and product views
  (more often for frequent buyers), subscription renewals coming due (a
  reminder a week ahead), 90 days of inactivity. Consenting customers enter;
  the assignment engine decides their arm; exposed ones get a text, which is
  delivered or not and sometimes clicked.
- Every customer a trigger fired for has a chance ``q0`` of converting in
  the window without a text and ``q1`` with a delivered one, both growing
  with their purchase rate, and one uniform draw that decides both potential
  outcomes. The baseline purchases happen whatever the arm.
- True effects: abandoned-cart texts convert a tenth of new customers'
  would-be non-buyers but a fiftieth of returning ones'; browse-abandonment
  texts do nothing; renewal reminders save a fifth of would-be churners;
  win-back coupons bring back a few lapsed customers.

Why assists overstate: triggers fire most for customers who buy anyway, so
a flow's entrants convert often without any text. Their purchases follow a
delivered text, which puts an SMS touch on the path, even for the flow that
causes nothing.
"""

from __future__ import annotations

from liftlab.simulate.programme import FRAMES, SimulatedProgramme, simulate_programme
from liftlab.simulate.scenario import (
    BEHAVIOURS,
    DEFAULT_FLOWS,
    DEFAULT_GLOBAL_RULE,
    FlowBehaviour,
)
from liftlab.simulate.store import (
    DemoSummary,
    SimulationConflictError,
    run_demo,
    stored_truths,
    write_programme,
)
from liftlab.simulate.truths import RUN_KEY, FlowTruth, flow_truths

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_FLOWS",
    "DEFAULT_GLOBAL_RULE",
    "FRAMES",
    "RUN_KEY",
    "DemoSummary",
    "FlowBehaviour",
    "FlowTruth",
    "SimulatedProgramme",
    "SimulationConflictError",
    "flow_truths",
    "run_demo",
    "simulate_programme",
    "stored_truths",
    "write_programme",
]

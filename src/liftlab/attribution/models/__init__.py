"""Attribution models: pure functions of a path table (numpy and scipy
only, no database).

``paths`` holds the input (:class:`Paths`) and output (:class:`ModelCredit`)
types; ``heuristics`` the rule-based models, ``markov`` the removal-effect
model solved exactly, ``shapley`` Shapley values over channels. Every
model reads the table block by block (:meth:`Paths.blocks`), so what it
holds per touch is bounded by the block size: only the table itself (and,
for Shapley, one channel mask per path) grows with the data.
"""

from __future__ import annotations

from liftlab.attribution.models.heuristics import (
    decay_weights,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
    time_decay,
)
from liftlab.attribution.models.markov import markov
from liftlab.attribution.models.paths import SEPARATOR, ModelCredit, Paths
from liftlab.attribution.models.shapley import shapley

__all__ = [
    "SEPARATOR",
    "ModelCredit",
    "Paths",
    "decay_weights",
    "first_touch",
    "last_non_direct",
    "last_touch",
    "linear",
    "markov",
    "position_based",
    "shapley",
    "time_decay",
]

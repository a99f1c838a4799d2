"""What an attribution run is asked to do, validated in one place.

Every option a user can set (lookback, windows, model names, half-life,
Markov order) is checked here, and a bad value raises
:class:`AttributionError` with a message that names the option and the
values it allows, so the command line and the app can show it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_CLICK_WINDOW_HOURS",
    "DEFAULT_VIEW_WINDOW_HOURS",
    "MODELS",
    "AttributionError",
    "AttributionSettings",
    "check_model",
]

MODELS = (
    "last", "last_non_direct", "first", "linear",
    "time_decay", "position", "markov", "shapley",
)  # fmt: skip
DEFAULT_VIEW_WINDOW_HOURS = 24.0
DEFAULT_CLICK_WINDOW_HOURS = 120.0
MAX_MARKOV_ORDER = 4


class AttributionError(ValueError):
    """An attribution option is out of range, or a model is unknown."""


def check_model(name: str) -> str:
    """The model name itself, or an error naming the models there are."""
    if name not in MODELS:
        raise AttributionError(
            f"model: unknown model '{name}'; choose one of {', '.join(MODELS)}"
        )
    return name


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """How paths are built and credited.

    Attributes:
        lookback_days: Touches this many days (1 to 90) before a conversion
            are on its path; 30 by default, as in Universal Analytics.
        view_window_hours: How long an SMS delivery (a ``view``) stays
            eligible when its flow sets no window (24 hours by default).
        click_window_hours: The same for an SMS click (120 hours: 5 days).
        conversion_types: Only conversions of these types; all when None.
        collapse_repeats: Collapse consecutive touches of one state into
            one in the paths the models read (assist metrics always read
            every touch).
        split_sms_by_flow: SMS touches become the state ``sms:<flow>`` (the
            flow's key), so each flow gets credit of its own; ``sms`` when
            False or when a touch has no flow.
        direct_channels: Channels the ``last_non_direct`` model passes over.
        half_life_days: The time-decay model's half-life (7 days, GA's
            default).
        position_weights: First, middle and last share of the
            position-based model (40/20/40); two-touch paths split 50/50.
        markov_order: Order of the Markov chain (1 to 4).
        models: Models to run; all of them by default.
        top_paths: How many of the most converting paths to report.
    """

    lookback_days: int = 30
    view_window_hours: float = DEFAULT_VIEW_WINDOW_HOURS
    click_window_hours: float = DEFAULT_CLICK_WINDOW_HOURS
    conversion_types: tuple[str, ...] | None = None
    collapse_repeats: bool = False
    split_sms_by_flow: bool = True
    direct_channels: tuple[str, ...] = ("direct",)
    half_life_days: float = 7.0
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
    markov_order: int = 1
    models: tuple[str, ...] = field(default=MODELS)
    top_paths: int = 10

    def __post_init__(self) -> None:
        lookback = self.lookback_days
        if isinstance(lookback, bool) or not isinstance(lookback, int):
            raise AttributionError(
                f"lookback_days: must be a whole number of days from 1 to 90, "
                f"got {lookback!r}"
            )
        if not 1 <= lookback <= 90:
            raise AttributionError(
                f"lookback_days: must be from 1 to 90 days, got {lookback}"
            )
        for name in ("view_window_hours", "click_window_hours", "half_life_days"):
            value = getattr(self, name)
            if not value > 0:
                raise AttributionError(f"{name}: must be greater than 0, got {value}")
        weights = self.position_weights
        if len(weights) != 3 or min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
            raise AttributionError(
                "position_weights: three non-negative shares (first, middle, "
                f"last) that add up to 1, got {weights}"
            )
        if not 1 <= self.markov_order <= MAX_MARKOV_ORDER:
            raise AttributionError(
                f"markov_order: must be from 1 to {MAX_MARKOV_ORDER}, "
                f"got {self.markov_order}"
            )
        for model in self.models:
            check_model(model)
        if self.top_paths < 0:
            raise AttributionError(
                f"top_paths: must be 0 or more, got {self.top_paths}"
            )

    @property
    def lookback_seconds(self) -> int:
        """The lookback window in whole seconds."""
        return self.lookback_days * 86_400

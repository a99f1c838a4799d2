"""Experiment specs as code: ``experiments/*.toml``, parsed and validated.

One TOML file describes one flow (or, with ``kind = "global"``, the global
holdout). Every problem in every file is collected before anything is
written, and each message names the file, the field and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

__all__ = [
    "GLOBAL_KEY",
    "ExperimentSpec",
    "FlowSpec",
    "GlobalSpec",
    "LoadedSpec",
    "SpecError",
    "SpecProblem",
    "load_specs",
    "parse_spec",
]

GLOBAL_KEY = "global"
_KEY = re.compile(r"[a-z0-9_]{1,64}")


def _flow_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(
            "must be 1 to 64 lowercase letters, digits or underscores, "
            f"e.g. abandoned_cart, got {key!r}"
        )
    return key


def _flow_percent(percent: float) -> float:
    if not 0 < percent < 100:
        raise ValueError(
            f"must be greater than 0 and less than 100 (percent), got {percent:g}"
        )
    return _two_decimals(percent)


def _global_percent(percent: float) -> float:
    if not 0 <= percent < 100:
        raise ValueError(
            "must be at least 0 (0 turns the global holdout off) and less than "
            f"100, got {percent:g}"
        )
    return _two_decimals(percent)


def _two_decimals(percent: float) -> float:
    if round(percent, 2) != percent:
        raise ValueError(
            f"must have at most two decimals (buckets are 0.01% wide), got {percent}"
        )
    return percent


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(
            f"must carry a zone, e.g. 2026-11-01T00:00:00Z, got {moment.isoformat()}"
        )
    return moment


FlowKey = Annotated[str, AfterValidator(_flow_key)]
FlowPercent = Annotated[float, AfterValidator(_flow_percent)]
GlobalPercent = Annotated[float, AfterValidator(_global_percent)]
Moment = Annotated[datetime, AfterValidator(_aware)]


class FlowSpec(BaseModel):
    """One flow's holdout, as declared in ``experiments/<key>.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    kind: Literal["flow"] = "flow"
    key: FlowKey
    name: str = Field(min_length=1, max_length=200)
    stage: Literal["acquisition", "retention", "reactivation"]
    holdout_percent: FlowPercent
    salt: str | None = Field(default=None, min_length=1, max_length=200)
    conversion: str = Field(min_length=1, max_length=64)
    window_hours: float = Field(gt=0, le=24 * 365)
    starts: Moment
    ends: Moment | None = None
    cost_per_message: float | None = Field(default=None, ge=0)
    view_window_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    click_window_hours: float = Field(default=120.0, gt=0, le=24 * 90)

    @model_validator(mode="after")
    def _checks(self) -> FlowSpec:
        if self.key == GLOBAL_KEY:
            raise ValueError(
                "key 'global' is reserved for the global holdout "
                '(a file with kind = "global")'
            )
        if self.ends is not None and self.ends <= self.starts:
            raise ValueError("ends must come after starts")
        return self

    @property
    def effective_salt(self) -> str:
        """The hash seed: the salt, or the key when no salt is given."""
        return self.salt or self.key


class GlobalSpec(BaseModel):
    """The global holdout, declared in ``experiments/global.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["global"]
    name: str = Field(default="Global holdout", min_length=1, max_length=200)
    holdout_percent: GlobalPercent
    salt: str = Field(min_length=1, max_length=200)

    @property
    def key(self) -> str:
        return GLOBAL_KEY

    @property
    def effective_salt(self) -> str:
        return self.salt


ExperimentSpec = FlowSpec | GlobalSpec


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One thing wrong with one spec file.

    Attributes:
        path: The file.
        field: The field at fault, or None for the file as a whole.
        message: What is wrong and what is allowed.
    """

    path: Path
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    """A validated spec and the file it came from."""

    path: Path
    spec: ExperimentSpec


class SpecError(ValueError):
    """One or more spec files are invalid; nothing was applied."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def parse_spec(path: Path, text: str) -> ExperimentSpec:
    """Parse and validate one spec file's text.

    Raises:
        SpecError: The TOML is malformed or a field is missing or invalid.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError([SpecProblem(path, None, f"malformed TOML: {error}")]) from None

    model: type[FlowSpec] | type[GlobalSpec]
    kind = data.get("kind", "flow")
    if kind == "global":
        model = GlobalSpec
    elif kind == "flow":
        model = FlowSpec
    else:
        problem = SpecProblem(path, "kind", f"must be 'flow' or 'global', got {kind!r}")
        raise SpecError([problem])

    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [_problem(path, model, detail) for detail in error.errors()]
        raise SpecError(problems) from None


def _problem(path: Path, model: type[BaseModel], detail: dict[str, Any]) -> SpecProblem:
    field = ".".join(str(part) for part in detail["loc"]) or None
    allowed = list(model.model_fields)
    kind = detail["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(field), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"unknown field{hint}; allowed fields: {', '.join(allowed)}"
    elif kind == "missing":
        message = "is required"
    else:
        message = str(detail["msg"]).removeprefix("Value error, ")
        if kind not in ("value_error", "assertion_error") and "input" in detail:
            message += f", got {detail['input']!r}"
    if field is None:
        return SpecProblem(path, None, message)
    return SpecProblem(path, field, message)


def load_specs(directory: Path) -> list[LoadedSpec]:
    """Read every ``*.toml`` spec in a folder, all or nothing.

    Raises:
        SpecError: Listing every problem: malformed files, invalid fields,
            a key declared twice, more than one global holdout, no files.
    """
    if not directory.is_dir():
        problem = SpecProblem(directory, None, "is not a folder of *.toml specs")
        raise SpecError([problem])
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise SpecError([SpecProblem(directory, None, "holds no *.toml spec")])

    specs: list[LoadedSpec] = []
    problems: list[SpecProblem] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            spec = parse_spec(path, path.read_text(encoding="utf-8"))
        except SpecError as error:
            problems.extend(error.problems)
            continue
        except UnicodeDecodeError:
            problems.append(SpecProblem(path, None, "is not UTF-8 text"))
            continue
        if spec.key in seen:
            what = "a global holdout" if spec.key == GLOBAL_KEY else "key"
            problems.append(
                SpecProblem(
                    path,
                    "key" if spec.key != GLOBAL_KEY else "kind",
                    f"{what} '{spec.key}' is already declared in {seen[spec.key]}; "
                    "each flow is declared once",
                )
            )
            continue
        seen[spec.key] = path
        specs.append(LoadedSpec(path=path, spec=spec))

    if problems:
        raise SpecError(problems)
    return specs

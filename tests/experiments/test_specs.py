"""Experiment specs: every problem named by file, field and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from liftlab.experiments import FlowSpec, GlobalSpec, SpecError, load_specs

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
key = "abandoned_cart"
name = "Abandoned cart reminder"
stage = "retention"
holdout_percent = 10.0
conversion = "purchase"
window_hours = 72
starts = 2026-11-01T00:00:00Z
"""


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    return tmp_path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_specs(folder)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_specs_are_valid() -> None:
    loaded = {item.spec.key: item.spec for item in load_specs(ROOT / "experiments")}

    assert set(loaded) == {
        "abandoned_cart",
        "browse_abandonment",
        "renewal_reminder",
        "winback",
        "global",
    }
    assert isinstance(loaded["global"], GlobalSpec)
    cart = loaded["abandoned_cart"]
    assert isinstance(cart, FlowSpec)
    assert cart.effective_salt == "abandoned_cart"


def test_valid_spec_parses_with_defaults(tmp_path: Path) -> None:
    (item,) = load_specs(_folder(tmp_path, cart=VALID))

    assert item.path == tmp_path / "cart.toml"
    assert isinstance(item.spec, FlowSpec)
    assert item.spec.starts == datetime(2026, 11, 1, tzinfo=UTC)
    assert item.spec.salt is None
    assert item.spec.effective_salt == "abandoned_cart"


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path, cart=VALID.replace('stage = "retention"', "stage = "))

    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'cart.toml'}: malformed TOML")
    assert "line 3" in problem


def test_unknown_field_is_named_with_a_suggestion(tmp_path: Path) -> None:
    folder = _folder(tmp_path, cart=VALID + "holdout_pct = 5\n")

    (problem,) = _problems(folder)
    assert f"{folder / 'cart.toml'}: holdout_pct: unknown field" in problem
    assert "did you mean 'holdout_percent'" in problem


@pytest.mark.parametrize("percent", ["0", "100", "-5", "150", "10.005"])
def test_holdout_percent_outside_the_open_range_is_refused(
    tmp_path: Path, percent: str
) -> None:
    text = VALID.replace("holdout_percent = 10.0", f"holdout_percent = {percent}")
    (problem,) = _problems(_folder(tmp_path, cart=text))

    assert f"{tmp_path / 'cart.toml'}: holdout_percent: must" in problem
    assert any(
        words in problem
        for words in ("greater than 0 and less than 100", "at most two decimals")
    )


def test_missing_field_and_bad_key_are_all_listed(tmp_path: Path) -> None:
    text = VALID.replace('key = "abandoned_cart"', 'key = "Abandoned Cart"')
    text = text.replace('conversion = "purchase"\n', "")

    problems = _problems(_folder(tmp_path, cart=text))
    assert any(": key: must be 1 to 64 lowercase letters" in p for p in problems)
    assert any(": conversion: is required" in p for p in problems)


def test_time_without_zone_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("2026-11-01T00:00:00Z", "2026-11-01T00:00:00")
    (problem,) = _problems(_folder(tmp_path, cart=text))

    assert ": starts: must carry a zone" in problem


def test_duplicate_key_names_both_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path, a_cart=VALID, b_cart=VALID)

    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'b_cart.toml'}: key:")
    assert str(folder / "a_cart.toml") in problem


def test_global_key_is_reserved_and_only_one_global(tmp_path: Path) -> None:
    global_text = 'kind = "global"\nholdout_percent = 5\nsalt = "g"\n'
    folder = _folder(
        tmp_path,
        cart=VALID.replace('"abandoned_cart"', '"global"'),
        g1=global_text,
        g2=global_text,
    )

    problems = _problems(folder)
    assert any("cart.toml: key 'global' is reserved" in p for p in problems)
    assert any("g2.toml: kind: a global holdout" in p for p in problems)


def test_ends_before_starts_is_refused(tmp_path: Path) -> None:
    text = VALID + "ends = 2026-10-01T00:00:00Z\n"
    (problem,) = _problems(_folder(tmp_path, cart=text))

    assert "ends must come after starts" in problem


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path)
    assert "holds no *.toml spec" in problem

"""Page render times of the browser app on the demo database.

Each page of the app runs in Streamlit's AppTest (the script as a browser
session runs it, without the network): once cold, when the cached reports
are built, then ``--runs`` times warm, as every later view is. The goal is
2 seconds per warm page on the demo database; the reference is the results
engine building every flow's report without the cache, which is what the
cold view pays. Nothing asserts on time.

Usage:
    .venv/bin/python bench/bench_ui.py                    # builds the demo
    .venv/bin/python bench/bench_ui.py --database-url sqlite:///liftlab.db
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from liftlab.config import get_settings
from liftlab.results import build_reports
from liftlab.simulate import run_demo
from liftlab.store.engine import get_engine, make_engine
from liftlab.store.migrate import upgrade
from liftlab.store.tables import Flow
from liftlab.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GOAL_SECONDS = 2.0
PAGES = ("overview", "flow", "holdouts", "planner", "data", "signin")


def _page_script(name: str) -> None:
    from liftlab.ui.pages import PAGES

    PAGES[name][2]()


def _render(name: str) -> float:
    app = AppTest.from_function(_page_script, args=(name,), default_timeout=600)
    if name == "holdouts":
        app.session_state["liftlab_user"] = "bench"
    started = time.perf_counter()
    app.run()
    seconds = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(f"{name}: {app.exception[0].value}")
    return seconds


def _engine_seconds(url: str) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session, connect(url) as warehouse:
        flows = list(session.exec(select(Flow).where(Flow.kind == "flow")).all())
        build_reports(warehouse, session, flows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _demo(folder: Path, customers: int) -> str:
    url = f"sqlite:///{folder / 'liftlab.db'}"
    engine = make_engine(url)
    upgrade(engine)
    print(f"building the demo store ({customers:,} customers, 90 days) ...")
    run_demo(
        engine, customers=customers, actor="bench", experiments_dir=ROOT / "experiments"
    )
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="A store to read (default: a demo)")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        url = options.database_url or _demo(Path(folder), options.customers)
        os.environ["LIFTLAB_DATABASE_URL"] = url
        get_settings.cache_clear()
        get_engine.cache_clear()
        from liftlab.store.users import create_user, find_user

        if find_user(get_engine(url), "bench") is None:
            create_user(get_engine(url), "bench", "bench-password", role="editor")

        reference = _engine_seconds(url)
        rows = []
        for name in PAGES:
            cold = _render(name)
            warm = [_render(name) for _ in range(options.runs)]
            rows.append(
                {
                    "page": name,
                    "cold_seconds": cold,
                    "warm_median_seconds": statistics.median(warm),
                    "warm_max_seconds": max(warm),
                }
            )

    print(f"\nbuild_reports for every flow, uncached: {reference:.2f} s")
    print(f"{'page':<10} {'cold s':>8} {'warm median s':>14} {'warm max s':>11}  goal")
    for row in rows:
        verdict = "ok" if row["warm_max_seconds"] <= GOAL_SECONDS else "SLOW"
        print(
            f"{row['page']:<10} {row['cold_seconds']:>8.2f} "
            f"{row['warm_median_seconds']:>14.3f} {row['warm_max_seconds']:>11.3f}"
            f"  {verdict}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"engine_seconds": reference, "goal_seconds": GOAL_SECONDS, "pages": rows}
    (RESULTS / "bench_ui.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()

"""Page render times of the browser app on the demo database.

First the result cache is warmed as ``liftlab ui`` warms it before its
servers start (every flow's report and the assists report, built only when
not cached). Then each page runs in a fresh process that imports the app's
modules as ``liftlab ui``'s server does before it serves, and times the
page in Streamlit's AppTest (the script as a browser session runs it,
without the network): once cold, the first view in that process, which
reads the cache files, then ``--runs`` times warm. The goal is 2 seconds
per page, cold and warm. Nothing asserts on time.

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from liftlab.simulate import run_demo
from liftlab.store.engine import make_engine
from liftlab.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GOAL_SECONDS = 2.0
PAGES = ("overview", "flow", "assists", "holdouts", "planner", "data", "signin")


def _page_script(name: str) -> None:
    from liftlab.ui.pages import PAGES

    PAGES[name][2]()


def _render(name: str) -> float:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_page_script, args=(name,), default_timeout=600)
    if name == "holdouts":
        app.session_state["liftlab_user"] = "bench"
    started = time.perf_counter()
    app.run()
    seconds = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(f"{name}: {app.exception[0].value}")
    return seconds


def _child(name: str, runs: int) -> None:
    """One page in this fresh process: preloaded, then cold, then warm."""
    from liftlab.ui.server import preload

    logging.disable(logging.WARNING)
    started = time.perf_counter()
    preload()
    imported = time.perf_counter() - started
    cold = _render(name)
    warm = [_render(name) for _ in range(runs)]
    row = {
        "page": name,
        "preload_seconds": imported,
        "cold_seconds": cold,
        "warm_median_seconds": statistics.median(warm),
        "warm_max_seconds": max(warm),
    }
    print(json.dumps(row))


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
    parser.add_argument(
        "--cache-dir", help="The result cache (default: a new, empty folder)"
    )
    parser.add_argument("--page", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.page:
        _child(options.page, options.runs)
        return
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        url = options.database_url or _demo(Path(folder), options.customers)
        os.environ["LIFTLAB_DATABASE_URL"] = url
        os.environ["LIFTLAB_CACHE_DIR"] = options.cache_dir or str(
            Path(folder) / "cache"
        )
        from liftlab import cache
        from liftlab.store.engine import get_engine
        from liftlab.store.users import create_user, find_user

        if find_user(get_engine(url), "bench") is None:
            create_user(get_engine(url), "bench", "bench-password", role="editor")

        warmed = cache.warm()
        rows = []
        for name in PAGES:
            child = subprocess.run(
                [sys.executable, __file__, "--page", name, "--runs", str(options.runs)],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ.copy(),
            )
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))

    print("\nwarming the cache, as liftlab ui does before it serves:")
    for item in warmed:
        state = "already cached" if item.cached else "built"
        print(f"  {item.what}: {state} in {item.seconds:.2f} s")
    print(
        f"\n{'page':<10} {'preload s':>10} {'cold s':>8} {'warm median s':>14} "
        f"{'warm max s':>11}  goal"
    )
    for row in rows:
        slowest = max(row["cold_seconds"], row["warm_max_seconds"])
        verdict = "ok" if slowest <= GOAL_SECONDS else "SLOW"
        print(
            f"{row['page']:<10} {row['preload_seconds']:>10.2f} "
            f"{row['cold_seconds']:>8.2f} {row['warm_median_seconds']:>14.3f} "
            f"{row['warm_max_seconds']:>11.3f}  {verdict}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "goal_seconds": GOAL_SECONDS,
        "warm_up": [
            {"what": item.what, "cached": item.cached, "seconds": item.seconds}
            for item in warmed
        ],
        "pages": rows,
    }
    (RESULTS / "bench_ui.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()

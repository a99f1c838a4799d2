"""The app in a real browser: Debian's Chromium, driven by Playwright.

The app is served as ``make run`` serves it (``liftlab ui``, with the API
beside it) on free ports, over a small simulated store. The pages' numbers
are read from the browser and compared with the results engine's; an editor
creates a flow through the form; a viewer is refused. A screenshot of each
page goes to the test's ``output`` folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from sqlmodel import Session, select

from liftlab.attribution import (
    AttributionSettings,
    CreditVsCausation,
    build_assists,
    credit_vs_causation,
)
from liftlab.results import FlowReport, build_reports, overview
from liftlab.stats import plan_sample_size
from liftlab.store.engine import make_engine
from liftlab.store.tables import Flow, FlowChange
from liftlab.store.users import create_user
from liftlab.ui import text
from liftlab.warehouse import connect
from tests.servers import free_port, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
LIFTLAB = str(Path(sys.executable).with_name("liftlab"))
PASSWORD = "correct horse"
WAIT_MS = 300_000
START_SECONDS = 300.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@dataclass(frozen=True, slots=True)
class Served:
    app: str
    api: str
    url: str
    reports: dict[str, FlowReport]
    credit: dict[str, CreditVsCausation]
    with_path: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``liftlab ui`` over a small demo store, as ``make run`` starts it."""
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'liftlab.db'}"
    env = os.environ | {
        "LIFTLAB_DATABASE_URL": url,
        "LIFTLAB_ACTOR": "e2e",
        "LIFTLAB_CACHE_DIR": str(folder / "cache"),
    }
    env.pop("LIFTLAB_WAREHOUSE_URL", None)
    for command in (
        ["db", "upgrade"],
        ["apply", "experiments/"],
        ["demo", "--days", "30", "--customers", "10000"],
    ):
        subprocess.run(
            [LIFTLAB, *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    engine = make_engine(url)
    create_user(engine, "ed", PASSWORD, role="editor")
    create_user(engine, "viv", PASSWORD, role="viewer")
    with Session(engine) as session, connect(url) as warehouse:
        flows = list(session.exec(select(Flow).where(Flow.kind == "flow")).all())
        reports = {r.flow: r for r in build_reports(warehouse, session, flows)}
        assists = build_assists(warehouse, AttributionSettings())
    engine.dispose()
    credit = {
        row.flow: row for row in credit_vs_causation(assists, list(reports.values()))
    }

    app_port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [LIFTLAB, "ui", "--port", str(app_port), "--api-port", str(api_port)],
        cwd=folder,
        env=env,
        start_new_session=True,
    )
    app = f"http://127.0.0.1:{app_port}"
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_healthy(f"{app}/_stcore/health", process, seconds=START_SECONDS)
        wait_healthy(f"{api}/v1/health", process, seconds=START_SECONDS)
        yield Served(app, api, url, reports, credit, assists.conversions_with_path)
    finally:
        # Ctrl-C, as a person stops `make run`: liftlab ui stops both servers.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


def _shot(page: Page, folder: Path, name: str, *, height: int = 2200) -> None:
    # Streamlit scrolls inside its own container, so a long page needs a
    # tall window to be seen whole.
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _go(page: Page, name: str) -> None:
    """Open a page from the sidebar, keeping the session (and its sign-in)."""
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{name}"]').click()
    page.wait_for_url(f"**/{name}*")


def _field(page: Page, label: str) -> Locator:
    return page.locator(f'input[aria-label="{label}"]')


def _sign_in(page: Page, served: Served, username: str) -> None:
    page.goto(f"{served.app}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").first.wait_for()


def test_every_page_shows_the_engines_numbers(
    served: Served, page: Page, tmp_path: Path
) -> None:
    output = tmp_path / "output"
    rows = overview(list(served.reports.values()))
    significant = sum(row.significant for row in rows)

    page.goto(served.app)
    page.get_by_text("flows show a lift that is significant").wait_for()
    summary = page.get_by_text("flows show a lift that is significant").inner_text()
    assert summary.startswith(f"{significant} of {len(rows)} flows")
    page.locator(".js-plotly-plot").first.wait_for()
    _shot(page, output, "overview")

    for key, report in served.reports.items():
        page.goto(f"{served.app}/flow?flow={key}")
        assisted = served.credit[key].assisted
        expected = text.verdict(report, report.primary, assisted=assisted)
        page.get_by_text("SMS caused about").first.wait_for()
        shown = page.get_by_text("SMS caused about").first.inner_text()
        assert shown == expected
        metric = page.locator('[data-testid="stMetric"]').filter(
            has_text="Incremental conversions"
        )
        value = metric.locator('[data-testid="stMetricValue"]').inner_text()
        incremental = report.primary.conversion.incremental_conversions
        assert value == text.count(incremental.value)
        page.locator(".js-plotly-plot").nth(1).wait_for()
        _shot(page, output, f"flow_{key}", height=3400)

    _go(page, "assists")
    page.get_by_text("Credit beside causation").wait_for()
    row = next(iter(served.credit.values()))
    page.get_by_text(row.summary).wait_for()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="On a path")
    page.locator(".js-plotly-plot").nth(3).wait_for()
    on_path = metric.locator('[data-testid="stMetricValue"]').inner_text()
    assert on_path == text.count(served.with_path)
    _shot(page, output, "assists", height=4600)

    _go(page, "planner")
    plan = plan_sample_size(
        baseline_rate=0.05,
        minimum_relative_lift=0.10,
        holdout_percent=10,
        daily_entries=2000,
    )
    page.get_by_text(f"{plan.units_total:,} entrants").wait_for()
    _shot(page, output, "planner")

    _go(page, "data")
    page.get_by_text("Recent imports").wait_for()
    _shot(page, output, "data")

    _go(page, "holdouts")
    page.get_by_text("needs an editor's sign-in").wait_for()
    assert _field(page, "Key").count() == 0
    _shot(page, output, "holdouts_guest")

    _go(page, "signin")
    page.get_by_label("Username").wait_for()
    _shot(page, output, "signin")
    assert sorted(path.name for path in output.iterdir()) == sorted(
        ["overview.png", "assists.png", "planner.png", "data.png"]
        + ["holdouts_guest.png", "signin.png"]
        + [f"flow_{key}.png" for key in served.reports]
    )


def test_editor_creates_a_flow_through_the_form(
    served: Served, page: Page, tmp_path: Path
) -> None:
    _sign_in(page, served, "ed")
    _go(page, "holdouts")

    _field(page, "Key").fill("post_purchase")
    _field(page, "Name").fill("Post-purchase upsell")
    _field(page, "Holdout percent").fill("12.5")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("post_purchase: created.").wait_for()
    _shot(page, tmp_path / "output", "holdouts_editor")

    engine = make_engine(served.url)
    with Session(engine) as session:
        flow = session.get(Flow, "post_purchase")
        change = session.exec(
            select(FlowChange).where(FlowChange.flow_key == "post_purchase")
        ).one()
    engine.dispose()
    assert flow is not None
    assert flow.holdout_percent == 12.5
    assert change.actor == "ed"


def test_viewer_is_refused_the_holdout_form(
    served: Served, page: Page, tmp_path: Path
) -> None:
    _sign_in(page, served, "viv")
    _go(page, "holdouts")

    page.get_by_text("You are signed in as viv (viewer)").wait_for()
    assert page.get_by_role("button", name="Save").count() == 0
    assert _field(page, "Key").count() == 0
    _shot(page, tmp_path / "output", "holdouts_viewer")

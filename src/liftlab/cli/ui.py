"""``liftlab ui``: the browser app, with the API beside it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from liftlab.cli.common import app, err, out, store, user_errors

logger = logging.getLogger(__name__)

cache_app = typer.Typer(help="The app's cache of lift and assists reports.")
app.add_typer(cache_app, name="cache")

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
REPO_APP = Path(__file__).resolve().parents[3] / "app.py"

# A server: its name, its process, its base address and its health path.
_Child = tuple[str, "subprocess.Popen[bytes]", str, str]


@app.command("ui")
def ui_command(
    host: Annotated[str, typer.Option(help="Address both servers listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the app.")] = 8501,
    api_port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    api: Annotated[
        bool, typer.Option(help="Also serve the API (`liftlab serve`).")
    ] = True,
    script: Annotated[
        Path | None,
        typer.Option("--app", help="The Streamlit entry (default: liftlab's app.py)."),
    ] = None,
    warm: Annotated[
        bool,
        typer.Option(help="Build the cached reports first, so no view waits."),
    ] = True,
) -> None:
    """Serve the browser app (and the API beside it) until Ctrl-C (or
    SIGTERM), which stops both."""
    entry = _entry(script)
    if warm:
        try:
            _warm()
        except Exception as error:  # the app still serves, and says what fails
            err.print(
                f"[yellow]note:[/yellow] the cache was not warmed ({error}); "
                "the first view builds the reports",
                highlight=False,
                soft_wrap=True,
            )
    children: list[_Child] = []
    _stop_on_termination()
    try:
        if api:
            command = [_liftlab(), "serve", "--host", host, "--port", str(api_port),
                       "--workers", "1"]  # fmt: skip
            base = f"http://{host}:{api_port}"
            children.append(("API", _start(command), base, "/v1/health"))
        command = [
            sys.executable, "-m", "liftlab.ui.server", str(entry),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
            "--server.address", host,
            "--server.port", str(port),
        ]  # fmt: skip
        base = f"http://{host}:{port}"
        children.append(("app", _start(command), base, "/_stcore/health"))

        for name, process, base, health in children:
            _wait_healthy(name, process, base + health)
        for name, _process, base, _health in children:
            shown = base.replace("//127.0.0.1:", "//localhost:")
            suffix = "  (OpenAPI at /docs)" if name == "API" else ""
            out.print(f"{name:>3}: {shown}{suffix}", highlight=False)
        out.print("press Ctrl-C to stop", style="dim")
        _watch(children)
    except KeyboardInterrupt:
        out.print("stopping", style="dim")
    finally:
        for _name, process, _base, _health in reversed(children):
            _stop(process)


@cache_app.command("warm")
def cache_warm_command() -> None:
    """Build what the app's first views read, unless it is cached already."""
    with user_errors():
        store()
        _warm()


def _warm() -> None:
    from liftlab import cache

    out.print(f"warming the cache in {cache.cache_folder()}", highlight=False)
    for item in cache.warm():
        state = "already cached" if item.cached else "built"
        out.print(f"  {item.what}: {state} in {item.seconds:.1f} s", highlight=False)


def _entry(script: Path | None) -> Path:
    for candidate in (script, REPO_APP, Path.cwd() / "app.py"):
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    raise typer.BadParameter("no app.py found; pass --app PATH", param_hint="--app")


def _liftlab() -> str:
    sibling = Path(sys.executable).with_name("liftlab")
    return str(sibling) if sibling.exists() else "liftlab"


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    # Each server gets a process group of its own, so stopping it stops its
    # workers too, and Ctrl-C reaches only this command, which stops both.
    return subprocess.Popen(command, start_new_session=True, env=os.environ.copy())


def _wait_healthy(name: str, process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err.print(f"[red]error:[/red] the {name} exited with {process.returncode}")
            raise typer.Exit(1)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    err.print(f"[red]error:[/red] the {name} did not answer {url} in time")
    raise typer.Exit(1)


def _stop_on_termination() -> None:
    """Treat SIGTERM and SIGHUP (a process manager's stop, a closed
    terminal) as Ctrl-C, so that both servers stop with this command
    instead of living on in their own sessions."""

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)


def _watch(children: list[_Child]) -> None:
    while True:
        for name, process, _base, _health in children:
            if process.poll() is not None:
                err.print(
                    f"[red]error:[/red] the {name} stopped with {process.returncode}"
                )
                raise typer.Exit(1)
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass

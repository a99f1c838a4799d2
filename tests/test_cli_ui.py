"""``liftlab ui``: both servers start, and both stop with the command.

The servers run in sessions of their own (so that Ctrl-C in a terminal
reaches only ``liftlab ui``, which then stops them in order); a SIGTERM
from a process manager must stop them too, or they would outlive it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

LIFTLAB = str(Path(sys.executable).with_name("liftlab"))
START_SECONDS = 90.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_app_and_the_api(tmp_path: Path) -> None:
    env = {**os.environ, "LIFTLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}"}
    env["LIFTLAB_CACHE_DIR"] = str(tmp_path / "cache")
    subprocess.run([LIFTLAB, "db", "upgrade"], env=env, check=True, capture_output=True)
    app_port, api_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [LIFTLAB, "ui", "--no-warm", "--port", str(app_port),
         "--api-port", str(api_port)],
        env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_SECONDS
        urls = (
            f"http://127.0.0.1:{app_port}/_stcore/health",
            f"http://127.0.0.1:{api_port}/v1/health",
        )
        while not all(_answers(url) for url in urls):
            assert process.poll() is None, "liftlab ui exited while starting"
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.5)

        process.terminate()
        assert process.wait(timeout=60) == 0

        deadline = time.monotonic() + 15
        while _listening(app_port) or _listening(api_port):
            assert time.monotonic() < deadline, "a server outlived liftlab ui"
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

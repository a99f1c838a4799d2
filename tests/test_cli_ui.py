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
from pathlib import Path

from tests.servers import free_port, wait_healthy

LIFTLAB = str(Path(sys.executable).with_name("liftlab"))
START_SECONDS = 90.0


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_app_and_the_api(tmp_path: Path) -> None:
    env = {**os.environ, "LIFTLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}"}
    env["LIFTLAB_CACHE_DIR"] = str(tmp_path / "cache")
    subprocess.run([LIFTLAB, "db", "upgrade"], env=env, check=True, capture_output=True)
    app_port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [LIFTLAB, "ui", "--no-warm", "--port", str(app_port),
         "--api-port", str(api_port)],
        env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for url in (
            f"http://127.0.0.1:{app_port}/_stcore/health",
            f"http://127.0.0.1:{api_port}/v1/health",
        ):
            wait_healthy(url, process, seconds=START_SECONDS)

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

"""The assignment API under load, with a bare FastAPI endpoint as the peer.

Run as ``python bench/bench_api.py [--duration 60] [--connections 8]``. One
run makes a fresh SQLite store (or uses ``--database-url``) with the flows of
``experiments/`` and an ``assign`` key, then, one server at a time, with the
same uvicorn worker count:

- the bare peer: a FastAPI app whose ``POST /v1/assign`` parses the same
  request body (liftlab's own ``AssignRequest``) and returns a constant;
- ``liftlab serve``: key check, cached flow spec, consent read, the hash, the
  entry committed to the store, the access-log line, then the answer.

Each is loaded by wrk for ``--duration`` seconds over ``--connections``
connections on loopback, every request a new unit. wrk records the unit of
every 200 answer; afterwards the harness checks that each of them has its
entry in the store (zero lost entries). Then it times ``POST
/v1/assign/batch`` with 10,000 new units (``--batch-runs`` times).

Targets: throughput at least half the bare endpoint's, p99 at most 25 ms,
no errors, no lost entries, a 10,000-unit batch within 200 ms. Figures are
printed and written to ``bench/results/api.json``; nothing asserts on time.
The exit status is 1 when an acknowledged entry is missing from the store.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from liftlab.api.schemas import AssignRequest
from liftlab.experiments import apply_specs, load_specs
from liftlab.store.engine import make_engine
from liftlab.store.keys import Scope, create_key
from liftlab.store.migrate import upgrade
from liftlab.store.tables import Entry

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "bench" / "results" / "api.json"
FLOW = "abandoned_cart"
TARGET_RATIO = 0.5
TARGET_P99_MS = 25.0
TARGET_BATCH_MS = 200.0

# Each wrk thread numbers its requests; every request is a new unit. The unit
# of each 200 answer is appended to a file per thread, for the lost-entry check.
_LUA = """
-- thread_id is a global that setup() sets in each thread.
local counter = 0
local threads = {}
local acked = nil

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  acked = io.open(args[1] .. "/acked-" .. thread_id .. ".txt", "w")
  acked:setvbuf("line")
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"flow":"%s","unit_id":"bench_%d_%d"}', "FLOW", thread_id, counter)
  return wrk.format("POST", "/v1/assign", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer KEY",
  }, body)
end

function response(status, headers, body)
  if status == 200 then
    local unit = string.match(body, '"unit_id":"([^"]+)"')
    if unit then acked:write(unit, "\\n") end
  end
end
"""


def bare_app() -> FastAPI:
    """The peer: parse the assign body, answer a constant."""
    app = FastAPI()
    answer = {
        "flow": FLOW,
        "unit_id": "constant",
        "arm": "exposed",
        "send": True,
        "reason": "outside_holdout",
        "bucket": 0.5,
        "flow_version": 1,
    }

    @app.post("/v1/assign")
    async def assign(body: AssignRequest) -> dict[str, Any]:
        return answer

    return app


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One wrk run against one server."""

    name: str
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    acknowledged: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Timings of the 10,000-unit batch."""

    units: int
    best_ms: float
    median_ms: float
    all_entered: bool


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(
    command: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_up(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server at {url} exited")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server at {url} did not come up")


def _workers_ready(url: str, path: str, workers: int) -> None:
    # Every worker imports the same stack; give them all time to answer
    # before the clock starts, so no run is timed while a worker starts.
    time.sleep(2.0)
    for _ in range(workers * 20):
        httpx.get(url + path, timeout=30)


def _wrk(name: str, url: str, args: argparse.Namespace, folder: Path,
         key: str) -> LoadResult:  # fmt: skip
    acked_dir = folder / f"acked-{name}"
    acked_dir.mkdir()
    script = folder / f"{name}.lua"
    script.write_text(_LUA.replace("FLOW", FLOW).replace("KEY", key))
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}",
        f"-d{args.duration}s", "--latency", "--timeout", "10s",
        "-s", str(script), url + "/v1/assign", "--", str(acked_dir),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (folder / f"{name}.wrk.txt").write_text(output)
    acknowledged = sum(
        len(path.read_text().splitlines()) for path in acked_dir.glob("*.txt")
    )
    return LoadResult(
        name=name,
        requests=int(_find(r"(\d+) requests in", output)),
        requests_per_second=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_millis(_find(r"50%\s+([\d.]+\w+)", output)),
        p99_ms=_millis(_find(r"99%\s+([\d.]+\w+)", output)),
        non_2xx=int(_find(r"Non-2xx or 3xx responses: (\d+)", output, "0")),
        socket_errors=sum(
            int(n)
            for n in re.findall(
                r"(?:connect|read|write|timeout) (\d+)",
                _find(r"Socket errors: (.*)", output, ""),
            )
        ),
        acknowledged=acknowledged,
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match is None:
        if default is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{text}")
        return default
    return match.group(1)


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _lost_entries(database_url: str, acked_dir: Path) -> tuple[int, int]:
    acked = {
        line for path in acked_dir.glob("*.txt") for line in path.read_text().split()
    }
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(
                    select(Entry.unit_id).where(Entry.flow_key == FLOW)
                ).scalars()
            )
    finally:
        engine.dispose()
    return len(acked - stored), len(stored)


def _batch(url: str, key: str, database_url: str, runs: int) -> BatchResult:
    timings = []
    entered = True
    with httpx.Client(base_url=url, timeout=60) as http:
        for run in range(runs + 1):
            units = [f"batch_{run}_{n}" for n in range(10_000)]
            started = time.perf_counter()
            response = http.post(
                "/v1/assign/batch",
                json={"flow": FLOW, "unit_ids": units},
                headers={"Authorization": f"Bearer {key}"},
            )
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200 or len(response.json()) != 10_000:
                raise RuntimeError(f"batch failed: {response.status_code}")
            if run:  # the first run warms the worker up
                timings.append(elapsed)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(
                    select(Entry.unit_id).where(Entry.unit_id.like("batch_%"))
                ).scalars()
            )
        entered = len(stored) == 10_000 * (runs + 1)
    finally:
        engine.dispose()
    return BatchResult(10_000, min(timings), statistics.median(timings), entered)


def _prepare(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        apply_specs(engine, load_specs(ROOT / "experiments"), actor="bench")
        return create_key(engine, name="bench", scope=Scope.ASSIGN).key
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--batch-runs", type=int, default=5)
    parser.add_argument("--database-url", help="a store (default: a temp SQLite)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    folder = Path(tempfile.mkdtemp(prefix="liftlab-bench-api-"))
    database_url = args.database_url or f"sqlite:///{folder / 'liftlab.db'}"
    key = _prepare(database_url)
    env = {**os.environ, "LIFTLAB_DATABASE_URL": database_url}
    python = sys.executable
    results: list[LoadResult] = []

    port = _free_port()
    bare = _start(
        [python, "-m", "uvicorn", "--factory", "bench_api:bare_app",
         "--app-dir", str(ROOT / "bench"), "--port", str(port),
         "--workers", str(args.workers), "--no-access-log",
         "--timeout-worker-healthcheck", "120"],
        env, folder / "bare.log",
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, bare, "/docs")
        _workers_ready(url, "/docs", args.workers)
        results.append(_wrk("bare", url, args, folder, key))
    finally:
        _stop(bare)

    port = _free_port()
    served = _start(
        [python, "-m", "liftlab", "serve", "--port", str(port),
         "--workers", str(args.workers)],
        env, folder / "liftlab.log",
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, served, "/v1/ready")
        _workers_ready(url, "/v1/ready", args.workers)
        results.append(_wrk("liftlab", url, args, folder, key))
        lost, stored = _lost_entries(database_url, folder / "acked-liftlab")
        batch = _batch(url, key, database_url, args.batch_runs)
    finally:
        _stop(served)

    _report(results, lost, stored, batch, args)
    shutil.rmtree(folder)
    return 1 if lost or not batch.all_entered else 0


def _report(results: list[LoadResult], lost: int, stored: int, batch: BatchResult,
            args: argparse.Namespace) -> None:  # fmt: skip
    bare, served = results
    ratio = served.requests_per_second / bare.requests_per_second
    console = Console(width=120)
    table = Table(
        title=f"POST /v1/assign, {args.duration} s, {args.connections} connections, "
        f"{args.workers} workers, wrk on loopback"
    )
    for column in ("server", "requests/s", "p50 ms", "p99 ms", "non-2xx",
                   "socket errors", "acknowledged"):  # fmt: skip
        table.add_column(column, justify="left" if column == "server" else "right")
    for result in results:
        table.add_row(
            result.name,
            f"{result.requests_per_second:,.0f}",
            f"{result.p50_ms:.2f}",
            f"{result.p99_ms:.2f}",
            f"{result.non_2xx:,}",
            f"{result.socket_errors:,}",
            f"{result.acknowledged:,}",
        )
    console.print(table)
    verdict = {
        "throughput ratio (>= 0.5)": f"{ratio:.2f}",
        "p99 ms (<= 25)": f"{served.p99_ms:.2f}",
        "errors (0)": f"{served.non_2xx + served.socket_errors}",
        "acknowledged entries missing from the store (0)": f"{lost}",
        "entries stored (acknowledged + in flight at the end)": f"{stored:,}",
        "10,000-unit batch, best / median ms (<= 200)": (
            f"{batch.best_ms:.0f} / {batch.median_ms:.0f}"
        ),
        "every batch unit entered": "yes" if batch.all_entered else "NO",
    }
    for label, value in verdict.items():
        console.print(f"{label}: {value}", highlight=False)

    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "arguments": vars(args),
                "runs": [asdict(result) for result in results],
                "throughput_ratio": ratio,
                "lost_entries": lost,
                "entries_stored": stored,
                "batch": asdict(batch),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())

"""Real ``liftlab serve`` processes: concurrent workers record one entry per
unit and flow, and a server killed with SIGKILL loses no acknowledged entry.
Both run on SQLite (WAL) and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from liftlab.store.engine import make_engine
from liftlab.store.tables import Entry
from tests.api.support import bearer, serving

pytestmark = pytest.mark.slow

FLOWS = ("winback", "abandoned_cart")


def _entries(database_url: str) -> dict[tuple[str, str], list[int]]:
    """Entry counts per flow and unit, read through a fresh connection."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Entry.flow_key, Entry.unit_id, Entry.entry_count)
            ).all()
    finally:
        engine.dispose()
    found: dict[tuple[str, str], list[int]] = {}
    for flow, unit, count in rows:
        found.setdefault((flow, unit), []).append(count)
    return found


def test_four_workers_record_one_entry_per_unit_and_flow(
    store: Engine, keys: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    store.dispose()
    units = [f"cus_{n}" for n in range(300)]
    entered: Counter[tuple[str, str]] = Counter()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client(seed: int, url: str) -> None:
        rng = random.Random(seed)
        headers = bearer(keys["assign"])
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            for step in range(50):
                flow = rng.choice(FLOWS)
                if step % 10 == 0:
                    batch = rng.sample(units, 40)
                    response = http.post(
                        "/v1/assign/batch", json={"flow": flow, "unit_ids": batch}
                    )
                    answered = batch if response.status_code == 200 else []
                else:
                    unit = rng.choice(units)
                    response = http.post(
                        "/v1/assign", json={"flow": flow, "unit_id": unit}
                    )
                    answered = [unit] if response.status_code == 200 else []
                with lock:
                    statuses[response.status_code] += 1
                    entered.update((flow, unit) for unit in answered)

    with (
        serving(database_url, tmp_path, workers=4) as server,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        done = [pool.submit(client, seed, server.url) for seed in range(16)]
        for future in done:
            future.result()

    assert statuses == Counter({200: 16 * 50})
    found = _entries(database_url)
    assert set(found) == set(entered)
    assert all(len(counts) == 1 for counts in found.values())
    assert {key: counts[0] for key, counts in found.items()} == dict(entered)


def test_a_killed_server_loses_no_acknowledged_entry(
    store: Engine, keys: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    store.dispose()
    key = keys["assign"]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def fire(thread: int, url: str) -> None:
        with httpx.Client(base_url=url, headers=bearer(key), timeout=10) as http:
            for n in range(1_000):
                if stop.is_set():
                    return
                # Half the units by phone, so the logs can be checked for them.
                body = (
                    {"flow": "winback", "phone": f"+1 415 555 {thread}{n:03d}"}
                    if n % 2
                    else {"flow": "winback", "unit_id": f"t{thread}_{n}"}
                )
                try:
                    response = http.post("/v1/assign", json=body)
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(response.json()["unit_id"])

    with serving(database_url, tmp_path, workers=2) as server:
        threads = [
            threading.Thread(target=fire, args=(thread, server.url))
            for thread in range(8)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 600 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The whole process group: the supervisor and both workers, mid-load.
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        logs = server.logs()

    assert len(acknowledged) >= 600
    found = _entries(database_url)
    lost = [unit for unit in acknowledged if ("winback", unit) not in found]
    assert lost == []
    phones = [unit for unit in acknowledged if unit.startswith("+1415555")]
    assert phones
    assert '"route":"/v1/assign"' in logs
    assert not [phone for phone in phones if phone[2:] in logs or phone in logs]
    assert key.split("_", 2)[2] not in logs

"""An import killed with SIGKILL halfway leaves the store exactly as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from liftlab.ingest import import_file
from tests.ingest.test_importer import snapshot

ROWS = 120_000
BATCH = 10_000

_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from liftlab.ingest import import_file
    from liftlab.store.engine import make_engine

    def report(done):
        print("batch", flush=True)

    import_file(make_engine(sys.argv[1]), "touches", Path(sys.argv[2]),
                actor="killed", progress=report, batch_rows=int(sys.argv[3]))
    print("finished", flush=True)
    """
)


def _touches(path: Path) -> Path:
    numbers = np.arange(ROWS)
    frame = pd.DataFrame(
        {
            "touch_id": "t" + pd.Series(numbers).astype(str),
            "unit_id": "c" + pd.Series(numbers % 5_000).astype(str),
            "channel": "email",
            "kind": "click",
            "occurred_at": pd.Timestamp("2026-11-02", tz="UTC")
            + pd.to_timedelta(numbers, unit="s"),
        }
    )
    frame.to_parquet(path)
    return path


def test_import_killed_halfway_changes_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    path = _touches(tmp_path / "touches.parquet")
    import_file(engine, "touches", path, actor="seed", batch_rows=BATCH)
    extra = _touches(tmp_path / "more.parquet")
    frame = pd.read_parquet(extra)
    frame["touch_id"] = "more_" + frame["touch_id"]
    frame.to_parquet(extra)
    before = snapshot(engine)
    engine.dispose()

    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, str(extra), str(BATCH)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        batches = 0
        for line in child.stdout:
            batches += line.strip() == "batch"
            if batches == 4:
                os.kill(child.pid, signal.SIGKILL)
                break
        child.wait(timeout=60)

    assert child.returncode == -signal.SIGKILL
    assert snapshot(engine) == before

    retried = import_file(engine, "touches", extra, actor="retry", batch_rows=BATCH)
    assert retried.inserted == ROWS

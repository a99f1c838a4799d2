"""Event import: CSV, Parquet or frames into the store, validated and atomic.

``import_file`` and ``import_frame`` load entries, messages, touches,
conversions or customers; ``kinds`` says what each holds; ``validate`` checks
values by row and column; ``writing`` does the bulk writes.
"""

from __future__ import annotations

from liftlab.ingest.importer import (
    ImportRejectedError,
    ImportSummary,
    import_file,
    import_frame,
)
from liftlab.ingest.kinds import KINDS
from liftlab.ingest.reading import EventFileError

__all__ = [
    "KINDS",
    "EventFileError",
    "ImportRejectedError",
    "ImportSummary",
    "import_file",
    "import_frame",
]

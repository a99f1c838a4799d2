"""``python -m liftlab`` runs the command line."""

from __future__ import annotations

from liftlab.cli import main

main()

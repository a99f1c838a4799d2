"""The ``liftlab`` command line.

Errors a user can fix are printed as one message per problem, naming the
file, row and field, and end the command with exit code 1; nothing is
half written. ``common`` holds the app and error handling; ``flows``,
``assign``, ``data`` and ``results`` hold the commands.
"""

from __future__ import annotations

from liftlab.cli import assign, attribution, data, flows, results, serve, ui, users
from liftlab.cli.common import app

__all__ = ["app", "main"]

_COMMANDS = (assign, attribution, data, flows, results, serve, ui, users)


def main() -> None:
    """Entry point of the ``liftlab`` console script."""
    app()

"""The HTTP API for automation tools (FastAPI, served by ``liftlab serve``).

Where things live: ``app`` builds the application; ``auth`` checks API keys
and scopes; ``entering`` assigns units and logs their entries; ``schemas``
holds the request and response bodies; ``errors`` the error codes and their
JSON shape; ``middleware`` the body size limit and the access log;
``routes`` the endpoints, one module per concept.
"""

from __future__ import annotations

from liftlab.api.app import create_app

__all__ = ["create_app"]

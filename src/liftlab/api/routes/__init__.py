"""The API's routes, one module per concept: ``assign`` (units entering
flows), ``events`` (messages, touches, conversions), ``flows`` (flows and
their reports) and ``health`` (liveness and readiness)."""

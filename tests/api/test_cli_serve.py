"""``liftlab keys create|list|revoke``: the key is printed once, on stdout."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.store.keys import find_key, parse_key, secret_matches

runner = CliRunner()


def test_keys_create_list_and_revoke(liftlab_env: str, engine: Engine) -> None:
    created = runner.invoke(
        app, ["keys", "create", "--scope", "ingest", "--name", "etl"]
    )
    assert created.exit_code == 0, created.stderr
    key = created.stdout.strip()
    parsed = parse_key(key)
    assert parsed is not None
    key_id, secret = parsed
    assert "shown once" in created.stderr
    with Session(engine) as session:
        record = find_key(session, key_id)
    assert record is not None
    assert record.scope.value == "ingest"
    assert secret_matches(record, secret)

    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.stdout
    assert "etl" in listed.stdout
    assert secret not in listed.stdout

    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0
    unknown = runner.invoke(app, ["keys", "revoke", "000000000000"])
    assert unknown.exit_code == 1
    assert "no key with id" in unknown.stderr
    bad_scope = runner.invoke(app, ["keys", "create", "--scope", "root", "--name", "x"])
    assert bad_scope.exit_code != 0

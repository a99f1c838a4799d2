"""API keys: shown once, stored as salted hashes, revocable."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.store.keys import (
    Scope,
    UnknownKeyError,
    create_key,
    find_key,
    hash_secret,
    list_keys,
    parse_key,
    revoke_key,
    secret_matches,
)
from liftlab.store.tables import ApiKey


def test_create_key_stores_only_a_salted_hash(engine: Engine) -> None:
    created = create_key(engine, name="braze production", scope="assign")

    prefix, key_id, secret = created.key.split("_", 2)
    assert (prefix, key_id) == ("ll", created.record.key_id)
    assert len(secret) == 43
    with Session(engine) as session:
        row = session.exec(select(ApiKey)).one()
    assert secret not in (row.salt, row.secret_hash, row.name)
    assert created.key not in (row.salt, row.secret_hash)
    assert row.secret_hash == hashlib.sha256((row.salt + secret).encode()).hexdigest()
    assert (row.scope, row.name) == ("assign", "braze production")


def test_two_keys_with_one_secret_would_hash_apart(engine: Engine) -> None:
    assert hash_secret("same", "salt-a") != hash_secret("same", "salt-b")


def test_secret_matches_only_its_own_secret(engine: Engine) -> None:
    created = create_key(engine, name="k", scope=Scope.READ)
    _, _, secret = created.key.split("_", 2)

    assert secret_matches(created.record, secret)
    assert not secret_matches(
        created.record, secret[:-1] + ("A" if secret[-1] != "A" else "B")
    )
    assert not secret_matches(created.record, "")


@pytest.mark.parametrize(
    "text",
    ["", "ll_", "ll_abc_def", "xx_0123456789ab_" + "a" * 43,
     "ll_0123456789AB_" + "a" * 43,
     "ll_0123456789ab_" + "a" * 42, "ll_0123456789ab_" + "a" * 42 + "!"],
)  # fmt: skip
def test_parse_key_refuses_malformed_keys(text: str) -> None:
    assert parse_key(text) is None


def test_parse_key_splits_a_well_formed_key() -> None:
    secret = "a-b_" + "c" * 39
    assert parse_key(f"ll_0123456789ab_{secret}") == ("0123456789ab", secret)


def test_revoke_key_is_idempotent_and_listed(engine: Engine) -> None:
    first = create_key(engine, name="one", scope=Scope.ADMIN)
    create_key(engine, name="two", scope=Scope.INGEST)

    revoked = revoke_key(engine, first.record.key_id)
    again = revoke_key(engine, first.record.key_id)

    assert revoked.revoked_at is not None
    assert again.revoked_at == revoked.revoked_at
    listed = list_keys(engine)
    assert [(key.name, key.revoked_at is not None) for key in listed] == [
        ("one", True), ("two", False),
    ]  # fmt: skip
    with Session(engine) as session:
        assert find_key(session, "000000000000") is None


def test_revoke_and_create_refuse_unknown_input(engine: Engine) -> None:
    with pytest.raises(UnknownKeyError, match="no key with id"):
        revoke_key(engine, "000000000000")
    with pytest.raises(ValueError, match="scope: must be one of"):
        create_key(engine, name="x", scope="owner")
    with pytest.raises(ValueError, match="name"):
        create_key(engine, name="  ", scope="read")


def test_scopes_grant_themselves_and_admin_everything(engine: Engine) -> None:
    admin = create_key(engine, name="a", scope=Scope.ADMIN).record
    read = create_key(engine, name="r", scope=Scope.READ).record

    assert all(admin.allows(scope) for scope in Scope)
    assert [scope for scope in Scope if read.allows(scope)] == [Scope.READ]

"""App users: Argon2-hashed passwords, roles, disabling, the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.store.engine import get_engine
from liftlab.store.tables import User
from liftlab.store.users import (
    UserError,
    create_user,
    disable_user,
    find_user,
    list_users,
    verify_user,
)


def test_create_user_stores_only_an_argon2_hash(engine: Engine) -> None:
    create_user(engine, "ana", "correct horse", role="editor")

    with Session(engine) as session:
        row = session.exec(select(User)).one()
    assert row.password_hash.startswith("$argon2id$")
    assert "correct horse" not in row.password_hash
    assert row.role == "editor"


def test_verify_user_accepts_the_password_and_refuses_others(engine: Engine) -> None:
    create_user(engine, "ana", "correct horse", role="editor")

    user = verify_user(engine, "ana", "correct horse")

    assert user is not None
    assert user.can_edit
    assert verify_user(engine, "ana", "wrong horse") is None
    assert verify_user(engine, "bob", "correct horse") is None


def test_disable_user_stops_sign_in(engine: Engine) -> None:
    create_user(engine, "ana", "correct horse", role="editor")

    disabled = disable_user(engine, "ana")

    assert disabled.disabled_at is not None
    assert not disabled.can_edit
    assert verify_user(engine, "ana", "correct horse") is None


def test_sso_only_user_cannot_sign_in_by_password(engine: Engine) -> None:
    create_user(engine, "ana@example.com", None, role="editor")

    user = find_user(engine, "ana@example.com")

    assert user is not None
    assert not user.has_password
    assert verify_user(engine, "ana@example.com", "!sso-only") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "field"),
    [
        ("ana", "short", "editor", "password"),
        ("ana smith", "correct horse", "editor", "username"),
        ("ana", "correct horse", "owner", "role"),
    ],
)
def test_create_user_refuses_bad_values(
    engine: Engine, username: str, password: str, role: str, field: str
) -> None:
    with pytest.raises(UserError, match=f"^{field}:"):
        create_user(engine, username, password, role=role)
    assert list_users(engine) == []


def test_create_user_refuses_a_taken_name(engine: Engine) -> None:
    create_user(engine, "ana", "correct horse", role="viewer")

    with pytest.raises(UserError, match="already taken"):
        create_user(engine, "ana", "another horse", role="editor")
    assert [user.role for user in list_users(engine)] == ["viewer"]


def test_users_add_reads_the_password_from_stdin(liftlab_env: str) -> None:
    runner = CliRunner()

    added = runner.invoke(
        app,
        ["users", "add", "ana", "--role", "editor", "--password-stdin"],
        input="correct horse\n",
    )
    listed = runner.invoke(app, ["users", "list"])
    disabled = runner.invoke(app, ["users", "disable", "ana"])

    assert added.exit_code == 0, added.stderr
    assert "added ana (editor)" in added.stdout
    assert "ana" in listed.stdout
    assert "editor" in listed.stdout
    assert disabled.exit_code == 0
    engine = get_engine(liftlab_env)
    assert verify_user(engine, "ana", "correct horse") is None


def test_users_add_refuses_a_short_password(liftlab_env: str) -> None:
    result = CliRunner().invoke(
        app, ["users", "add", "ana", "--password-stdin"], input="short\n"
    )

    assert result.exit_code == 1
    assert "password: must have at least 8 characters" in result.stderr

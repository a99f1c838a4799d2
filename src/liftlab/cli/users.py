"""Commands for the app's local users: add, list, disable."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from liftlab.cli.common import app, err, out, store
from liftlab.store.users import UserError, create_user, disable_user, list_users

users_app = typer.Typer(help="Local users of the app: viewers, editors, admins.")
app.add_typer(users_app, name="users")


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.viewer,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from stdin."),
    ] = False,
    sso_only: Annotated[
        bool,
        typer.Option(
            "--sso-only",
            help="No local password: the user signs in through OIDC only, "
            "with the e-mail as the username.",
        ),
    ] = False,
) -> None:
    """Add a user; the password is asked for (or read from stdin) and hashed."""
    password: str | None = None
    if not sso_only:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt(
                "password", hide_input=True, confirmation_prompt=True
            )
    try:
        user = create_user(store(), username, password, role=role.value)
    except UserError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"added {user.username} ({user.role})", highlight=False)


@users_app.command("list")
def list_command() -> None:
    """List users, their roles and whether they are disabled."""
    users = list_users(store())
    if not users:
        out.print("no users yet: add one with `liftlab users add NAME --role editor`")
        return
    table = Table(title="Users")
    for column in ("username", "role", "sign-in", "added", "disabled"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.username,
            user.role,
            "password" if user.has_password else "single sign-on",
            f"{user.created_at:%Y-%m-%d}",
            f"{user.disabled_at:%Y-%m-%d}" if user.disabled_at else "",
        )
    out.print(table)


@users_app.command("disable")
def disable_command(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
) -> None:
    """Stop a user signing in; their past changes keep their name."""
    try:
        user = disable_user(store(), username)
    except UserError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"disabled {user.username}", highlight=False)

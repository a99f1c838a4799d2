"""The app's local users: Argon2-hashed passwords and roles.

Viewers read; editors also change flows and import data; admins are editors
who may also manage users. A password is kept only as an Argon2id hash
(argon2-cffi's defaults). A user added for single sign-on only (OIDC) gets
an unusable hash, so no password ever signs them in locally. A disabled user
cannot sign in; their name stays in the change log they wrote.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlmodel import select

from liftlab.store.engine import session_scope
from liftlab.store.tables import User, utc_now

__all__ = [
    "EDITING_ROLES",
    "ROLES",
    "UserError",
    "UserInfo",
    "create_user",
    "disable_user",
    "find_user",
    "list_users",
    "verify_user",
]

logger = logging.getLogger(__name__)

ROLES = ("viewer", "editor", "admin")
EDITING_ROLES = frozenset({"editor", "admin"})
MIN_PASSWORD_LENGTH = 8
NO_PASSWORD = "!sso-only"
_USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created or changed as asked."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as the app sees it: no password hash.

    Attributes:
        username: The sign-in name (for single sign-on, the e-mail).
        role: ``viewer``, ``editor`` or ``admin``.
        created_at: When the user was added.
        disabled_at: When the user was disabled, else None.
        has_password: Whether a local password can sign them in.
    """

    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool

    @property
    def can_edit(self) -> bool:
        """Whether the user may change flows and import data."""
        return self.disabled_at is None and self.role in EDITING_ROLES


def _info(user: User) -> UserInfo:
    return UserInfo(
        username=user.username,
        role=user.role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        has_password=user.password_hash != NO_PASSWORD,
    )


def create_user(
    engine: Engine, username: str, password: str | None, *, role: str
) -> UserInfo:
    """Add a user with a hashed password (None: single sign-on only).

    Raises:
        UserError: A malformed name, an unknown role, a short password, or a
            name already taken.
    """
    if not _USERNAME.fullmatch(username):
        raise UserError(
            f"username: must be 1 to 64 letters, digits or . _ @ + -, got {username!r}"
        )
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password: must have at least {MIN_PASSWORD_LENGTH} characters"
        )

    hashed = NO_PASSWORD if password is None else _hasher.hash(password)
    with session_scope(engine) as session:
        taken = session.exec(select(User).where(User.username == username)).first()
        if taken is not None:
            raise UserError(f"username: '{username}' is already taken")
        user = User(username=username, password_hash=hashed, role=role)
        session.add(user)
        session.flush()
        info = _info(user)
    logger.info("user %s added as %s", username, role)
    return info


def verify_user(engine: Engine, username: str, password: str) -> UserInfo | None:
    """The user when the password is theirs and they are enabled, else None.

    A hash made with older Argon2 parameters is upgraded on success.
    """
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None or user.disabled_at is not None:
            # Spend the same effort as a real check, so timing does not tell
            # which names exist.
            _hasher.hash(password)
            return None
        if user.password_hash == NO_PASSWORD:
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            logger.info("sign-in refused for %s", username)
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
            session.add(user)
        return _info(user)


def find_user(engine: Engine, username: str) -> UserInfo | None:
    """The user with a name, enabled or not, else None."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        return None if user is None else _info(user)


def list_users(engine: Engine) -> list[UserInfo]:
    """Every user, by name."""
    with session_scope(engine) as session:
        users = session.exec(select(User).order_by(User.username)).all()
        return [_info(user) for user in users]


def disable_user(engine: Engine, username: str) -> UserInfo:
    """Stop a user signing in; their past changes keep their name.

    Raises:
        UserError: No user has that name.
    """
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UserError(f"username: no user '{username}'")
        if user.disabled_at is None:
            user.disabled_at = utc_now()
            session.add(user)
        session.flush()
        info = _info(user)
    logger.info("user %s disabled", username)
    return info

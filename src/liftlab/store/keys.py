"""API keys: created once, stored as salted hashes, checked in constant time.

A key reads ``ll_<key_id>_<secret>``. The key id is public: it names the key
in listings and logs. The secret is 256 random bits, shown once when the key
is created and never stored: the store keeps a random salt and
``sha256(salt + secret)``. A fast hash is enough for a secret of that
entropy (there is nothing to guess), and it keeps a check cheap enough for
every request. Hashes are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from liftlab.store.engine import session_scope
from liftlab.store.tables import ApiKey, utc_now

__all__ = [
    "KEY_PREFIX",
    "CreatedKey",
    "KeyRecord",
    "Scope",
    "UnknownKeyError",
    "create_key",
    "find_key",
    "hash_secret",
    "list_keys",
    "parse_key",
    "revoke_key",
    "secret_matches",
    "touch_key",
]

KEY_PREFIX = "ll"
_KEY_ID = re.compile(r"[a-z0-9]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


class Scope(StrEnum):
    """What a key may do; ``admin`` may do everything."""

    ASSIGN = "assign"
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


class UnknownKeyError(LookupError):
    """No key has the id asked for."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key, without its secret.

    Attributes:
        key_id: The public id, the middle part of the key.
        name: What the key is for, e.g. ``braze-production``.
        scope: What it may do.
        salt: The salt of its hash.
        secret_hash: ``sha256(salt + secret)`` in hex.
        created_at: When it was created.
        last_used_at: When it was last accepted (to within a minute), or None.
        revoked_at: When it was revoked, or None.
    """

    key_id: str
    name: str
    scope: Scope
    salt: str
    secret_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, needed: Scope) -> bool:
        """Whether this key's scope grants ``needed``."""
        return self.scope is Scope.ADMIN or self.scope is needed


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: the full key text is shown once and never again.

    Attributes:
        key: The key to give the client, ``ll_<key_id>_<secret>``.
        record: What the store keeps.
    """

    key: str
    record: KeyRecord


def hash_secret(secret: str, salt: str) -> str:
    """The stored hash of a secret under a salt, in hex."""
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def secret_matches(record: KeyRecord, secret: str) -> bool:
    """Whether a secret is the key's, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret, record.salt), record.secret_hash)


def parse_key(text: str) -> tuple[str, str] | None:
    """Split ``ll_<key_id>_<secret>`` into id and secret; None if malformed."""
    prefix, _, rest = text.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not _KEY_ID.fullmatch(key_id):
        return None
    if not _SECRET.fullmatch(secret):
        return None
    return key_id, secret


def create_key(engine: Engine, *, name: str, scope: Scope | str) -> CreatedKey:
    """Create a key and store its salted hash.

    Raises:
        ValueError: An unknown scope or an empty name.
    """
    chosen = _scope(scope)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("name: must be 1 to 200 characters")

    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    row = ApiKey(
        key_id=key_id,
        name=name,
        scope=chosen.value,
        salt=salt,
        secret_hash=hash_secret(secret, salt),
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        record = _record(row)
    return CreatedKey(key=f"{KEY_PREFIX}_{key_id}_{secret}", record=record)


def find_key(session: Session, key_id: str) -> KeyRecord | None:
    """The stored key with an id, revoked or not; None if there is none."""
    row = session.execute(select(ApiKey).where(ApiKey.key_id == key_id)).scalar()
    return None if row is None else _record(row)


def list_keys(engine: Engine) -> list[KeyRecord]:
    """Every key, oldest first, revoked ones included."""
    with session_scope(engine) as session:
        rows = session.execute(select(ApiKey).order_by(ApiKey.id)).scalars()
        return [_record(row) for row in rows]


def revoke_key(engine: Engine, key_id: str) -> KeyRecord:
    """Revoke a key; revoking it again changes nothing.

    Raises:
        UnknownKeyError: No key has that id.
    """
    with session_scope(engine) as session:
        row = session.execute(select(ApiKey).where(ApiKey.key_id == key_id)).scalar()
        if row is None:
            raise UnknownKeyError(f"key: no key with id '{key_id}' (see keys list)")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
        session.flush()
        return _record(row)


def touch_key(engine: Engine, key_id: str, moment: datetime) -> None:
    """Record that a key was accepted at ``moment``."""
    with session_scope(engine) as session:
        session.execute(
            update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=moment)
        )


def _scope(scope: Scope | str) -> Scope:
    try:
        return Scope(scope)
    except ValueError:
        allowed = ", ".join(item.value for item in Scope)
        raise ValueError(f"scope: must be one of {allowed}, got '{scope}'") from None


def _record(row: ApiKey) -> KeyRecord:
    return KeyRecord(
        key_id=row.key_id,
        name=row.name,
        scope=Scope(row.scope),
        salt=row.salt,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )

"""Settings read from the environment, one place for every entry point.

Every setting has the prefix ``LIFTLAB_``: ``LIFTLAB_DATABASE_URL`` names the
store (a SQLite file by default, PostgreSQL when it starts with
``postgresql://``), ``LIFTLAB_DEFAULT_REGION`` is the region assumed for phone
numbers written without a country code. The ``LIFTLAB_API_*`` settings shape
the HTTP API (``liftlab serve``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///liftlab.db"


class Settings(BaseSettings):
    """liftlab's settings.

    Attributes:
        database_url: SQLAlchemy URL of the store. ``postgresql://`` URLs use
            the psycopg 3 driver.
        default_region: ISO 3166 region for national phone numbers.
        pii_key: Secret used to pseudonymise phone numbers in logs; unset, a
            per-process random key is used, so log tokens do not link across
            runs.
        api_cors_origins: Origins allowed to call the API from a browser,
            comma-separated; empty (the default) turns CORS off.
        api_max_body_bytes: Largest request body the API reads; larger ones
            are refused with 413 before they are parsed.
        api_cache_seconds: How long an API worker trusts its cached flow
            specs and API keys: a changed holdout or a revoked key takes
            effect within this time.
        api_sqlite_synchronous: SQLite's ``synchronous`` setting for the
            API's connections. ``normal`` (the default) makes every
            acknowledged entry survive a crash of the server process;
            ``full`` also survives a power cut, at the price of a disk flush
            per write.
        cache_dir: Folder of the app's result cache (see
            :mod:`liftlab.cache`); unset, ``liftlab-<user id>`` in the
            system temporary folder.
    """

    model_config = SettingsConfigDict(env_prefix="LIFTLAB_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    default_region: str = Field(default="US", min_length=2, max_length=2)
    pii_key: str | None = None
    api_cors_origins: str = ""
    api_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    api_cache_seconds: float = Field(default=2.0, ge=0)
    api_sqlite_synchronous: Literal["normal", "full"] = "normal"
    cache_dir: str | None = None

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    @field_validator("default_region")
    @classmethod
    def _upper(cls, region: str) -> str:
        return region.upper()

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """The CORS origins as a tuple, empty when CORS is off."""
        origins = (origin.strip() for origin in self.api_cors_origins.split(","))
        return tuple(origin for origin in origins if origin)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()

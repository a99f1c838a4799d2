"""Settings read from the environment, one place for every entry point.

Every setting has the prefix ``LIFTLAB_``: ``LIFTLAB_DATABASE_URL`` names the
store (a SQLite file by default, PostgreSQL when it starts with
``postgresql://``), ``LIFTLAB_DEFAULT_REGION`` is the region assumed for phone
numbers written without a country code.
"""

from __future__ import annotations

from functools import lru_cache

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
    """

    model_config = SettingsConfigDict(env_prefix="LIFTLAB_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    default_region: str = Field(default="US", min_length=2, max_length=2)
    pii_key: str | None = None

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()

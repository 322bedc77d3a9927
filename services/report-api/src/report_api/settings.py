"""report-api settings, read from ``REPORT_API_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import AuthSettings, DatabaseSettings


class Settings(BaseSettings):
    """Every setting of the service; nested ones use ``__`` (``REPORT_API_DATABASE__URL``)."""

    model_config = SettingsConfigDict(env_prefix="REPORT_API_", env_nested_delimiter="__", extra="ignore")

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite+aiosqlite:///var/report-api.db")
    )
    auth: AuthSettings = Field(default_factory=lambda: AuthSettings(public_key_file=Path("var/keys/jwt-public.pem")))
    timezone: str = "Asia/Ho_Chi_Minh"
    directive_api_url: str = "http://127.0.0.1:8001"
    """Where directive-api's event feed and webhooks come from."""


@lru_cache
def get_settings() -> Settings:
    """The settings of this process (environment read once)."""
    return Settings()

"""A service's defaults of a nested setting survive the variables that set only part of it."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import AuthSettings, nested_defaults


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERVICE_", env_nested_delimiter="__")

    auth: Annotated[AuthSettings, nested_defaults(issuer="https://id.one.example", audience="one")] = Field(
        default_factory=lambda: AuthSettings(issuer="https://id.one.example", audience="one")
    )


def test_variables_for_part_of_a_nested_setting_keep_the_service_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ServiceSettings().auth.issuer, ServiceSettings().auth.audience) == ("https://id.one.example", "one")
    monkeypatch.setenv("SERVICE_AUTH__JWKS_URL", "https://id.one.example/jwks")
    auth = ServiceSettings().auth
    assert (auth.issuer, auth.audience, auth.jwks_url) == (
        "https://id.one.example",
        "one",
        "https://id.one.example/jwks",
    )
    monkeypatch.setenv("SERVICE_AUTH__AUDIENCE", "two")
    assert ServiceSettings().auth.audience == "two"


def test_common_gives_no_issuer_or_audience_of_its_own() -> None:
    with pytest.raises(ValidationError) as raised:
        AuthSettings()  # type: ignore[call-arg]
    assert {error["loc"][0] for error in raised.value.errors()} == {"issuer", "audience"}

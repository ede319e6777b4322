"""Settings from the environment. A missing or malformed one is reported by name, in one line."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.engine.catalog import DEFAULT_BANK_ID

SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: Annotated[str, Field(pattern=r"^xoxb-\S+$")]
    slack_signing_secret: Annotated[str, Field(min_length=8)]
    slack_app_token: Annotated[str | None, Field(pattern=r"^xapp-\S+$")] = None
    redis_url: str = "redis://localhost:6379/0"
    slack_api_url: str = SLACK_API_URL
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_bank: Annotated[str, Field(min_length=1)] = DEFAULT_BANK_ID
    banks_dir: str | None = None
    session_ttl_days: Annotated[int, Field(ge=1, le=365)] = 14
    web_concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    # Fewer respondents than this and a team report shows only the count; never below 3.
    team_min_respondents: Annotated[int, Field(ge=3, le=1000)] = 3

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = "is required but not set" if first["type"] == "missing" else f"is invalid: {first['msg']}"
        raise SettingsError(f"{name} {reason}") from None

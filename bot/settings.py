"""Settings from the environment. A missing or malformed one is reported by name, in one line.

Every command reads `BankSettings`; only `serve` reads the rest (`Settings`), so a setting that only
the web process uses cannot stop `banks`, `assess` or `--help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.engine.catalog import DEFAULT_BANK_ID, DEFAULT_BANKS_DIR

SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    pass


class BankSettings(BaseSettings):
    """Where the question banks are and which one starts by default: read by every command."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    banks_dir: Path | None = None
    default_bank: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")] = DEFAULT_BANK_ID

    @property
    def banks_directory(self) -> Path:
        return self.banks_dir if self.banks_dir is not None else DEFAULT_BANKS_DIR

    @field_validator("banks_dir", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value


class StoreSettings(BankSettings):
    """Where state lives and how much history it keeps: read by `serve` and `export`."""

    redis_url: str = "redis://localhost:6379/0"
    history_keep: Annotated[int, Field(ge=1, le=1000)] = 40
    history_retention_days: Annotated[int, Field(ge=1, le=36500)] = 3 * 365
    # What one person may have at once: open team runs they started, and schedules they created.
    team_runs_per_user: Annotated[int, Field(ge=1, le=1000)] = 5
    schedules_per_user: Annotated[int, Field(ge=1, le=1000)] = 10

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


DELIVERY_RETRY_SECONDS = (5, 15, 60, 300, 900, 1800)


class Settings(StoreSettings):
    """Everything `serve` needs."""

    slack_bot_token: Annotated[str, Field(pattern=r"^xoxb-\S+$")]
    slack_signing_secret: Annotated[str, Field(min_length=8)]
    slack_app_token: Annotated[str | None, Field(pattern=r"^xapp-\S+$")] = None
    slack_api_url: str = SLACK_API_URL
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    session_ttl_days: Annotated[int, Field(ge=1, le=365)] = 14
    web_concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    # Fewer respondents than this and a team report shows only the count; never below 3. The bands, not
    # this count, keep answers private (docs/privacy.md).
    team_min_respondents: Annotated[int, Field(ge=3, le=1000)] = 3
    # Seconds before each retry of a report Slack did not accept (JSON list); then its author is told.
    delivery_retry_seconds: tuple[Annotated[int, Field(ge=0, le=86_400)], ...] = DELIVERY_RETRY_SECONDS

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


class ClockSettings(StoreSettings):
    """Everything `clock` (and `worker`) needs: no signing secret, since it answers no requests. It keeps
    the same history limits and caps as `serve`, since it closes team runs and opens scheduled ones."""

    slack_bot_token: Annotated[str, Field(pattern=r"^xoxb-\S+$")]
    slack_api_url: str = SLACK_API_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    clock_tick_seconds: Annotated[float, Field(ge=0.05, le=3600)] = 10.0
    clock_batch: Annotated[int, Field(ge=1, le=10_000)] = 100
    # The clock closes team runs at their deadline, so it builds their reports by the same rule as serve.
    team_min_respondents: Annotated[int, Field(ge=3, le=1000)] = 3
    # The clock and the worker enqueue report deliveries too (a run closed at its deadline, a sweep).
    delivery_retry_seconds: tuple[Annotated[int, Field(ge=0, le=86_400)], ...] = DELIVERY_RETRY_SECONDS
    # The worker enqueues again a report pending this long whose job never ran, looking this often.
    outbox_sweep_seconds: Annotated[float, Field(ge=0.1, le=3600)] = 30.0

    # The same checks as `serve`'s.
    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return Settings._upper(value)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return Settings._api_url(value)


# The environment variables that only `serve` reads.
SERVE_ONLY_SETTINGS = frozenset(
    name.upper() for name in Settings.model_fields.keys() - BankSettings.model_fields.keys()
)

SettingsT = TypeVar("SettingsT", bound=BankSettings)


def _load(kind: type[SettingsT], overrides: dict[str, Any]) -> SettingsT:
    try:
        return kind(**overrides)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = "is required but not set" if first["type"] == "missing" else f"is invalid: {first['msg']}"
        raise SettingsError(f"{name} {reason}") from None


def load_bank_settings(**overrides: Any) -> BankSettings:
    return _load(BankSettings, overrides)


def load_store_settings(**overrides: Any) -> StoreSettings:
    return _load(StoreSettings, overrides)


def load_settings(**overrides: Any) -> Settings:
    return _load(Settings, overrides)


def load_clock_settings(**overrides: Any) -> ClockSettings:
    return _load(ClockSettings, overrides)

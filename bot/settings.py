"""Settings from the environment: what each command reads, and the order they are checked in.

Each command reads one class of settings (`COMMAND_SETTINGS`) and only that, so a setting a command does
not use cannot stop it: `banks` works with a malformed `WEB_CONCURRENCY`, and `jobs` needs only
where Redis is (RedisSettings). A missing or malformed setting is reported by name, in one line; when
several are, the one first in `SETTINGS_ORDER` (the order of the settings table in docs/operations.md) is
reported.

`python -m bot.settings` prints that table, built from the fields below and `COMMAND_SETTINGS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError, PydanticUndefined
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.engine.catalog import DEFAULT_BANK_ID, DEFAULT_BANKS_DIR
from bot.store.cipher import token_cipher
from bot.store.connection import RedisTarget

SLACK_API_URL = "https://slack.com/api/"
DELIVERY_RETRY_SECONDS = (5, 15, 60, 300, 900, 1800)


class SettingsError(Exception):
    """A setting is missing or malformed, or what it names does not work; the message is one line."""


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")


class BankSettings(_FromEnvironment):
    """Where the question banks are and which one starts by default."""

    banks_dir: Annotated[
        Path | None,
        Field(description="Directory of question bank files; unset, the banks shipped with the app"),
    ] = None
    default_bank: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
            description="The bank that `/mlops-compass`, `assess` and the playground's demo start when none "
            "is named (in a terminal, the playground asks)",
        ),
    ] = DEFAULT_BANK_ID

    @property
    def banks_directory(self) -> Path:
        return self.banks_dir if self.banks_dir is not None else DEFAULT_BANKS_DIR

    @field_validator("banks_dir", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value


class RedisSettings(_FromEnvironment):
    """Where state lives."""

    redis_url: Annotated[
        str,
        Field(
            description="Where all state lives (`redis://`, `rediss://`, `unix://`); `serve --memory` does "
            "not connect to it. With `REDIS_SENTINELS`, only its database number, password and `rediss://` "
            "count"
        ),
    ] = "redis://localhost:6379/0"

    redis_sentinels: Annotated[
        tuple[tuple[str, int], ...],
        NoDecode,
        Field(
            description="Redis Sentinel's `host:port` pairs, comma-separated: when set, state lives on the "
            "master they name, followed through a failover, instead of at `REDIS_URL`'s host"
        ),
    ] = ()
    redis_sentinel_master: Annotated[
        str | None,
        Field(
            validate_default=True,
            pattern=r"^\S+$",
            description="The master's name in the sentinels' `sentinel monitor`; required with "
            "`REDIS_SENTINELS`",
        ),
    ] = None
    redis_sentinel_password: Annotated[
        SecretStr | None, Field(description="The sentinels' password (their `requirepass`), if any")
    ] = None
    redis_password: Annotated[
        SecretStr | None,
        Field(description="The Redis data nodes' password; unset, the one in REDIS_URL, if any"),
    ] = None

    @property
    def redis_target(self) -> RedisTarget:
        """Where the client connects (bot/store/connection.py)."""
        return RedisTarget(
            self.redis_url,
            self.redis_sentinels,
            self.redis_sentinel_master,
            _secret(self.redis_sentinel_password),
            _secret(self.redis_password),
        )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        database = urlsplit(value).path.lstrip("/") if not value.startswith("unix://") else ""
        if database and not database.isdigit():
            raise ValueError("its path must be a database number, such as /0")
        return value

    @field_validator("redis_sentinel_master", "redis_sentinel_password", "redis_password", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _host_port_pairs(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = []
        for listed in (item.strip() for item in value.split(",")):
            if not listed:
                continue
            host, colon, port = listed.rpartition(":")
            if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise PydanticCustomError(
                    "sentinels",
                    "must be host:port pairs, comma-separated, such as sentinel-1:26379 (not {item})",
                    {"item": listed},
                )
            pairs.append((host.strip("[]"), int(port)))
        return tuple(pairs)

    @field_validator("redis_sentinel_master")
    @classmethod
    def _master_with_sentinels(cls, value: str | None, info: ValidationInfo) -> str | None:
        sentinels = info.data.get("redis_sentinels")
        if sentinels and value is None:
            raise PydanticCustomError("missing", "Field required")
        if value is not None and "redis_sentinels" in info.data and not sentinels:
            raise PydanticCustomError("sentinels", "set without REDIS_SENTINELS: set both for Sentinel")
        return value

    @field_validator("redis_sentinel_password", "redis_password")
    @classmethod
    def _password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return value
        # A password pasted with a space or a line break around it would be refused by Redis, later and
        # less plainly.
        if value.get_secret_value() != value.get_secret_value().strip():
            raise PydanticCustomError("password", "begins or ends with whitespace")
        # Only once REDIS_SENTINELS itself is good: a malformed one is reported for what it is.
        without_sentinels = "redis_sentinels" in info.data and not info.data["redis_sentinels"]
        if info.field_name == "redis_sentinel_password" and without_sentinels:
            raise PydanticCustomError("sentinels", "set without REDIS_SENTINELS")
        return value


class StoreSettings(RedisSettings):
    """Where state lives and how much history it keeps."""

    history_keep: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Results kept per history (a person's, or a channel's team results); the oldest goes "
            "when one more is added",
        ),
    ] = 40
    history_retention_days: Annotated[
        int,
        Field(
            ge=1,
            le=36500,
            description="A kept result is deleted this many days after it finished (1095 days: 3 years), and "
            "a team run's keys this many days after it closed",
        ),
    ] = 3 * 365


# The bot scopes manifest.yml asks for, in its order: what an OAuth install asks for unless SLACK_SCOPES
# says otherwise (tests/test_oauth_settings.py holds the two together).
MANIFEST_BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "files:write",
    "channels:read",
    "groups:read",
    "users:read",
    "channels:history",
    "groups:history",
)


class DistributionSettings(_FromEnvironment):
    """Distributing the app to many workspaces by OAuth (docs/operations.md, "Distributing the app
    (OAuth)"): on when both the client id and its secret are set, and then the installations' tokens are
    encrypted with SLACK_INSTALLATION_KEYS, which must be set too."""

    slack_client_id: Annotated[
        str | None,
        Field(
            pattern=r"^\d+\.\d+$",
            description="The app's client id (Basic Information); with the secret, turns OAuth on",
        ),
    ] = None
    slack_client_secret: Annotated[
        SecretStr | None,
        Field(validate_default=True, description="The app's client secret, set with `SLACK_CLIENT_ID`"),
    ] = None
    slack_scopes: Annotated[
        tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:-]*$")], ...],
        NoDecode,
        Field(description="Bot scopes an install asks for, comma-separated; unset, those of manifest.yml"),
    ] = MANIFEST_BOT_SCOPES
    slack_redirect_uri: Annotated[
        str | None,
        Field(description="Where Slack sends the installer back (`https://…/slack/oauth_redirect`)"),
    ] = None
    slack_installation_keys: Annotated[
        SecretStr | None,
        Field(
            validate_default=True,
            description="Fernet keys encrypting installations' tokens, comma-separated: the first encrypts, "
            "all decrypt; required with OAuth",
        ),
    ] = None

    @property
    def oauth_enabled(self) -> bool:
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def installation_keys(self) -> tuple[str, ...]:
        """The Fernet keys, the one that encrypts first; empty when none are set."""
        return _split_keys(self.slack_installation_keys)

    @field_validator(
        "slack_client_id",
        "slack_client_secret",
        "slack_redirect_uri",
        "slack_installation_keys",
        mode="before",
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_client_secret")
    @classmethod
    def _both_or_neither(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        client_id = info.data.get("slack_client_id")
        if client_id is not None and value is None:
            raise PydanticCustomError("oauth", "required when SLACK_CLIENT_ID is set")
        if client_id is None and value is not None and "slack_client_id" in info.data:
            raise PydanticCustomError("oauth", "set without SLACK_CLIENT_ID: set both for OAuth, or neither")
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            scopes = tuple(scope.strip() for scope in value.split(",") if scope.strip())
            return scopes or MANIFEST_BOT_SCOPES
        return value

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("slack_installation_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if (
                info.data.get("slack_client_id") is not None
                and info.data.get("slack_client_secret") is not None
            ):
                raise PydanticCustomError(
                    "oauth",
                    "required when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: one or more Fernet keys, "
                    "comma-separated",
                )
            return value
        return _fernet_keys(value)


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _split_keys(keys: SecretStr | None) -> tuple[str, ...]:
    if keys is None:
        return ()
    return tuple(key.strip() for key in keys.get_secret_value().split(","))


def _fernet_keys(value: SecretStr) -> SecretStr:
    try:
        token_cipher(value.get_secret_value().split(","))
    except ValueError as error:
        raise PydanticCustomError("oauth", str(error)) from None
    return value


class InstallationKeySettings(RedisSettings):
    """What `installations reencrypt` reads: where the installations are, and the keys to rotate them to
    (the first) and from (the others)."""

    slack_installation_keys: Annotated[
        SecretStr, Field(description="Fernet keys encrypting installations' tokens, comma-separated")
    ]

    @property
    def installation_keys(self) -> tuple[str, ...]:
        return _split_keys(self.slack_installation_keys)

    @field_validator("slack_installation_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        return _fernet_keys(value)


class SlackProcessSettings(BankSettings, StoreSettings, DistributionSettings):
    """What every process that talks to Slack reads: `serve`, `worker` and `clock` build the same flows
    (team reports by the same rule, the same caps) and enqueue report deliveries. With OAuth on
    (DistributionSettings), each workspace's bot token comes from its installation instead of
    SLACK_BOT_TOKEN."""

    slack_bot_token: Annotated[
        str | None,
        Field(
            pattern=r"^xoxb-\S+$",
            validate_default=True,
            description="Bot token, `xoxb-…`; Slack must accept it at start. Required unless OAuth is on "
            "(`SLACK_CLIENT_ID`), which takes each workspace's token from its installation",
        ),
    ] = None
    slack_api_url: Annotated[
        str, Field(description="Web API base URL: GovSlack, a proxy, or a test double")
    ] = SLACK_API_URL
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        Field(description="`DEBUG`, `INFO`, `WARNING` or `ERROR` (`DEBUG` adds `serve`'s access log)"),
    ] = "INFO"
    team_runs_per_user: Annotated[
        int,
        Field(ge=1, le=1000, description="Open team runs one person may have started at once"),
    ] = 5
    schedules_per_user: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Reminder schedules one person may have created, beside 10 per channel",
        ),
    ] = 10
    # The bands, not this count, keep answers private (docs/privacy.md).
    team_min_respondents: Annotated[
        int,
        Field(
            ge=3,
            le=1000,
            description="A team report shows levels, scores and gaps only from this many respondents",
        ),
    ] = 3
    session_ttl_days: Annotated[
        float,
        Field(
            ge=0.0001,
            le=365,
            description="An abandoned assessment expires after this many days without activity; "
            "0.5 is 12 hours",
        ),
    ] = 14
    delivery_retry_seconds: Annotated[
        tuple[Annotated[int, Field(ge=0, le=86_400)], ...],
        NoDecode,
        Field(
            description="Seconds before each retry of a report Slack did not accept (a JSON list); after the "
            "last its author is told"
        ),
    ] = DELIVERY_RETRY_SECONDS

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _bot_token_unless_oauth(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and value != "":
            return value
        # Only once the OAuth settings themselves are good: a half-set pair is reported for what it is.
        oauth_known = "slack_client_id" in info.data and "slack_client_secret" in info.data
        if oauth_known and info.data["slack_client_id"] is None:
            raise PydanticCustomError("missing", "Field required")
        return None

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

    # Decoded here rather than by pydantic-settings, whose decoding error would come before, and instead of,
    # the checks of the settings listed above this one.
    @field_validator("delivery_retry_seconds", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("must be a JSON list of seconds, such as [5, 60, 300]") from None


_APP_TOKEN = Field(
    pattern=r"^xapp-\S+$", description="App-level token `xapp-…`, required for `serve --socket`"
)


class Settings(SlackProcessSettings):
    """Everything `serve` reads."""

    slack_signing_secret: Annotated[
        str,
        Field(
            min_length=8,
            description="Verifies that requests come from Slack (older than 5 minutes: refused)",
        ),
    ]
    slack_app_token: Annotated[str | None, _APP_TOKEN] = None
    port: Annotated[int, Field(ge=1, le=65535, description="HTTP port")] = 3000
    web_concurrency: Annotated[
        int, Field(ge=1, le=64, description="gunicorn worker processes, of 8 threads each")
    ] = 2


class SocketModeSettings(Settings):
    """What `serve --socket` reads: the same, with the app-level token required."""

    slack_app_token: Annotated[str, _APP_TOKEN]


class WorkerSettings(SlackProcessSettings):
    """Everything `worker` reads."""

    outbox_sweep_seconds: Annotated[
        float,
        Field(
            ge=0.1,
            le=3600,
            description="The worker enqueues again a report pending this long with no job, looking this "
            "often",
        ),
    ] = 30.0
    worker_threads: Annotated[
        int,
        Field(
            ge=1,
            le=64,
            description="Jobs one worker process runs at once, each in a thread of its own (reports, "
            "mostly waiting on Slack)",
        ),
    ] = 16


class ClockSettings(SlackProcessSettings):
    """Everything `clock` reads: no signing secret, since it answers no requests."""

    clock_tick_seconds: Annotated[
        float,
        Field(ge=0.05, le=3600, description="How often the clock looks for due work when it found none"),
    ] = 10.0
    clock_batch: Annotated[
        int,
        Field(ge=1, le=10_000, description="Schedules claimed, and reminders posted, per step of a tick"),
    ] = 100


# Which settings each command reads: the settings table's "Read by" column. The playground reads
# BankSettings too (docs/operations.md says so below the table).
COMMAND_SETTINGS: dict[str, type[BaseSettings]] = {
    "assess": BankSettings,
    "validate": BankSettings,
    "banks": BankSettings,
    "serve": Settings,
    "worker": WorkerSettings,
    "clock": ClockSettings,
    "jobs": RedisSettings,
    "export": StoreSettings,
    "installations": InstallationKeySettings,
}

# The order of the settings table, and of the checks: a process reports the first setting in this order
# that is missing or malformed, and only then checks what they name, in the same order (the banks, Redis,
# Slack, the port).
SETTINGS_ORDER = (
    "banks_dir",
    "default_bank",
    "redis_url",
    "redis_sentinels",
    "redis_sentinel_master",
    "redis_sentinel_password",
    "redis_password",
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "slack_api_url",
    "slack_client_id",
    "slack_client_secret",
    "slack_installation_keys",
    "slack_scopes",
    "slack_redirect_uri",
    "port",
    "log_level",
    "session_ttl_days",
    "history_keep",
    "history_retention_days",
    "team_runs_per_user",
    "schedules_per_user",
    "web_concurrency",
    "team_min_respondents",
    "clock_tick_seconds",
    "clock_batch",
    "delivery_retry_seconds",
    "outbox_sweep_seconds",
    "worker_threads",
)

# The environment variables that the terminal commands (`assess`, `validate`, `banks`) never read.
SERVICE_SETTINGS = frozenset(name.upper() for name in SETTINGS_ORDER) - {
    name.upper() for name in BankSettings.model_fields
}

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def read_settings(kind: type[SettingsT], **overrides: Any) -> SettingsT:
    """The settings of `kind` from the environment (and `overrides`, by field name). Raises SettingsError
    naming the first setting in SETTINGS_ORDER that is missing or malformed."""
    try:
        return kind(**overrides)
    except ValidationError as error:
        first = min(error.errors(include_url=False), key=_order_of)
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = "is required but not set" if first["type"] == "missing" else f"is invalid: {first['msg']}"
        raise SettingsError(f"{name} {reason}") from None


def _order_of(error: ErrorDetails) -> int:
    name = error["loc"][0] if error["loc"] else None
    return SETTINGS_ORDER.index(name) if name in SETTINGS_ORDER else len(SETTINGS_ORDER)


def load_bank_settings(**overrides: Any) -> BankSettings:
    return read_settings(BankSettings, **overrides)


def load_settings(**overrides: Any) -> Settings:
    return read_settings(Settings, **overrides)


# The settings table -------------------------------------------------------------------------------


def settings_table() -> str:
    """The Markdown table of every setting in docs/operations.md#settings."""
    rows = ["| Setting | Default | Read by | Meaning |", "| --- | --- | --- | --- |"]
    for name in SETTINGS_ORDER:
        readers = [command for command, kind in COMMAND_SETTINGS.items() if name in kind.model_fields]
        field = COMMAND_SETTINGS[readers[0]].model_fields[name]
        cells = (
            f"`{name.upper()}`",
            _shown_default(field),
            ", ".join(f"`{command}`" for command in readers),
            (field.description or "") + _bounds(field),
        )
        rows.append(f"| {' | '.join(cells)} |")
    return "\n".join(rows) + "\n"


def _shown_default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    default = field.default
    if default is None or default is PydanticUndefined or default == ():
        return "none"
    if isinstance(default, tuple):
        return f"`{json.dumps(list(default))}`"
    return f"`{_number(default) if isinstance(default, float) else default}`"


def _bounds(field: FieldInfo) -> str:
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    if low is None or high is None:
        return ""
    return f" ({_number(low)}–{_number(high)})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


if __name__ == "__main__":
    print(settings_table(), end="")

"""The app's installations in Redis, for distributing it to many workspaces by OAuth: slack_sdk's
InstallationStore and OAuthStateStore, which Bolt's OAuth flow, its authorization and its uninstall
listeners call.

What is kept (bot/store/keys.py): for each workspace T, or for an org-wide install across enterprise E,
the bot of its latest installation, and each installer's latest installation. The last one saved wins,
for the bot and for each installer, so a refreshed token (bot token rotation) replaces the one it
refreshes; "the latest installation" of a workspace is the installer's record newest by `installed_at`.
An installation's bot fields are always the workspace's bot record: once the bot is deleted (its token
revoked) no installation hands its token out again.

A workspace's installation is found by its team id: Slack's team ids are unique across Slack, and the
product's other keys, and the clock's indexes, name a workspace by team id alone. An org-wide
installation (`is_enterprise_install`) is found by the enterprise id, and also serves a workspace of that
enterprise that has no installation of its own.

Tokens at rest: the bot and user tokens, their refresh tokens, and the incoming webhook's URL (which posts
to a channel with no other credential) are encrypted together as one Fernet token in each record; ids,
names, scopes, expiry times and `installed_at` stay readable. The keys rotate with MultiFernet: the
first of `encryption_keys` encrypts, every one decrypts, and `reencrypt_all` rewrites every record still
encrypted with another key (docs/operations.md, "Distributing the app (OAuth)"). A record none of the keys
decrypts raises InstallationUndecryptable, naming the workspace, and is logged: it is never taken for
"not installed", which would ask the workspace to install the app again while its tokens still work once
the missing key is back.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ValidationError
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.store import corrupt, keys
from bot.store.cipher import token_cipher
from bot.store.corrupt import parse_or_set_aside
from bot.store.transactions import TooManyConcurrentChanges, optimistic

# How long an install has from the "Add to Slack" click to Slack's redirect back.
OAUTH_STATE_SECONDS = 10 * 60
# A state the store issued is 43 characters of this alphabet; anything else was never issued.
_STATE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The fields of an installation (or a bot) that are credentials: stored encrypted, never in clear.
SECRET_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token", "incoming_webhook_url")
# An installation's bot fields come from the workspace's bot record, not from the installer's record.
BOT_FIELDS = ("bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token", "bot_token_expires_at")
# The installation keys that hold a record (the others are the installers' index, or set aside).
_RECORD_KEY = re.compile(r":(bot|user:[^:]+)$")

log = logging.getLogger(__name__)


class InstallationUndecryptable(Exception):
    """A stored installation's tokens decrypt with none of the keys: the key it was encrypted with was
    removed (from SLACK_INSTALLATION_KEYS) before every record was re-encrypted. The record is kept as it
    is; putting the key back makes it readable again."""

    def __init__(self, owner: str, key: str, key_count: int):
        self.owner = owner
        self.key = key
        super().__init__(
            f"the installation of {owner} ({key}) decrypts with none of the {key_count} installation "
            "key(s): the key it was encrypted with was removed before `reencrypt_all` rewrote it; put that "
            "key back in SLACK_INSTALLATION_KEYS (after the first) and re-encrypt"
        )


class StoredRecord(BaseModel):
    """An installation or a bot as stored: its readable fields, and its credentials as one Fernet token
    of their JSON."""

    fields: dict[str, Any]
    secrets: str


@dataclass(frozen=True)
class Owner:
    """Whose installation: a workspace (its team id), or an enterprise for an org-wide install."""

    id: str
    org_wide: bool

    def __str__(self) -> str:
        return f"enterprise {self.id} (org-wide)" if self.org_wide else f"workspace {self.id}"

    @property
    def bot_key(self) -> str:
        return keys.installation_bot(self.id, org_wide=self.org_wide)

    @property
    def users_key(self) -> str:
        return keys.installation_users(self.id, org_wide=self.org_wide)

    def user_key(self, user_id: str) -> str:
        return keys.installation_user(self.id, user_id, org_wide=self.org_wide)


def owner_of(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> Owner | None:
    """Where an installation with these ids is kept; None when they name nothing (neither id)."""
    if is_enterprise_install or team_id is None:
        return Owner(enterprise_id, org_wide=True) if enterprise_id else None
    return Owner(team_id, org_wide=False)


def _owners_to_search(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> list[Owner]:
    """The workspace's own installation first, then its enterprise's org-wide one."""
    own = owner_of(enterprise_id, team_id, is_enterprise_install)
    found = [own] if own is not None else []
    if own is not None and not own.org_wide and enterprise_id:
        found.append(Owner(enterprise_id, org_wide=True))
    return found


@dataclass(frozen=True)
class Reencryption:
    """What `reencrypt_all` did: records rewritten with the first key, records that already were, and
    the keys of records no key decrypts (left as they were)."""

    reencrypted: int
    current: int
    undecryptable: tuple[str, ...]


class RedisInstallationStore(InstallationStore):
    def __init__(
        self, client: redis.Redis, encryption_keys: Sequence[str], *, logger: logging.Logger | None = None
    ) -> None:
        self.redis = client
        self._cipher = token_cipher(encryption_keys)
        self._first_key = Fernet(encryption_keys[0].strip())
        self._key_count = len(encryption_keys)
        self._logger = logger or log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    # Saving ---------------------------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        """Keep `installation` as its installer's latest, and its bot (when it has one) as the
        workspace's, in one transaction."""
        owner = self._owner_to_save(installation)
        fields = {name: value for name, value in vars(installation).items() if name not in BOT_FIELDS}
        user_record = self._seal(fields)
        bot_record = self._seal(vars(installation.to_bot())) if installation.bot_token is not None else None
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(owner.user_key(installation.user_id), user_record)
            pipe.zadd(owner.users_key, {installation.user_id: installation.installed_at})
            if bot_record is not None:
                pipe.set(owner.bot_key, bot_record)
            pipe.execute()

    def save_bot(self, bot: Bot) -> None:
        """Keep `bot` as its workspace's (Bolt saves a refreshed bot token here); one without a token is
        not kept, as slack_sdk's stores do."""
        if not bot.bot_token:
            self.logger.debug("not saving a bot without a token")
            return
        owner = self._owner_to_save(bot)
        self.redis.set(owner.bot_key, self._seal(vars(bot)))

    @staticmethod
    def _owner_to_save(what: Bot | Installation) -> Owner:
        owner = owner_of(what.enterprise_id, what.team_id, what.is_enterprise_install)
        if owner is None:
            raise ValueError("an installation with neither a team id nor an enterprise id cannot be kept")
        return owner

    # Finding --------------------------------------------------------------------------------------

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        if enterprise_id is None and team_id is not None:
            # A worker's job or a clock's item knows only its workspace: an org-wide installation serves
            # it when a request from it showed which org it belongs to (`note_org_workspace`).
            enterprise_id = _text_or_none(self.redis.get(keys.workspace_enterprise(team_id)))
        for owner in _owners_to_search(enterprise_id, team_id, is_enterprise_install):
            fields = self._open(owner, owner.bot_key, self.redis.get(owner.bot_key))
            if fields is not None:
                return Bot(**fields)
        return None

    def note_org_workspace(self, enterprise_id: str, team_id: str) -> None:
        """Remember that workspace `team_id` belongs to org `enterprise_id`, so that work done later for
        the workspace alone (a report, a reminder) finds the org-wide installation."""
        self.redis.set(keys.workspace_enterprise(team_id), enterprise_id)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The installer's latest installation, or without `user_id` the workspace's newest, with the
        workspace's bot (none once the bot was deleted)."""
        for owner in _owners_to_search(enterprise_id, team_id, is_enterprise_install):
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrevrange(owner.users_key, 0, -1)
                pipe.get(owner.bot_key)
                installers, bot_raw = pipe.execute()
            wanted = [user_id] if user_id is not None else [_text(member) for member in installers]
            installation = self._newest_installer(owner, wanted)
            if installation is None:
                continue
            bot = self._open(owner, owner.bot_key, bot_raw) or {}
            for name in BOT_FIELDS:
                setattr(installation, name, bot.get(name))
            return installation
        return None

    def _newest_installer(self, owner: Owner, user_ids: Sequence[str]) -> Installation | None:
        """The first of `user_ids` (newest first) whose record is there."""
        for user_id in user_ids:
            key = owner.user_key(user_id)
            fields = self._open(owner, key, self.redis.get(key))
            if fields is not None:
                return Installation(**fields)
        return None

    # Deleting -------------------------------------------------------------------------------------

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        owner = owner_of(enterprise_id, team_id, is_enterprise_install=False)
        if owner is not None:
            self.redis.delete(owner.bot_key)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """One installer's installation, or without `user_id` every installer's; the bot stays."""
        self._delete(enterprise_id, team_id, user_id, with_bot=False)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Everything kept for the workspace (or the org-wide install): what uninstalling the app leaves."""
        self._delete(enterprise_id, team_id, None, with_bot=True)

    def _delete(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None, with_bot: bool
    ) -> None:
        owner = owner_of(enterprise_id, team_id, is_enterprise_install=False)
        if owner is None:
            return

        def attempt(pipe: Any) -> None:
            installers = (
                [user_id] if user_id is not None else [_text(m) for m in pipe.zrange(owner.users_key, 0, -1)]
            )
            pipe.multi()
            for installer in installers:
                pipe.delete(owner.user_key(installer))
            if user_id is None:
                pipe.delete(owner.users_key)
            else:
                pipe.zrem(owner.users_key, user_id)
            if with_bot:
                pipe.delete(owner.bot_key)

        optimistic(self.redis, attempt, watched=[owner.users_key], gave_up=lambda: _too_busy(str(owner)))

    # Key rotation ---------------------------------------------------------------------------------

    def reencrypt_all(self) -> Reencryption:
        """Rewrite every stored record with the first key, so the other keys can be dropped; a record that
        already is is left alone, so running it again after an interruption only finishes the job.
        Records no key decrypts are logged and left as they are."""
        reencrypted = current = 0
        undecryptable: list[str] = []
        for pattern in keys.installation_patterns():
            for raw_key in self.redis.scan_iter(match=pattern, count=500):
                key = _text(raw_key)
                if not _RECORD_KEY.search(key):
                    continue
                outcome = self._reencrypt(key)
                if outcome == "reencrypted":
                    reencrypted += 1
                elif outcome == "current":
                    current += 1
                elif outcome == "undecryptable":
                    undecryptable.append(key)
        self.logger.info(
            "installations re-encrypted with the first key: %d; already were: %d; undecryptable: %d",
            reencrypted,
            current,
            len(undecryptable),
        )
        return Reencryption(reencrypted, current, tuple(undecryptable))

    def _reencrypt(self, key: str) -> str:
        def attempt(pipe: Any) -> tuple[str, bytes | None, ValidationError | None]:
            raw = pipe.get(key)
            if raw is None:
                return "gone", None, None
            try:
                record = StoredRecord.model_validate_json(raw)
            except ValidationError as error:
                return "corrupt", raw, error
            try:
                self._first_key.decrypt(record.secrets)
                return "current", None, None
            except InvalidToken:
                pass
            try:
                rotated = self._cipher.rotate(record.secrets).decode()
            except InvalidToken:
                return "undecryptable", None, None
            pipe.multi()
            pipe.set(key, record.model_copy(update={"secrets": rotated}).model_dump_json())
            return "reencrypted", None, None

        outcome, raw, error = optimistic(self.redis, attempt, watched=[key], gave_up=lambda: _too_busy(key))
        if raw is not None and error is not None:
            corrupt.set_aside(self.redis, key, raw, "installation", error)
        if outcome == "undecryptable":
            self.logger.error("%s", InstallationUndecryptable(_owner_of_key(key), key, self._key_count))
        return outcome

    # Records --------------------------------------------------------------------------------------

    def _seal(self, fields: dict[str, Any]) -> str:
        """The stored JSON of an installation's or a bot's attributes, its credentials encrypted."""
        readable = {name: value for name, value in fields.items() if name not in SECRET_FIELDS}
        credentials = {name: fields[name] for name in SECRET_FIELDS if fields.get(name) is not None}
        sealed = self._cipher.encrypt(json.dumps(credentials).encode()).decode()
        return StoredRecord(fields=readable, secrets=sealed).model_dump_json()

    def _open(self, owner: Owner, key: str, raw: bytes | str | None) -> dict[str, Any] | None:
        """The attributes of a stored record, credentials decrypted; None when there is none. Raises
        CorruptRecord (set aside) or InstallationUndecryptable, logged either way."""
        record = parse_or_set_aside(self.redis, key, raw, StoredRecord, "installation")
        if record is None:
            return None
        try:
            credentials = json.loads(self._cipher.decrypt(record.secrets))
        except InvalidToken:
            error = InstallationUndecryptable(str(owner), key, self._key_count)
            self.logger.error("%s", error)
            raise error from None
        return {**record.fields, **credentials}


def _too_busy(what: str) -> TooManyConcurrentChanges:
    return TooManyConcurrentChanges(f"the installation of {what} kept changing; nothing was changed")


def _owner_of_key(key: str) -> str:
    """The workspace or enterprise a record's key names, for a log line."""
    owner_id = key.split("{", 1)[1].split("}", 1)[0]
    return str(Owner(owner_id, org_wide=":org-installation:" in key))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisOAuthStateStore(OAuthStateStore):
    """One-time OAuth states: each works once, within `expiration_seconds` of being issued; the first
    `consume` deletes it, so a second (a replayed redirect) finds nothing."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        expiration_seconds: int = OAUTH_STATE_SECONDS,
        logger: logging.Logger | None = None,
    ) -> None:
        self.redis = client
        self.expiration_seconds = expiration_seconds
        self._logger = logger or log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        self.redis.set(keys.oauth_state(state), "issued", ex=self.expiration_seconds)
        return state

    def consume(self, state: str) -> bool:
        """Whether `state` was issued here, has not expired, and was not used before; it is used now."""
        if not _STATE.match(state) or self.redis.delete(keys.oauth_state(state)) != 1:
            self.logger.warning("an OAuth state that was never issued here, expired, or was used already")
            return False
        return True


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)

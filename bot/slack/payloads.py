"""What the app reads of Slack's payloads, as typed models: each listener parses its payload once, and
the flows get these instead of indexing Slack's dicts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class SlashCommand(BaseModel):
    """`/mlops-compass …` as Slack sends it (form fields; Socket Mode sends the same as JSON)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: str
    user_id: str
    channel_id: str
    text: str = ""
    trigger_id: str | None = None
    response_url: str | None = None  # where the answer goes, from any process, for 30 minutes

    @property
    def words(self) -> list[str]:
        return self.text.split()

    @property
    def subcommand(self) -> str:
        """The first word, lower-cased; `start` when nothing follows the command."""
        return self.words[0].lower() if self.words else "start"

    @property
    def arguments(self) -> list[str]:
        return self.words[1:]

    @property
    def rest(self) -> str:
        """The text after the subcommand as typed (spacing and quotes kept, as a cron rule needs)."""
        first = self.words[0] if self.words else ""
        return self.text.strip()[len(first) :].strip()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _timestamp(value: Any) -> float | None:
    """Slack's "1700000000.123456": seconds since the epoch."""
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _who(body: dict[str, Any]) -> tuple[str, str]:
    """(workspace id, user id) of an interaction payload; a payload without them is not Slack's (KeyError)."""
    team_id = body["team"]["id"] if body.get("team") else body["user"]["team_id"]
    return team_id, body["user"]["id"]


class BlockAction(BaseModel):
    """One element's action of a block_actions payload: who acted, where, and on what."""

    model_config = ConfigDict(frozen=True)

    team_id: str
    user_id: str
    action_id: str
    value: str | None = None  # a button's value, or the value of the radio button option chosen
    channel_id: str | None = None  # the channel the payload names (none on the Home tab)
    container_channel_id: str | None = None  # the channel of the message the element is on
    message_ts: str | None = None
    response_url: str | None = None  # where the answer goes, from any process, for 30 minutes
    action_ts: float | None = None  # when the person clicked, by Slack's clock

    @property
    def shown_in(self) -> str | None:
        """The channel the clicked message is in."""
        return self.channel_id or self.container_channel_id

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> BlockAction:
        team_id, user_id = _who(body)
        container = _object(body.get("container"))
        if action.get("type") in ("radio_buttons", "static_select"):
            value = _text(_object(action.get("selected_option")).get("value"))
        elif action.get("type") == "users_select":
            value = _text(action.get("selected_user"))
        else:
            value = _text(action.get("value"))
        return cls(
            team_id=team_id,
            user_id=user_id,
            action_id=str(action.get("action_id") or ""),
            value=value,
            channel_id=_text(_object(body.get("channel")).get("id")),
            container_channel_id=_text(container.get("channel_id")),
            message_ts=_text(container.get("message_ts")),
            response_url=_text(body.get("response_url")),
            action_ts=_timestamp(action.get("action_ts")),
        )


class ViewSubmission(BaseModel):
    """A submitted modal: who submitted it, the metadata the app gave it, and its inputs' state."""

    model_config = ConfigDict(frozen=True)

    team_id: str
    user_id: str
    callback_id: str | None = None
    private_metadata: str | None = None
    values: dict[str, Any] = {}

    @classmethod
    def of(cls, body: dict[str, Any]) -> ViewSubmission:
        team_id, user_id = _who(body)
        view = _object(body.get("view"))
        values = _object(_object(view.get("state")).get("values"))
        return cls(
            team_id=team_id,
            user_id=user_id,
            callback_id=_text(view.get("callback_id")),
            private_metadata=_text(view.get("private_metadata")),
            values=values,
        )


class Shortcut(BaseModel):
    """A global shortcut: who used it."""

    model_config = ConfigDict(frozen=True)

    team_id: str
    user_id: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Shortcut:
        team_id, user_id = _who(body)
        return cls(team_id=team_id, user_id=user_id)

"""Modals in the fake Slack: the trigger ids Slack hands out with each interaction, and the views it opens
with them.

Slack opens a modal only with a trigger id it issued: one that came with a slash command, a shortcut or a
click, is at most 3 seconds old and has not opened a view before. ``TriggerBook`` keeps that rule, and
``check_modal`` refuses the views Slack refuses: no modal, a title, submit or close text too long, more than
100 blocks, or blocks slack_sdk's models do not parse.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Slack's modal documentation: a trigger id "expires in 3 seconds" and can be exchanged for one view.
TRIGGER_LIFETIME_SECONDS = 3.0
MAX_VIEW_TEXT = 24
MAX_VIEW_BLOCKS = 100
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
# An option's text, which slack_sdk checks when it builds an Option but not when it parses one.
MAX_OPTION_TEXT = 75

# views.open's errors for a trigger it will not exchange (docs.slack.dev/reference/methods/views.open).
INVALID_TRIGGER = "invalid_trigger_id"
EXPIRED_TRIGGER = "expired_trigger_id"
EXCHANGED_TRIGGER = "exchanged_trigger_id"


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    exchanged_at: float | None = None


class TriggerBook:
    """The trigger ids the fake issued, when, to whom, and whether one was exchanged for a view yet."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._triggers: dict[str, _Trigger] = {}

    def issue(self, user_id: str, age: float = 0.0) -> str:
        """A new trigger id for `user_id`, as if issued `age` seconds ago."""
        trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger_id] = _Trigger(user_id, self.clock() - age)
        return trigger_id

    def exchange(self, trigger_id: str) -> tuple[str | None, str | None]:
        """(the trigger's user, None) when the trigger may open a view now, which uses it up; otherwise
        (None, Slack's error code)."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return None, INVALID_TRIGGER
        if trigger.exchanged_at is not None:
            return None, EXCHANGED_TRIGGER
        now = self.clock()
        if now - trigger.issued_at > TRIGGER_LIFETIME_SECONDS:
            return None, EXPIRED_TRIGGER
        trigger.exchanged_at = now
        return trigger.user_id, None

    def age_when_exchanged(self, trigger_id: str) -> float | None:
        """Seconds between issuing the trigger and opening a view with it; None if it never opened one."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None or trigger.exchanged_at is None:
            return None
        return trigger.exchanged_at - trigger.issued_at


def check_modal(view: Any) -> list[str]:
    """What Slack would refuse in `view` for views.open, each as Slack words it (less its "[ERROR] ");
    empty when the view opens."""
    if not isinstance(view, dict):
        return ["view must be an object [json-pointer:/view]"]
    problems = []
    if view.get("type") != "modal":
        problems.append('must be "modal" [json-pointer:/view/type]')
    for name, required in (("title", True), ("submit", False), ("close", False)):
        problems += _check_view_text(view, name, required)
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("must provide blocks [json-pointer:/view/blocks]")
        blocks = []
    elif len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]")
    has_inputs = False
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"[json-pointer:/view/blocks/{index}]"
        parsed = None
        try:
            parsed = Block.parse(block) if isinstance(block, dict) else None
            if parsed is not None:
                parsed.to_dict()  # validates every nested element, as validate_json alone does not
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as error:
            problems.append(f"{error} {pointer}")
            continue
        if parsed is None:
            problems.append(f"unsupported block {pointer}")
            continue
        problems += [f"{problem} {pointer}" for problem in _option_problems(block)]
        has_inputs = has_inputs or block.get("type") == "input"
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} {pointer}")
            block_ids.add(block_id)
    if has_inputs and not view.get("submit"):
        problems.append("a view with input blocks needs submit [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(
            f"must be at most {MAX_PRIVATE_METADATA} characters [json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("callback_id") or "")) > MAX_CALLBACK_ID:
        problems.append(f"must be at most {MAX_CALLBACK_ID} characters [json-pointer:/view/callback_id]")
    if not problems:
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError) as error:
            problems.append(f"{error} [json-pointer:/view]")
    return problems


def _option_problems(block: dict[str, Any]) -> list[str]:
    elements = [block.get("element"), block.get("accessory"), *(block.get("elements") or [])]
    problems = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options += group.get("options") or []
        for option in options:
            text = str((option.get("text") or {}).get("text", ""))
            if len(text) > MAX_OPTION_TEXT:
                problems.append(f"option text must be at most {MAX_OPTION_TEXT} characters, not {len(text)}")
    return problems


def _check_view_text(view: dict[str, Any], name: str, required: bool) -> list[str]:
    pointer = f"[json-pointer:/view/{name}]"
    text = view.get(name)
    if text is None:
        return [f"must provide {name} {pointer}"] if required else []
    if (
        not isinstance(text, dict)
        or text.get("type") != "plain_text"
        or not isinstance(text.get("text"), str)
    ):
        return [f"must be a plain_text object {pointer}"]
    if not 1 <= len(text["text"]) <= MAX_VIEW_TEXT:
        return [f"must be between 1 and {MAX_VIEW_TEXT} characters [json-pointer:/view/{name}/text]"]
    return []


def opened_view(view: dict[str, Any], view_id: str, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
    """The view as views.open answers it: the app's view with Slack's own fields added."""
    return {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "title": copy.deepcopy(view["title"]),
        "submit": copy.deepcopy(view.get("submit")),
        "close": copy.deepcopy(view.get("close")),
        "blocks": copy.deepcopy(view["blocks"]),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": app_id,
        "app_installed_team_id": team_id,
        "bot_id": bot_id,
    }

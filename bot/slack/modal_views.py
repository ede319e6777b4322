"""The setup modals: the forms `/mlops-compass team` and `/mlops-compass schedule` open when typed without
arguments, built with slack_sdk's models, and what a submission of each means.

A submission is read into the request the typed command would make (``TeamSetup``; for a schedule, the
words `schedule` would be typed with) or into ``FieldErrors``: one message per field, by block_id, which
Slack shows under the field while the modal stays open. Reading never touches Redis or Slack, so it fits
in the 3 seconds Slack gives the acknowledgement, and a refused submission changes nothing.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.overview import brief_length
from bot.engine.schedule import (
    BANK_FOR_CHOICE,
    CUSTOM,
    DEFAULT_AT,
    MONTHLY,
    QUARTERLY,
    BadSchedule,
    check_cron,
    parse_at,
    parse_request,
)
from bot.slack.blocks import MAX_OPTION_TEXT, BlockLimitError
from bot.usecases.team_runs import DEFAULT_DAYS, MAX_DAYS

TEAM_SETUP_CALLBACK = "team_setup"
SCHEDULE_SETUP_CALLBACK = "schedule_setup"

# Slack's limits for a modal (docs.slack.dev/reference/views): title, submit and close texts, and blocks.
MAX_VIEW_TEXT = 24
MAX_VIEW_BLOCKS = 100
MAX_SELECT_OPTIONS = 100

# The fields of the team form, by block_id (the keys of a submission's values and of its errors).
BANK_FIELD = "bank"
DAYS_FIELD = "days"
CHANNEL_FIELD = "channel"
# The fields of the schedule form.
RULE_FIELD = "rule"
CRON_FIELD = "cron"
TIME_FIELD = "time"
SCHEDULE_BANK_FIELD = "bank_choice"
AUDIENCE_FIELD = "audience"
# Each field's element has the action_id "value": one element per block, read by block_id.
VALUE_ACTION = "value"

PERSONAL, TEAM = "personal", "team"
# Pulse or full, as `schedule` reads the words, and the bank each starts.
BANK_OF_CHOICE: dict[str, str] = {choice: bank_id for choice, bank_id in BANK_FOR_CHOICE.items()}
CRON_EXAMPLE = "0 10 1 */3 *"


@dataclass(frozen=True)
class FieldErrors:
    """Why a submission was refused: block_id -> the message Slack shows under that field."""

    errors: dict[str, str]


@dataclass(frozen=True)
class TeamSetup:
    bank_id: str
    days: int
    channel_id: str


@dataclass(frozen=True)
class ScheduleSetup:
    """The words `/mlops-compass schedule` would be typed with; they parse (``parse_request``)."""

    text: str


# Building ----------------------------------------------------------------------------------------


def check_view(view: View) -> dict[str, Any]:
    """The view as Slack receives it, after the limits slack_sdk checks (title, submit and close at most
    24 characters, at most 100 blocks) and those it does not (option texts, unique block ids); raises
    BlockLimitError."""
    try:
        rendered = view.to_dict()
    except SlackObjectFormationError as error:
        raise BlockLimitError(str(error)) from error
    blocks = rendered.get("blocks", [])
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise BlockLimitError(f"{len(blocks)} blocks; a modal holds {MAX_VIEW_BLOCKS}")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise BlockLimitError(f"duplicate block_id in {block_ids}")
    for block in blocks:
        element = block.get("element") or {}
        for option in element.get("options", []):
            if len(option["text"]["text"]) > MAX_OPTION_TEXT:
                raise BlockLimitError(f"option text {option['text']['text']!r} over {MAX_OPTION_TEXT}")
        try:
            Block.parse(block).to_dict()  # type: ignore[union-attr]
        except SlackObjectFormationError as error:
            raise BlockLimitError(str(error)) from error
    return rendered


def _cut(text: str, limit: int = MAX_OPTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bank_option(bank: QuestionBank) -> Option:
    return Option(text=_cut(bank.title), value=bank.id, description=_cut(brief_length(bank)))


def _metadata(origin_channel: str) -> str:
    return json.dumps({"origin": origin_channel}, separators=(",", ":"))


def origin_of(private_metadata: Any) -> str | None:
    """The channel the form was opened from, kept in the view's private_metadata."""
    try:
        origin = json.loads(private_metadata).get("origin")
    except (TypeError, ValueError, AttributeError):
        return None
    return origin if isinstance(origin, str) and origin else None


def _form(
    callback_id: str, origin_channel: str, title: str, submit: str, intro: str, fields: Sequence[InputBlock]
) -> dict[str, Any]:
    """A setup form: a line on what it does, its fields, and the channel it was opened from."""
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=_metadata(origin_channel),
        title=title,
        submit=submit,
        close="Cancel",
        blocks=[ContextBlock(elements=[MarkdownTextObject(text=intro)]), *fields],
    )
    return check_view(view)


def team_setup_view(banks: Sequence[QuestionBank], default_bank: str, origin_channel: str) -> dict[str, Any]:
    """Bank (the default first chosen), deadline in days and channel (the one typed in, unless a DM)."""
    offered = sorted(banks, key=lambda bank: bank.id != default_bank)[:MAX_SELECT_OPTIONS]
    options = [_bank_option(bank) for bank in offered]
    initial = next(
        (option for option, bank in zip(options, offered, strict=True) if bank.id == default_bank), None
    )
    in_channel = not origin_channel.startswith("D")
    intro = (
        "Everyone in the channel can take part, each in their own DM. The channel sees how many answered, "
        "and one team report when the run closes; nobody's answers."
    )
    fields = [
        InputBlock(
            block_id=BANK_FIELD,
            label="Question bank",
            element=StaticSelectElement(action_id=VALUE_ACTION, options=options, initial_option=initial),
        ),
        InputBlock(
            block_id=DAYS_FIELD,
            label="Closes in (days)",
            hint=f"1 to {MAX_DAYS}. The report is posted in the channel then, or when you close it.",
            element=NumberInputElement(
                action_id=VALUE_ACTION,
                is_decimal_allowed=False,
                initial_value=str(DEFAULT_DAYS),
                min_value="1",
                max_value=str(MAX_DAYS),
            ),
        ),
        InputBlock(
            block_id=CHANNEL_FIELD,
            label="Channel",
            hint="I need to be a member: /invite @MLOps Compass there first.",
            element=ConversationSelectElement(
                action_id=VALUE_ACTION,
                initial_conversation=origin_channel if in_channel else None,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
                placeholder="Choose a channel",
            ),
        ),
    ]
    return _form(TEAM_SETUP_CALLBACK, origin_channel, "Start a team run", "Start the run", intro, fields)


def schedule_setup_view(catalog: BankCatalog, origin_channel: str) -> dict[str, Any]:
    """How often (quarterly, monthly or a cron expression), the time, pulse or full, personal or team."""

    def bank_text(choice: str, fallback: str) -> str:
        try:
            bank = catalog.by_id(BANK_OF_CHOICE[choice])
        except UnknownBank:
            return fallback
        return _cut(f"{bank.title} ({brief_length(bank)})")

    rules = [
        Option(text="Quarterly", value=QUARTERLY, description="The first Monday of Jan, Apr, Jul and Oct"),
        Option(text="Monthly", value=MONTHLY, description="The first Monday of each month"),
        Option(text="Custom cron expression", value=CUSTOM, description="Written below"),
    ]
    banks = [
        Option(text=bank_text("pulse", "Pulse"), value="pulse"),
        Option(text=bank_text("full", "Full assessment"), value="full"),
    ]
    audiences = [
        Option(
            text="Each person on their own",
            value=PERSONAL,
            description="A reminder with a Start button; reports come here",
        ),
        Option(text="A team run", value=TEAM, description="A team run opens here, one report for the team"),
    ]
    intro = f"Reminders are posted in <#{origin_channel}>, in your time zone."
    fields = [
        InputBlock(
            block_id=RULE_FIELD,
            label="How often",
            element=RadioButtonsElement(action_id=VALUE_ACTION, options=rules, initial_option=rules[0]),
        ),
        InputBlock(
            block_id=CRON_FIELD,
            label="Cron expression",
            optional=True,
            hint="Only for a custom rule: minute hour day-of-month month day-of-week, at most daily.",
            element=PlainTextInputElement(action_id=VALUE_ACTION, placeholder=CRON_EXAMPLE, max_length=100),
        ),
        InputBlock(
            block_id=TIME_FIELD,
            label="Time of day",
            optional=True,
            hint=f"For quarterly and monthly; empty: {DEFAULT_AT[0]:02d}:{DEFAULT_AT[1]:02d}. "
            "A cron expression carries its own time.",
            element=TimePickerElement(action_id=VALUE_ACTION, placeholder="10:00"),
        ),
        InputBlock(
            block_id=SCHEDULE_BANK_FIELD,
            label="Questions",
            element=RadioButtonsElement(action_id=VALUE_ACTION, options=banks, initial_option=banks[0]),
        ),
        InputBlock(
            block_id=AUDIENCE_FIELD,
            label="Who answers",
            element=RadioButtonsElement(
                action_id=VALUE_ACTION, options=audiences, initial_option=audiences[0]
            ),
        ),
    ]
    return _form(SCHEDULE_SETUP_CALLBACK, origin_channel, "Schedule reminders", "Schedule", intro, fields)


# Reading a submission -------------------------------------------------------------------------------


def _state(values: Mapping[str, Any], block_id: str) -> dict[str, Any]:
    """What the field's one element reported; empty when the submission has no such field."""
    actions = values.get(block_id)
    if not isinstance(actions, Mapping):
        return {}
    state = next(iter(actions.values()), None) if actions else None
    return dict(state) if isinstance(state, Mapping) else {}


def _text(state: Mapping[str, Any], field: str) -> str | None:
    value = state.get(field)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _chosen(state: Mapping[str, Any]) -> str | None:
    option = state.get("selected_option")
    return _text(option, "value") if isinstance(option, Mapping) else None


def _offers(catalog: BankCatalog, bank_id: str) -> bool:
    try:
        catalog.by_id(bank_id)
    except UnknownBank:
        return False
    return True


def _plain(message: str) -> str:
    """A message written for mrkdwn, for a modal's field error (plain text): `code` in quotes."""
    return re.sub(r"`([^`]*)`", r"“\1”", message)


def read_team_setup(values: Mapping[str, Any], catalog: BankCatalog) -> TeamSetup | FieldErrors:
    errors: dict[str, str] = {}
    bank_id = _chosen(_state(values, BANK_FIELD))
    if bank_id is None:
        errors[BANK_FIELD] = "Choose a question bank."
    elif not _offers(catalog, bank_id):
        errors[BANK_FIELD] = "That bank is no longer offered; choose one of the list."
    days_text = _text(_state(values, DAYS_FIELD), "value")
    days = int(days_text) if days_text is not None and re.fullmatch(r"\d{1,3}", days_text) else None
    if days is None or not 1 <= days <= MAX_DAYS:
        errors[DAYS_FIELD] = f"A team run closes in 1 to {MAX_DAYS} whole days."
    channel_id = _text(_state(values, CHANNEL_FIELD), "selected_conversation")
    if channel_id is None:
        errors[CHANNEL_FIELD] = "Choose the channel whose members take part."
    elif not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel_id):
        errors[CHANNEL_FIELD] = "A team run needs a channel, not a direct message: choose a channel."
    if errors:
        return FieldErrors(errors)
    assert bank_id is not None and days is not None and channel_id is not None
    return TeamSetup(bank_id, days, channel_id)


def read_schedule_setup(values: Mapping[str, Any], catalog: BankCatalog) -> ScheduleSetup | FieldErrors:
    errors: dict[str, str] = {}
    rule = _chosen(_state(values, RULE_FIELD))
    cron = _text(_state(values, CRON_FIELD), "value")
    at = _text(_state(values, TIME_FIELD), "selected_time")
    choice = _chosen(_state(values, SCHEDULE_BANK_FIELD))
    audience = _chosen(_state(values, AUDIENCE_FIELD))
    if rule not in (QUARTERLY, MONTHLY, CUSTOM):
        errors[RULE_FIELD] = "Choose how often: quarterly, monthly or a custom cron expression."
    elif rule == CUSTOM:
        if cron is None:
            errors[CRON_FIELD] = (
                f"Write the cron expression, e.g. {CRON_EXAMPLE} (10:00 on the 1st, every 3 months)."
            )
        else:
            try:
                cron = check_cron(cron)
            except BadSchedule as error:
                errors[CRON_FIELD] = _plain(str(error))
        if at is not None:
            errors[TIME_FIELD] = (
                "A cron expression carries its own time: clear this, or choose quarterly or monthly."
            )
    else:
        if cron is not None:
            errors[CRON_FIELD] = "Choose “Custom cron expression” above to use this, or clear it."
        if at is not None:
            try:
                parse_at(at)
            except BadSchedule as error:
                errors[TIME_FIELD] = _plain(str(error))
    if choice is None or choice not in BANK_OF_CHOICE:
        errors[SCHEDULE_BANK_FIELD] = "Choose the pulse or the full assessment."
    elif not _offers(catalog, BANK_OF_CHOICE[choice]):
        errors[SCHEDULE_BANK_FIELD] = f"The {choice} bank ({BANK_OF_CHOICE[choice]}) is not offered here."
    if audience not in (PERSONAL, TEAM):
        errors[AUDIENCE_FIELD] = "Choose who answers: each person, or the team."
    if errors:
        return FieldErrors(errors)
    words = [shlex.quote(cron) if rule == CUSTOM and cron else str(rule), str(choice)]
    if audience == TEAM:
        words.append("team")
    if at is not None:
        words += ["at", at]
    text = " ".join(words)
    rule_field = CRON_FIELD if rule == CUSTOM else RULE_FIELD
    try:
        # The words as `schedule` reads them, and a rule that runs at most daily (checked again in the
        # person's own zone when the schedule is created).
        parse_request(text).rule("UTC")
    except BadSchedule as error:
        return FieldErrors({rule_field: _plain(str(error))})
    return ScheduleSetup(text)

"""Reminder schedules as use cases: plain functions over the engine and the store, with no Slack in them.

A front end (bot/slack/schedule.py) asks Slack what only Slack knows (whether the bot may post in the
channel, the person's time zone, whether they are an admin), calls these, and presents what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog
from bot.engine.schedule import BadSchedule, Rule, ScheduleRequest, as_timestamp, checked_zone, parse_request
from bot.store.schedules import ScheduleRecord, ScheduleStore

# Where a schedule's times are read when the person's own time zone is unknown.
FALLBACK_ZONE = "UTC"


@dataclass(frozen=True)
class Request:
    words: ScheduleRequest
    bank: QuestionBank


def parse(catalog: BankCatalog, text: str) -> Request:
    """The words after `schedule`, with the bank they name. Raises BadSchedule or UnknownBank."""
    words = parse_request(text)
    return Request(words, catalog.by_id(words.bank_id))


def zone_of(zone: object) -> str | None:
    """The person's time zone when it is one the schedules can use; None sends them to FALLBACK_ZONE."""
    if not isinstance(zone, str):
        return None
    try:
        return checked_zone(zone)
    except BadSchedule:
        return None


def _next_run(rule: Rule, now: float) -> int:
    return as_timestamp(rule.next_run(datetime.fromtimestamp(now, UTC)))


def create(
    store: ScheduleStore,
    request: Request,
    team_id: str,
    channel_id: str,
    creator_id: str,
    zone: str,
    now: float,
) -> tuple[ScheduleRecord, int]:
    """Store the schedule and put it on the clock; returns it and its first run. Raises BadSchedule when
    the rule does not fit the zone, TooManySchedules when the channel is full."""
    rule = request.words.rule(zone)
    first_run = _next_run(rule, now)
    draft = ScheduleRecord.draft(
        team_id, channel_id, creator_id, rule, request.bank.id, team_run=request.words.team, created_at=now
    )
    return store.create(draft, first_run), first_run


def find(store: ScheduleStore, team_id: str, schedule_id: str) -> ScheduleRecord | None:
    """The schedule a person named, however they cased its id; None for no such schedule."""
    return store.get(team_id, schedule_id.lower()) if schedule_id.isalnum() else None


def may_cancel(record: ScheduleRecord, user_id: str, is_admin: bool) -> bool:
    return user_id == record.creator_id or is_admin


def is_running(store: ScheduleStore, record: ScheduleRecord) -> bool:
    """Not paused and on the clock: resuming it would change nothing."""
    return record.paused is None and store.next_run(record.team_id, record.schedule_id) is not None


def resume(store: ScheduleStore, record: ScheduleRecord, resumed_by: str, now: float) -> int | None:
    """Put the schedule back on the clock from its next run after `now`; returns that run, or None when
    it was cancelled meanwhile."""
    next_run = _next_run(record.rule, now)
    resumed = store.resume(record.team_id, record.schedule_id, next_run, resumed_by=resumed_by)
    return None if resumed is None else next_run

"""Recurring reminder rules: what `/mlops-compass schedule …` asks for, the rule in words, and when it
next runs.

Every rule is a five-field cron expression in a time zone. croniter finds the wall-clock times the
expression matches and cron-descriptor words them; zoneinfo places each wall-clock time in the zone.
Daylight saving is settled here, once, for every rule:

- each matching wall-clock time fires once: when the clocks go back and a time happens twice, the
  reminder comes at its first occurrence;
- when the clocks go forward past a matching time, the reminder comes at the first minute that exists
  after it (02:30 on a night that skips from 02:00 to 03:00 fires at 03:00), as cron does.

`next_run` is strictly after the moment it is given, so a reminder fired at its time is never due again
at that time, and a clock that was down for several periods finds one due run, not one per period.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

Kind = Literal["quarterly", "monthly", "cron"]
BankChoice = Literal["pulse", "full"]

QUARTERLY: Kind = "quarterly"
MONTHLY: Kind = "monthly"
CUSTOM: Kind = "cron"
# The first Monday of January, April, July and October; of every month. `1#1` is croniter's "first
# Monday" (the `#` of Quartz and cronie): plain cron would read `1-7 … 1` as "days 1–7 or any Monday".
PRESET_CRON: dict[Kind, str] = {
    QUARTERLY: "{minute} {hour} * 1,4,7,10 1#1",
    MONTHLY: "{minute} {hour} * * 1#1",
}
DEFAULT_AT = (10, 0)
DEFAULT_BANK_CHOICE: BankChoice = "pulse"
# Which bank each choice starts: the quarterly pulse, or the full assessment.
BANK_FOR_CHOICE: dict[BankChoice, str] = {"pulse": "pulse", "full": "mlops"}
# A reminder in a channel at most about once a day: a daily rule may come 23 hours apart across a
# daylight-saving change (22.5 in zones that move by half an hour), anything closer is refused.
MIN_INTERVAL = timedelta(hours=22)
_INTERVAL_SAMPLES = 50
# A rule must fire within this many matching wall-clock times of any moment; croniter itself gives up
# on expressions that match no date at all (30 February).
_MAX_CANDIDATES = 1000
_MAX_GAP_MINUTES = 48 * 60
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
USAGE = 'schedule quarterly|monthly|"<cron>" [pulse|full] [team] [at HH:MM]'


class BadSchedule(ValueError):
    """The words of a schedule request do not fit; the message says what would, and nothing changes."""


class NeverRuns(BadSchedule):
    pass


@dataclass(frozen=True)
class Rule:
    """When a schedule fires: a five-field cron expression read in an IANA time zone."""

    kind: Kind
    cron: str
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def words(self) -> str:
        """The rule in words: "At 10:00, on the first Monday of the month, only in January, April, July,
        and October (Europe/Berlin time)"."""
        return f"{describe_cron(self.cron)} ({self.time_zone} time)"

    def next_run(self, after: datetime | None = None) -> datetime:
        return next_run(self, after)


@dataclass(frozen=True)
class ScheduleRequest:
    """What someone asked for, before their time zone is known."""

    kind: Kind
    cron: str | None  # only for CUSTOM; the presets are built with `at`
    bank: BankChoice
    team: bool
    at: tuple[int, int] | None

    @property
    def bank_id(self) -> str:
        return BANK_FOR_CHOICE[self.bank]

    def rule(self, time_zone: str) -> Rule:
        """The rule in `time_zone` (an IANA name; raises BadSchedule for an unknown one)."""
        zone_name = checked_zone(time_zone)
        if self.kind == CUSTOM:
            assert self.cron is not None
            rule = Rule(CUSTOM, self.cron, zone_name)
        else:
            hour, minute = self.at or DEFAULT_AT
            rule = Rule(self.kind, PRESET_CRON[self.kind].format(minute=minute, hour=hour), zone_name)
        check_interval(rule)
        return rule


def checked_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(f"`{name}` is not a time zone I know.") from None
    return name


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise BadSchedule(f"A quote is not closed. Try `{USAGE}`.") from None


def parse_request(text: str) -> ScheduleRequest:
    """The words after `schedule`: `quarterly`, `monthly` or a quoted cron expression, then in any order
    `pulse` or `full`, `team`, and `at HH:MM` (quarterly and monthly only)."""
    words = _words(text)
    if not words:
        raise BadSchedule(f"Say when: `{USAGE}`, e.g. `schedule quarterly at 09:30`.")
    first, rest = words[0], words[1:]
    cron: str | None = None
    if first.lower() in (QUARTERLY, MONTHLY):
        kind: Kind = QUARTERLY if first.lower() == QUARTERLY else MONTHLY
    elif len(first.split()) > 1:
        kind, cron = CUSTOM, check_cron(first)
    elif len(words) >= 5 and all(_looks_like_cron_field(w) for w in words[:5]):
        joined = " ".join(words[:5])
        raise BadSchedule(f'Put the cron expression in quotes: `schedule "{joined}"`.')
    else:
        raise BadSchedule(f"I don't know the rule `{first}`. Try `{USAGE}`.")
    bank: BankChoice | None = None
    team = False
    at: tuple[int, int] | None = None
    remaining = list(rest)
    while remaining:
        word = remaining.pop(0)
        lowered = word.lower()
        if lowered in ("pulse", "full"):
            if bank is not None:
                raise BadSchedule("Say `pulse` or `full` once.")
            bank = "pulse" if lowered == "pulse" else "full"
        elif lowered == "team":
            if team:
                raise BadSchedule("Say `team` once.")
            team = True
        elif lowered == "at":
            if at is not None:
                raise BadSchedule("Say `at HH:MM` once.")
            if kind == CUSTOM:
                raise BadSchedule(
                    "A cron expression carries its own time; `at` is for quarterly and monthly."
                )
            if not remaining:
                raise BadSchedule("`at` needs a time, e.g. `at 09:30`.")
            at = parse_at(remaining.pop(0))
        else:
            raise BadSchedule(f"I don't know `{word}` here. Try `{USAGE}`.")
    return ScheduleRequest(kind, cron, bank or DEFAULT_BANK_CHOICE, team, at)


def parse_at(word: str) -> tuple[int, int]:
    matched = _AT.match(word)
    if matched is None:
        raise BadSchedule(f"`{word}` is not a time of day; write it as HH:MM, e.g. `at 09:30`.")
    return int(matched.group(1)), int(matched.group(2))


def _looks_like_cron_field(word: str) -> bool:
    return bool(re.fullmatch(r"[\d*/,\-#LW?A-Za-z]+", word)) and any(c.isdigit() or c == "*" for c in word)


def check_cron(expression: str) -> str:
    """A standard five-field cron expression, accepted as given (croniter's `#` and `L` included)."""
    fields = expression.split()
    if len(fields) != 5:
        raise BadSchedule(
            f"`{expression}` has {len(fields)} fields; a cron expression has five: "
            "minute hour day-of-month month day-of-week, e.g. `0 10 1 */3 *`."
        )
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise BadSchedule(f"`{normalised}` is not a cron expression I can read.")
    return normalised


def check_interval(rule: Rule, start: datetime | None = None) -> None:
    """Refuses a rule that never runs, or runs more often than about once a day."""
    runs = list(_runs(rule, start or datetime.now(UTC), _INTERVAL_SAMPLES))
    for earlier, later in itertools.pairwise(runs):
        if later - earlier < MIN_INTERVAL:
            gap = int((later - earlier).total_seconds() // 60)
            raise BadSchedule(
                f"`{rule.cron}` would post a reminder {gap} minutes after the one before; "
                "reminders come at most once a day."
            )


def _runs(rule: Rule, after: datetime, count: int) -> Iterator[datetime]:
    moment = after
    for _ in range(count):
        moment = next_run(rule, moment)
        yield moment


def next_run(rule: Rule, after: datetime | None = None) -> datetime:
    """The first time the rule fires strictly after `after` (default: now), in the rule's zone."""
    now = after if after is not None else datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    zone = rule.zone
    wall_now = now.astimezone(zone).replace(tzinfo=None, fold=0)
    try:
        candidates = croniter(rule.cron, wall_now)
        for _ in range(_MAX_CANDIDATES):
            instant = place(candidates.get_next(datetime), zone)
            if instant > now:
                return instant
    except (CroniterBadDateError, CroniterBadCronError) as error:
        raise NeverRuns(f"`{rule.cron}` matches no date I can find.") from error
    except CroniterError as error:  # pragma: no cover - croniter's other refusals
        raise NeverRuns(f"`{rule.cron}`: {error}") from error
    raise NeverRuns(f"`{rule.cron}` does not fire after {now.isoformat()}.")


def place(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone`: its first occurrence if it happens twice, or the first minute that
    exists after it if the clocks skip it."""
    for minutes in range(_MAX_GAP_MINUTES + 1):
        candidate = (wall + timedelta(minutes=minutes)).replace(tzinfo=zone, fold=0)
        if _exists(candidate):
            return candidate
    raise NeverRuns(f"{wall.isoformat()} does not exist in {zone.key}")  # pragma: no cover


def _exists(aware: datetime) -> bool:
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)


def describe_cron(expression: str) -> str:
    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "en_US"
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # cron-descriptor refuses some of croniter's extensions; the cron form still shows
        return f"On the cron rule `{expression}`"


def local_time_text(moment: datetime, time_zone: str) -> str:
    """'Mon 6 Apr 2026, 10:00 CEST' in `time_zone`."""
    local = moment.astimezone(ZoneInfo(checked_zone(time_zone)))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def as_timestamp(moment: datetime) -> int:
    """Whole seconds since the epoch: every run is on a minute, so nothing is lost."""
    return int(moment.timestamp())


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def upcoming(rule: Rule, after: datetime, count: int) -> Sequence[datetime]:
    return list(_runs(rule, after, count))

"""Reminder rules: parsing, words, and next runs with the system clock moved by time-machine, across
daylight-saving changes and year ends in more than one time zone; then the rules as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.engine.schedule import (
    CUSTOM,
    MONTHLY,
    QUARTERLY,
    BadSchedule,
    NeverRuns,
    Rule,
    ScheduleRequest,
    local_time_text,
    next_run,
    parse_request,
    place,
)
from tests.conftest import examples

NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"
BERLIN = "Europe/Berlin"


def at(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))


def quarterly(zone: str, at_time: str | None = None) -> Rule:
    words = "quarterly" + (f" at {at_time}" if at_time else "")
    return parse_request(words).rule(zone)


# Parsing -------------------------------------------------------------------------------------------


def test_quarterly_defaults_to_the_pulse_on_the_first_monday_of_each_quarter_at_ten() -> None:
    request = parse_request("quarterly")
    assert request == ScheduleRequest(QUARTERLY, None, "pulse", False, None)
    rule = request.rule(BERLIN)
    assert rule.cron == "0 10 * 1,4,7,10 1#1"
    assert rule.words() == (
        "At 10:00, on the first Monday of the month, only in January, April, July, and October "
        "(Europe/Berlin time)"
    )
    assert request.bank_id == "pulse"


def test_options_come_in_any_order() -> None:
    request = parse_request("monthly at 09:05 team full")
    assert request == ScheduleRequest(MONTHLY, None, "full", True, (9, 5))
    assert request.bank_id == "mlops"
    assert request.rule(NEW_YORK).cron == "5 9 * * 1#1"


@pytest.mark.parametrize("text", ['"0 10 1 */3 *"', "“0 10 1 */3 *”", "'0  10 1 */3 *'"])
def test_a_quoted_cron_expression_is_accepted_as_given(text: str) -> None:
    request = parse_request(text + " team")
    assert request.kind == CUSTOM and request.team
    rule = request.rule(SYDNEY)
    assert rule.cron == "0 10 1 */3 *"
    assert rule.words() == "At 10:00, on day 1 of the month, every 3 months (Australia/Sydney time)"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Say when"),
        ("weekly", "I don't know the rule `weekly`"),
        ("0 10 1 */3 *", 'Put the cron expression in quotes: `schedule "0 10 1 */3 *"`'),
        ('"0 10 1 */3"', "has 4 fields; a cron expression has five"),
        ('"0 10 1 */3 * 2027"', "has 6 fields"),
        ('"0 10 32 * *"', "is not a cron expression I can read"),
        ('"0 0 30 2 *"', "matches no date"),
        ('"*/15 * * * *"', "15 minutes after the one before"),
        ('"0 10 * * *" at 09:00', "carries its own time"),
        ("quarterly at 24:00", "`24:00` is not a time of day"),
        ("quarterly at", "`at` needs a time"),
        ("quarterly pulse full", "Say `pulse` or `full` once"),
        ("quarterly team team", "Say `team` once"),
        ("quarterly weekly", "I don't know `weekly` here"),
        ('"0 10 1 */3 *', "A quote is not closed"),
    ],
)
def test_bad_requests_are_refused_saying_what_would_fit(text: str, says: str) -> None:
    with pytest.raises(BadSchedule) as refused:
        parse_request(text).rule(NEW_YORK)
    assert says in str(refused.value)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(BadSchedule, match="not a time zone"):
        parse_request("quarterly").rule("Mars/Olympus_Mons")


def test_weekday_reminders_are_daily_enough_even_across_a_clock_change() -> None:
    with time_machine.travel(at(NEW_YORK, 2026, 3, 1, 12), tick=False):
        rule = parse_request('"0 9 * * 1-5"').rule(NEW_YORK)
    assert rule.next_run(at(NEW_YORK, 2026, 3, 6, 10)) == at(NEW_YORK, 2026, 3, 9, 9)


# The quarterly rule with the system clock moved ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected", "offset_hours"),
    [
        # New York springs forward on Sun 8 Mar 2026: the April run is at 10:00 EDT.
        (NEW_YORK, at(NEW_YORK, 2026, 3, 7, 12), at(NEW_YORK, 2026, 4, 6, 10), -4),
        # …and falls back on Sun 1 Nov 2026: the January run is at 10:00 EST.
        (NEW_YORK, at(NEW_YORK, 2026, 10, 31, 12), at(NEW_YORK, 2027, 1, 4, 10), -5),
        # Sydney's clocks go back on Sun 5 Apr 2026, the day before the April run: 10:00 AEST.
        (SYDNEY, at(SYDNEY, 2026, 4, 4, 12), at(SYDNEY, 2026, 4, 6, 10), 10),
        # …and forward on Sun 4 Oct 2026, the day before the October run: 10:00 AEDT.
        (SYDNEY, at(SYDNEY, 2026, 10, 3, 12), at(SYDNEY, 2026, 10, 5, 10), 11),
    ],
)
def test_the_quarterly_run_keeps_its_wall_clock_time_across_a_daylight_saving_change(
    zone: str, now: datetime, expected: datetime, offset_hours: int
) -> None:
    rule = quarterly(zone)
    with time_machine.travel(now, tick=False):
        upcoming = rule.next_run()
    assert upcoming == expected
    assert upcoming.utcoffset() == timedelta(hours=offset_hours)
    assert upcoming.astimezone(ZoneInfo(zone)).hour == 10


@pytest.mark.parametrize(
    ("zone", "expected"),
    [(NEW_YORK, at(NEW_YORK, 2027, 1, 4, 10)), (SYDNEY, at(SYDNEY, 2027, 1, 4, 10))],
)
def test_across_the_year_end_the_next_run_is_the_first_monday_of_january(
    zone: str, expected: datetime
) -> None:
    rule = quarterly(zone)
    with time_machine.travel(at(zone, 2026, 12, 31, 23, 59, 59), tick=False):
        assert rule.next_run() == expected
    with time_machine.travel(at(zone, 2027, 1, 1, 0, 0, 1), tick=False):
        assert rule.next_run() == expected


def test_one_instant_is_before_the_january_run_in_new_york_and_after_it_in_sydney() -> None:
    # 00:30 UTC on Mon 4 Jan 2027 is Sunday evening in New York and Monday 11:30 in Sydney.
    with time_machine.travel(datetime(2027, 1, 4, 0, 30, tzinfo=UTC), tick=False):
        assert quarterly(NEW_YORK).next_run() == at(NEW_YORK, 2027, 1, 4, 10)
        assert quarterly(SYDNEY).next_run() == at(SYDNEY, 2027, 4, 5, 10)


def test_a_run_is_never_due_again_at_its_own_time_and_a_later_time_moves_with_at() -> None:
    rule = quarterly(NEW_YORK, "16:45")
    with time_machine.travel(at(NEW_YORK, 2026, 7, 6, 16, 45), tick=False):
        assert rule.next_run() == at(NEW_YORK, 2026, 10, 5, 16, 45)
    with time_machine.travel(at(NEW_YORK, 2026, 7, 6, 16, 44, 59), tick=False):
        assert rule.next_run() == at(NEW_YORK, 2026, 7, 6, 16, 45)


def test_after_two_missed_quarters_the_next_run_is_one_run_ahead_not_a_backlog() -> None:
    rule = quarterly(BERLIN)
    with time_machine.travel(at(BERLIN, 2026, 1, 2, 9), tick=False):
        first = rule.next_run()
    assert first == at(BERLIN, 2026, 1, 5, 10)
    # The clock was down from before the January run until after the April one.
    with time_machine.travel(at(BERLIN, 2026, 5, 1, 9), tick=False):
        assert rule.next_run() == at(BERLIN, 2026, 7, 6, 10)


# Cron expressions with the system clock moved ------------------------------------------------------


def test_a_cron_every_third_month_crosses_the_year_end() -> None:
    rule = parse_request('"0 10 1 */3 *"').rule(SYDNEY)
    with time_machine.travel(at(SYDNEY, 2026, 11, 15, 8), tick=False):
        assert rule.next_run() == at(SYDNEY, 2027, 1, 1, 10)
        assert rule.next_run().utcoffset() == timedelta(hours=11)


def test_a_time_the_clocks_skip_fires_at_the_first_minute_that_exists() -> None:
    rule = Rule(CUSTOM, "30 2 * * *", NEW_YORK)
    with time_machine.travel(at(NEW_YORK, 2026, 3, 7, 12), tick=False):
        assert rule.next_run() == at(NEW_YORK, 2026, 3, 8, 3, 0)
    with time_machine.travel(at(NEW_YORK, 2026, 3, 8, 3, 0), tick=False):
        assert rule.next_run() == at(NEW_YORK, 2026, 3, 9, 2, 30)


def test_a_time_that_happens_twice_fires_once_at_its_first_occurrence() -> None:
    rule = Rule(CUSTOM, "30 1 * * *", NEW_YORK)
    with time_machine.travel(at(NEW_YORK, 2026, 10, 31, 12), tick=False):
        first = rule.next_run()
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    with time_machine.travel(first, tick=False):
        second = rule.next_run()
    assert second.astimezone(UTC) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # next day, 01:30 EST


def test_the_next_run_reads_in_the_viewers_time() -> None:
    run = at(NEW_YORK, 2026, 4, 6, 10)
    assert local_time_text(run, NEW_YORK) == "Mon 6 Apr 2026, 10:00 EDT"
    assert local_time_text(run, SYDNEY) == "Tue 7 Apr 2026, 00:00 AEST"


def test_a_rule_that_never_fires_says_so() -> None:
    with pytest.raises(NeverRuns):
        next_run(Rule(CUSTOM, "0 0 31 2 *", BERLIN), datetime(2026, 1, 1, tzinfo=UTC))


# Properties ---------------------------------------------------------------------------------------

ZONES = [NEW_YORK, SYDNEY, BERLIN, "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    zone = draw(st.sampled_from(ZONES))
    hour, minute = draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45, 59]))
    kind = draw(st.sampled_from(["quarterly", "monthly", "daily", "weekdays", "month-day", "every-third"]))
    if kind in ("quarterly", "monthly"):
        return parse_request(f"{kind} at {hour:02d}:{minute:02d}").rule(zone)
    day_fields = {
        "daily": "* * *",
        "weekdays": "* * 1-5",
        "month-day": f"{draw(st.integers(1, 28))} * *",
        "every-third": f"{draw(st.integers(1, 28))} */3 *",
    }[kind]
    return Rule(CUSTOM, f"{minute} {hour} {day_fields}", zone)


def wall(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@settings(max_examples=examples(300), deadline=None)
@given(rules(), instants)
def test_the_next_run_is_strictly_after_now_and_matches_the_rule(rule: Rule, now: datetime) -> None:
    upcoming = next_run(rule, now)
    assert upcoming > now
    local = wall(upcoming, rule.time_zone)
    if not croniter.match(rule.cron, local):
        # Only a time the clocks skipped moves, and then to the first minute that exists after it.
        skipped = croniter(rule.cron, local).get_prev(datetime)
        assert place(skipped, rule.zone) == upcoming
        assert local - skipped <= timedelta(hours=2)


@settings(max_examples=examples(300), deadline=None)
@given(rules(), instants, st.floats(0, 1))
def test_asking_again_at_any_moment_before_the_run_gives_the_same_run(
    rule: Rule, now: datetime, fraction: float
) -> None:
    upcoming = next_run(rule, now)
    later = now + (upcoming - now) * fraction
    assume(later < upcoming)
    assert next_run(rule, later) == upcoming


@settings(max_examples=examples(200), deadline=None)
@given(rules(), instants)
def test_no_matching_time_between_now_and_the_next_run_is_skipped(rule: Rule, now: datetime) -> None:
    upcoming = next_run(rule, now)
    earlier = croniter(rule.cron, wall(upcoming, rule.time_zone)).get_prev(datetime)
    # The matching wall-clock time before the run was placed at or before now (or collapsed into
    # the run itself, inside a skipped hour).
    placed = place(earlier, rule.zone)
    assert placed <= now or placed == upcoming


@settings(max_examples=examples(200), deadline=None)
@given(rules(), instants)
def test_consecutive_runs_fall_on_different_wall_clock_times(rule: Rule, now: datetime) -> None:
    first = next_run(rule, now)
    second = next_run(rule, first)
    assert wall(first, rule.time_zone) != wall(second, rule.time_zone)
    assert second - first >= timedelta(hours=22)

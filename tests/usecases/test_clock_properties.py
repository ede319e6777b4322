"""Exactly once, as a property: several clocks share one store and interleave their steps in any order,
time jumps by any amount, posts fail, answers get lost and clocks die mid-delivery; at the end every run a
clock claimed is in its channel once (unless a newer run of the same schedule replaced it undelivered),
and no run is ever there twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import fakeredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient

from bot.engine.catalog import BankCatalog
from bot.engine.schedule import CUSTOM, Rule, as_timestamp, from_timestamp
from bot.slack.reminders import ReminderSlack
from bot.store import keys
from bot.store.nudges import SessionWatch
from bot.store.schedules import DueSchedule, ScheduleRecord, ScheduleStore
from bot.store.sessions import ResultRecord
from bot.usecases.clock import Clock, ClockConfig
from bot.usecases.posting import MaybePosted, NotPosted, Outcome, Posted

CATALOG = BankCatalog.from_directory()
START = 1_767_600_000.0  # Mon 5 Jan 2026, 08:00 UTC
HOUR = 3600.0


class Died(BaseException):
    """The clock process was killed."""


@dataclass
class Channel:
    """Slack, as far as reminders go: what is in each channel, and what the next post will meet."""

    posts: list[tuple[str, int]] = field(default_factory=list)
    next_fault: str | None = None

    def find(self, schedule_id: str, run: int) -> bool:
        return (schedule_id, run) in self.posts


class SlackDouble(ReminderSlack):
    def __init__(self, channels: dict[str, Channel]):
        super().__init__(WebClient(token="xoxb-unused"), CATALOG)
        self.channels = channels

    def post_reminder(
        self, record: ScheduleRecord, run: int, last: ResultRecord | None, team_note: str | None = None
    ) -> Outcome:
        channel = self.channels[record.channel_id]
        fault, channel.next_fault = channel.next_fault, None
        if fault == "refuse":
            return NotPosted("internal_error")
        channel.posts.append((record.schedule_id, run))
        if fault == "die":
            raise Died()
        if fault == "lose_answer":
            return MaybePosted("TimeoutError")
        return Posted(f"{run}.000100")

    def find_reminder(self, record: ScheduleRecord, run: int, since: float) -> str | None:
        return f"{run}.000100" if self.channels[record.channel_id].find(record.schedule_id, run) else None


class RecordingStore(ScheduleStore):
    """The real store, remembering which runs it claimed."""

    claimed: list[str]

    def claim(self, now: float, plans: Sequence[tuple[DueSchedule, int]]) -> list[str]:
        queued = super().claim(now, plans)
        self.claimed.extend(queued)
        return queued


step = st.one_of(
    st.tuples(
        st.just("advance"), st.sampled_from([0.0, 0.0005, 0.5, 60.0, 400.0, HOUR, 6 * HOUR, 30 * HOUR])
    ),
    st.tuples(st.sampled_from(["claim", "deliver", "tick"]), st.integers(0, 2)),
    st.tuples(st.sampled_from(["refuse", "lose_answer", "die"]), st.integers(0, 2)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=40))
def test_each_claimed_run_is_posted_exactly_once_however_clocks_interleave(
    steps: list[tuple[str, Any]],
) -> None:
    client = fakeredis.FakeRedis()
    now = [START]
    claimed: list[str] = []
    channels = {f"C{n}": Channel() for n in range(3)}
    clocks = []
    for _ in range(3):
        store = RecordingStore(client, clock=lambda: now[0])
        store.claimed = claimed
        clocks.append(
            Clock(
                schedules=store,
                watch=SessionWatch(client),
                chat=SlackDouble(channels),
                catalog=CATALOG,
                now=lambda: now[0],
                config=ClockConfig(batch=2, lease_seconds=300, pace_seconds=0.001, first_retry_seconds=30),
            )
        )
    for n, channel_id in enumerate(channels):
        daily = Rule(CUSTOM, f"{n * 7} 10 * * *", "UTC")  # daily, at 10:00, 10:07 and 10:14
        draft = ScheduleRecord.draft("T1", channel_id, "U1", daily, "pulse", created_at=START)
        clocks[0].schedules.create(draft, as_timestamp(draft.rule.next_run(from_timestamp(START))))

    def attempt(action: str, index: int) -> None:
        clock = clocks[index]
        try:
            if action == "claim":
                clock.claim_due()
            elif action == "deliver":
                clock.deliver_due()
            else:
                clock.tick()
        except Died:
            pass  # its leases stay held until they run out

    for action, argument in steps:
        if action == "advance":
            now[0] += argument
        elif action in ("refuse", "lose_answer", "die"):
            channels[f"C{argument}"].next_fault = action
        else:
            attempt(action, argument)

    # Everything settles: no more faults, time passes beyond every lease and back-off.
    for channel in channels.values():
        channel.next_fault = None
    for _ in range(40):
        if client.zcard(keys.DELIVERIES) == 0:
            break
        now[0] += 2 * HOUR
        for index in range(3):
            attempt("deliver", index)
    assert client.zcard(keys.DELIVERIES) == 0

    posted = Counter((channel, item) for channel, state in channels.items() for item in state.posts)
    assert all(count == 1 for count in posted.values()), posted
    posted_runs = {(schedule_id, run) for (_, (schedule_id, run)) in posted}
    claimed_runs = [(d.split(":")[1], int(d.split(":")[2])) for d in claimed]
    assert posted_runs <= set(claimed_runs)
    newest_claim = {
        schedule_id: max(r for s, r in claimed_runs if s == schedule_id) for schedule_id, _ in claimed_runs
    }
    for schedule_id, run in claimed_runs:
        replaced = run < newest_claim[schedule_id]
        assert (schedule_id, run) in posted_runs or replaced, (schedule_id, run)

"""A team run's live count, throttled: the decision (show now, follow up once the window ends, or leave it
to the follow-up already due) against the store's claims in fakeredis and a real Redis, and as a property
over any timing of answers, updates and follow-ups."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.catalog import BankCatalog
from bot.store.team_runs import RunRecord, TeamRunStore
from bot.store.throttles import Claimed
from bot.usecases.team_count import (
    FOLLOW_UP_MARGIN_SECONDS,
    CountUpdate,
    closed_since,
    count_update,
    follow_up_update,
    live_count,
)
from bot.usecases.team_runs import close_run, open_run, remember_message
from tests.conftest import examples

CATALOG = BankCatalog.from_directory()
BANK = CATALOG.by_id("pulse")
WINDOW = 60.0  # long enough that no window ends while a test runs


@pytest.fixture
def runs(redis_client) -> TeamRunStore:
    return TeamRunStore(redis_client)


@pytest.fixture
def run(runs: TeamRunStore, team_id: str) -> RunRecord:
    return open_run(runs, BANK, team_id, "C0TEAM", "U0STARTER", days=7)


# Golden cases, against the store ---------------------------------------------------------------------


def test_the_first_answer_shows_the_next_schedules_one_follow_up_and_later_ones_leave_it(
    runs: TeamRunStore, run: RunRecord
) -> None:
    claims = runs.count_claims(run.team_id, run.run_id)
    assert count_update(claims, WINDOW) == CountUpdate(show_now=True)
    scheduled = count_update(claims, WINDOW)
    assert not scheduled.show_now and scheduled.follow_up_in is not None
    assert WINDOW - 5 < scheduled.follow_up_in <= WINDOW + FOLLOW_UP_MARGIN_SECONDS
    assert count_update(claims, WINDOW) == CountUpdate()
    # A follow-up that runs before the window ends (a clock ahead) schedules itself again.
    again = follow_up_update(claims, WINDOW)
    assert not again.show_now and again.follow_up_in is not None


def test_each_run_has_its_own_window(runs: TeamRunStore, run: RunRecord, team_id: str) -> None:
    other = open_run(runs, BANK, team_id, "C0OTHER", "U0STARTER", days=7)
    assert count_update(runs.count_claims(team_id, run.run_id), WINDOW).show_now
    assert count_update(runs.count_claims(team_id, other.run_id), WINDOW).show_now


def test_the_live_count_is_shown_only_on_an_open_runs_posted_message(
    runs: TeamRunStore, run: RunRecord
) -> None:
    team_id, run_id = run.team_id, run.run_id
    assert live_count(runs, CATALOG, team_id, run_id) is None  # no message to update yet
    posted = remember_message(runs, run, "1700000000.000100")
    live = live_count(runs, CATALOG, team_id, run_id)
    assert live is not None
    assert (live.run, live.message_ts, live.bank.id) == (posted, "1700000000.000100", "pulse")
    assert live.answered == 0
    assert closed_since(runs, team_id, run_id) is None
    close_run(runs, team_id, run_id, "U0STARTER")
    assert live_count(runs, CATALOG, team_id, run_id) is None
    raced = closed_since(runs, team_id, run_id)
    assert raced is not None and raced.run.closed_by == "U0STARTER" and raced.answered == 0
    assert live_count(runs, CATALOG, team_id, "nosuchrun") is None


# The property, over any timing -----------------------------------------------------------------------


@dataclass
class ExpiringClaims:
    """The claims as Redis holds them (SET NX PX, PTTL, DEL), on a clock the simulation moves: the same
    contract UpdateClaims keeps, at any time the simulation picks."""

    now_ms: int = 0
    held_until: dict[str, int] = field(default_factory=dict)

    def _claim(self, name: str, ttl_ms: int) -> bool:
        if self.held_until.get(name, -1) > self.now_ms:
            return False
        self.held_until[name] = self.now_ms + ttl_ms
        return True

    def claim(self, window_ms: int, follow_up_ttl_ms: int) -> Claimed:
        if self._claim("window", window_ms):
            return Claimed(window=True)
        if self._claim("follow-up", follow_up_ttl_ms):
            return Claimed(follow_up_in_ms=max(0, self.held_until["window"] - self.now_ms))
        return Claimed()

    def release_follow_up(self) -> None:
        self.held_until.pop("follow-up", None)


WINDOW_MS = 300


@settings(max_examples=examples(200), deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=WINDOW_MS * 3), min_size=1, max_size=40),
    timer_lateness=st.lists(st.integers(min_value=0, max_value=WINDOW_MS * 4), min_size=1, max_size=10),
)
def test_at_most_one_update_a_window_and_the_last_count_is_always_shown(
    gaps: list[int], timer_lateness: list[int]
) -> None:
    """Answers arrive `gaps` apart; each follow-up's timer fires as late as `timer_lateness` says (a busy
    process). Every shown count is read when its update is decided."""
    claims = ExpiringClaims()
    answered = 0
    shown: list[tuple[int, int]] = []  # (when, count)
    events: list[tuple[int, int, str]] = []  # (when, order, what): a heap
    order = 0
    at = 0
    for gap in gaps:
        at += gap
        events.append((at, order, "answer"))
        order += 1
    heapq.heapify(events)
    follow_ups = 0

    while events:
        claims.now_ms, _, what = heapq.heappop(events)
        if what == "answer":
            answered += 1
            update = count_update(claims, WINDOW_MS / 1000)
        else:
            update = follow_up_update(claims, WINDOW_MS / 1000)
        if update.show_now:
            shown.append((claims.now_ms, answered))
        elif update.follow_up_in is not None:
            late = timer_lateness[follow_ups % len(timer_lateness)]
            follow_ups += 1
            # Each follow-up comes from an answer, or from a follow-up that ran before its window ended.
            assert follow_ups <= 2 * len(gaps), "follow-ups keep scheduling follow-ups"
            fires_at = claims.now_ms + round(update.follow_up_in * 1000) + late
            heapq.heappush(events, (fires_at, order, "follow-up"))
            order += 1

    times = [when for when, _ in shown]
    assert all(later - earlier >= WINDOW_MS for earlier, later in itertools.pairwise(times))
    assert shown[-1][1] == answered == len(gaps)
    # Coalesced: a burst of answers within a window is one update, never one each.
    assert len(shown) <= len(gaps)
    if len(gaps) > 1 and sum(gaps[1:]) < WINDOW_MS:
        assert len(shown) == 2

"""A team run's live count, throttled: the run's message shows how many have answered, updated at most
once a window however fast answers come, and always ending on the latest count.

Across processes the window and the one follow-up after it are claims in Redis (``CountClaims``, kept by
bot/store/throttles.py; a workshop's live votes are throttled by the same rule with their own); these
functions decide, from the claims, whether the count is shown now, once the window ends, or by the
follow-up someone else already scheduled. Running the follow-up at the time given is the front end's
part (a timer); it then calls ``follow_up_update``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.store.team_runs import RunRecord, TeamRunStore
from bot.store.throttles import Claimed

# A follow-up starts a little after the window ends, so that its claim of the next window succeeds.
FOLLOW_UP_MARGIN_SECONDS = 0.05
# The follow-up's claim outlives its window, and expires on its own if the process holding it dies, so
# that a later answer schedules the follow-up again.
FOLLOW_UP_SLACK_MS = 1000


class CountClaims(Protocol):
    """The two claims of one message's updates, each held by one caller until it expires or is released,
    tried together: the window if it is free, else the follow-up if no one holds it."""

    def claim(self, window_ms: int, follow_up_ttl_ms: int) -> Claimed: ...

    def release_follow_up(self) -> None: ...


@dataclass(frozen=True)
class CountUpdate:
    """What to do about the count after an answer: show it now, or run the follow-up in
    ``follow_up_in`` seconds, or neither (an update is already due to show it)."""

    show_now: bool = False
    follow_up_in: float | None = None


@dataclass(frozen=True)
class ClaimLengths:
    """How long each claim is held for a window of ``window_seconds``."""

    window_ms: int
    follow_up_ttl_ms: int

    @classmethod
    def of(cls, window_seconds: float) -> ClaimLengths:
        window_ms = int(window_seconds * 1000)
        return cls(window_ms, window_ms * 2 + FOLLOW_UP_SLACK_MS)


def update_for(claimed: Claimed) -> CountUpdate:
    """Show the count now if this caller won the window (no update happened in the last one), else once
    that window ends if it won the follow-up. A caller that won neither was counted before the scheduled
    follow-up reads the count, so the message always catches up."""
    if claimed.window:
        return CountUpdate(show_now=True)
    if claimed.follow_up_in_ms is not None:
        return CountUpdate(follow_up_in=claimed.follow_up_in_ms / 1000 + FOLLOW_UP_MARGIN_SECONDS)
    return CountUpdate()


def count_update(claims: CountClaims, window_seconds: float) -> CountUpdate:
    """After an answer: the update its claims decide (``update_for``), in one round trip."""
    lengths = ClaimLengths.of(window_seconds)
    return update_for(claims.claim(lengths.window_ms, lengths.follow_up_ttl_ms))


def follow_up_update(claims: CountClaims, window_seconds: float) -> CountUpdate:
    """The scheduled follow-up: it gives its claim back and updates as an answer would."""
    claims.release_follow_up()
    return count_update(claims, window_seconds)


@dataclass(frozen=True)
class LiveCount:
    """An open run's count, as its posted message shows it."""

    run: RunRecord
    message_ts: str
    bank: QuestionBank
    answered: int


def live_count(runs: TeamRunStore, catalog: BankCatalog, team_id: str, run_id: str) -> LiveCount | None:
    """What the run's message shows while the run is open; None when there is nothing to update (the
    run is closed or gone, its message was never posted, or its bank is no longer offered)."""
    run = runs.get(team_id, run_id)
    if run is None or not run.is_open or run.message_ts is None:
        return None
    answered = runs.respondent_count(team_id, run_id)
    try:
        bank = catalog.by_id(run.bank_id)
    except UnknownBank:
        return None
    return LiveCount(run, run.message_ts, bank, answered)


@dataclass(frozen=True)
class RunCount:
    """A closed run and its final count."""

    run: RunRecord
    answered: int


def closed_since(runs: TeamRunStore, team_id: str, run_id: str) -> RunCount | None:
    """After the live count was shown: the run with its final count if a close raced that update, whose
    closed message must be the one that stays."""
    latest = runs.get(team_id, run_id)
    if latest is None or latest.is_open:
        return None
    return RunCount(latest, runs.respondent_count(team_id, run_id))

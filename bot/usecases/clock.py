"""The clock's use case: firing due reminders and looking in on unfinished assessments, over the store
and the chat it posts in (``posting.ReminderPoster``). `mlops-compass clock` (bot/cli/clock_command.py)
builds one and runs it.

Each tick does, in order:

1. **Claim** due schedules: one range query on ``{clock}:due`` (never a scan of keys), the next run of
   each computed from now, and one script that moves each to its next run and queues its reminder, for
   the schedules no other clock claimed first (``bot.store.schedules``).
2. **Deliver** queued reminders this clock leases: at most one post a second in a channel (across all
   clocks), back-off on 429 with ``Retry-After``, a pause and one DM to the creator when the channel was
   archived or deleted or removed the bot, and a retry later for any other failure.
3. **Look in** on unfinished assessments, a person's own and their answers in an open team run: one DM
   with Resume after a day of silence, and one note when the session expired. A member whose run closed
   hears nothing more: what is left of their answers no longer counts there.
4. Any other periodic job handed to it (closing team runs past their deadline).

Delivery is exactly once, however many clocks run and whenever one dies: a reminder is marked
(``attempt``) before it is posted and recorded as posted before its delivery is settled; a clock that
finds a marked reminder whose outcome is unknown looks for it in the channel's history (by the message's
metadata) before posting. SIGTERM stops the clock between deliveries: it hands back what it had leased
and exits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.engine.catalog import BankCatalog
from bot.engine.conversation import Conversation, CorruptState
from bot.engine.schedule import NeverRuns, as_timestamp, from_timestamp
from bot.store.nudges import SessionWatch, Watched
from bot.store.schedules import DueSchedule, Lease, ScheduleRecord, ScheduleStore, reminder_wanted
from bot.store.sessions import FIRST_LOOK_AFTER_SECONDS, StoreUnavailable
from bot.usecases.personal import progress
from bot.usecases.posting import (
    AlreadyOpen,
    ChannelGone,
    HistoryUnreadable,
    NotPosted,
    Outcome,
    Posted,
    RateLimited,
    ReminderPoster,
    TeamRunOpener,
)

log = logging.getLogger(__name__)

TEAM_RUNS_UNAVAILABLE = (
    "This is a team schedule, but team runs are not available here yet, so each of you can start the "
    "assessment on your own."
)
TEAM_RUN_FAILED = "I couldn't open a team run just now ({reason}), so each of you can start on your own."


@dataclass(frozen=True)
class ClockConfig:
    batch: int = 100
    lease_seconds: float = 300.0
    # Slack allows about one message a second in a channel.
    pace_seconds: float = 1.0
    remind_after_seconds: float = FIRST_LOOK_AFTER_SECONDS
    first_retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    # After a session's expiry, look once more a little later to send the note.
    expiry_margin_seconds: float = 300.0


@dataclass
class TickReport:
    claimed: int = 0
    posted: int = 0
    retried: int = 0
    paused: int = 0
    dropped: int = 0
    reminded: int = 0
    expired: int = 0
    busy: bool = False  # a batch was full: more work may be due now

    def add(self, other: TickReport) -> None:
        for name in ("claimed", "posted", "retried", "paused", "dropped", "reminded", "expired"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.busy = self.busy or other.busy


Job = Callable[[float], object]
Held = TypeVar("Held")


@dataclass
class Clock:
    schedules: ScheduleStore
    watch: SessionWatch
    chat: ReminderPoster
    catalog: BankCatalog
    team_runs: TeamRunOpener | None = None
    jobs: Sequence[Job] = ()
    now: Callable[[], float] = time.time
    config: ClockConfig = field(default_factory=ClockConfig)
    stop: threading.Event = field(default_factory=threading.Event)
    _quiet_until: float = 0.0

    # The tick ------------------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        report.add(self.claim_due())
        report.add(self.deliver_due())
        report.add(self.look_in())
        for job in self.jobs:
            if self.stop.is_set():
                break
            try:
                job(self.now())
            except Exception:
                log.exception("clock job %r failed", job)
        return report

    # 1. Claim ----------------------------------------------------------------------------------------

    def claim_due(self) -> TickReport:
        report = TickReport()
        now = self.now()
        due = self.schedules.due(now, self.config.batch)
        report.busy = len(due) == self.config.batch
        plans: list[tuple[DueSchedule, int]] = []
        for item, record in zip(due, self.schedules.records(due), strict=True):
            if record is None or record.paused is not None:
                self.schedules.forget(item)  # cancelled or paused while it was due
                report.dropped += 1
                continue
            try:
                plans.append((item, as_timestamp(record.rule.next_run(from_timestamp(now)))))
            except NeverRuns:
                log.error("schedule %s never runs again; taking it off the clock", item.member)
                self.schedules.forget(item)
        report.claimed = len(self.schedules.claim(now, plans))
        return report

    # 2. Deliver --------------------------------------------------------------------------------------

    def deliver_due(self) -> TickReport:
        report = TickReport()
        leases = self.schedules.lease(self.now(), self.config.lease_seconds, self.config.batch)
        report.busy = len(leases) == self.config.batch
        self._work_through(leases, lambda lease: self.deliver(lease, report), self.schedules.retry)
        return report

    def deliver(self, lease: Lease, report: TickReport) -> None:
        now = self.now()
        record = self.schedules.get(lease.team_id, lease.schedule_id)
        if record is None or not reminder_wanted(record, lease.run):
            self.schedules.settle(lease)
            report.dropped += 1
            return
        if now < self._quiet_until:
            self._retry(lease, self._quiet_until, report)
            return
        if not self.schedules.pace(record.team_id, record.channel_id, now, self.config.pace_seconds):
            self._retry(lease, now + self.config.pace_seconds, report)
            return
        if record.attempt is not None and record.attempt.run == lease.run and not record.team_run:
            found = self._find_earlier_post(record, lease)
            if found is not None:
                self.schedules.delivered(lease, found)
                self.schedules.settle(lease)
                report.posted += 1
                return
        marked = self.schedules.begin_attempt(lease)
        if marked is None:
            self.schedules.settle(lease)
            report.dropped += 1
            return
        self._handle(lease, marked, self._post(marked, lease.run), report)

    def _find_earlier_post(self, record: ScheduleRecord, lease: Lease) -> str | None:
        """The ts of this run's reminder if an earlier attempt did post it."""
        assert record.attempt is not None
        try:
            return self.chat.find_reminder(record, lease.run, record.attempt.started_at)
        except HistoryUnreadable as error:
            # Without the channel's history, posting again risks a repeat; not posting risks losing the
            # reminder, which is worse.
            log.warning("could not look for reminder %s in its channel: %s", lease.delivery, error)
            return None

    def _post(self, record: ScheduleRecord, run: int) -> Outcome:
        last = self.schedules.last_channel_result(record.team_id, record.channel_id)
        if not record.team_run:
            return self.chat.post_reminder(record, run, last)
        if self.team_runs is None:
            return self.chat.post_reminder(record, run, last, TEAM_RUNS_UNAVAILABLE)
        opened = self.team_runs.open_run(record.team_id, record.channel_id, record.creator_id, record.bank_id)
        if isinstance(opened, NotPosted):
            note = TEAM_RUN_FAILED.format(reason=opened.error)
            return self.chat.post_reminder(record, run, last, note)
        return opened

    def _handle(self, lease: Lease, record: ScheduleRecord, outcome: Outcome, report: TickReport) -> None:
        now = self.now()
        if isinstance(outcome, Posted | AlreadyOpen):
            self.schedules.delivered(lease, outcome.message_ts if isinstance(outcome, Posted) else None)
            if not self.schedules.settle(lease):
                log.warning("reminder %s was posted after its lease ran out", lease.delivery)
            report.posted += 1
        elif isinstance(outcome, ChannelGone):
            if self.schedules.pause(record.team_id, record.schedule_id, outcome.reason):
                told = self.chat.tell_creator_paused(record, outcome.reason)
                if not isinstance(told, Posted):
                    log.warning(
                        "could not tell %s that %s is paused: %s", record.creator_id, lease.delivery, told
                    )
            self.schedules.settle(lease)
            report.paused += 1
        elif isinstance(outcome, RateLimited):
            self.schedules.not_posted(lease)
            self._quiet_until = max(self._quiet_until, now + outcome.retry_after)
            self._retry(lease, now + outcome.retry_after, report)
        elif isinstance(outcome, NotPosted):
            failures = self.schedules.not_posted(lease)
            log.warning("reminder %s not posted (%s); retrying", lease.delivery, outcome.error)
            self._retry(lease, now + self._backoff(failures), report)
        else:
            failures = self.schedules.may_be_posted(lease)
            log.warning(
                "reminder %s may not have reached Slack (%s); will check", lease.delivery, outcome.error
            )
            self._retry(lease, now + self._backoff(failures), report)

    def _retry(self, lease: Lease, at: float, report: TickReport) -> None:
        self.schedules.retry(lease, at)
        report.retried += 1

    def _backoff(self, failures: int) -> float:
        delay = self.config.first_retry_seconds * 2 ** max(0, failures - 1)
        return float(min(delay, self.config.max_retry_seconds))

    # 3. Look in on unfinished assessments ----------------------------------------------------------------

    def look_in(self) -> TickReport:
        report = TickReport()
        watched = self.watch.lease(self.now(), self.config.lease_seconds, self.config.batch)
        report.busy = len(watched) == self.config.batch
        self._work_through(watched, lambda item: self._look_in_on(item, report), self.watch.look_again)
        return report

    def _look_in_on(self, item: Watched, report: TickReport) -> None:
        now = self.now()
        run = self.watch.team_run(item) if item.respondent.run_id is not None else None
        if item.respondent.run_id is not None and (run is None or not run.is_open or run.overdue(now)):
            self.watch.stop_watching(item)
            return
        record, ttl = self.watch.session(item)
        if record is None:
            if self.watch.mark_expired(item) is not None:
                self.chat.note_expired(item.respondent, run)
                report.expired += 1
            self.watch.stop_watching(item)
            return
        conversation = _conversation(record.conversation)
        if conversation is None or conversation.finished:
            self.watch.stop_watching(item)
            return
        idle_until = record.updated_at + self.config.remind_after_seconds
        reminded = self.watch.noted(item, record.session_id, "reminded")
        if not reminded and now >= idle_until:
            if self.watch.mark(item, record.session_id, "reminded"):
                done = progress(self.catalog, conversation).text
                self.chat.remind_unfinished(item.respondent, record.dm_channel, done, run)
                report.reminded += 1
            reminded = True
        # Next: the reminder once the silence has lasted a day, or else the note once the session is gone.
        # A change of the session meanwhile moves this look to a day after it (and this is refused).
        look_at = now + max(ttl, 0) + self.config.expiry_margin_seconds if reminded else idle_until
        self.watch.look_again(item, look_at)

    def _work_through(
        self,
        items: Sequence[Held],
        handle: Callable[[Held], None],
        hand_back: Callable[[Held, float], object],
    ) -> None:
        """Handle each leased item; once asked to stop, hand the rest back due now, so another clock (or
        the next start) takes them without waiting for their leases to run out."""
        for index, item in enumerate(items):
            if self.stop.is_set():
                for left in items[index:]:
                    hand_back(left, self.now())
                return
            handle(item)

    # The process ---------------------------------------------------------------------------------------

    def run(self, tick_seconds: float) -> None:
        """Tick until `stop` is set; straight on while a batch was full, else every `tick_seconds`."""
        while not self.stop.is_set():
            try:
                report = self.tick()
            except StoreUnavailable as error:
                log.warning("Redis is unavailable (%s); trying again next tick", error)
                self.stop.wait(tick_seconds)
                continue
            if report.claimed or report.posted or report.paused or report.reminded or report.expired:
                log.info(
                    "tick: %d claimed, %d posted, %d retried, %d paused, %d reminded, %d expired",
                    report.claimed,
                    report.posted,
                    report.retried,
                    report.paused,
                    report.reminded,
                    report.expired,
                )
            if not report.busy:
                self.stop.wait(tick_seconds)


def _conversation(data: dict[str, Any]) -> Conversation | None:
    try:
        return Conversation.from_dict(data)
    except CorruptState:
        return None

"""Running one report's delivery (`ReportDelivery.run`), and the queues that hand deliveries to it: the
worker's, which retries a report until Slack accepts it, or `InProcessReports` in a process with no worker.
When a report finally cannot be posted its author is told, with a button that posts it again.
Each step Slack accepted is recorded, so a retry resumes where the last try stopped. A post is recorded as
attempted before it is sent and carries metadata naming its delivery and step: when the worker died before
Slack's answer came, the retry finds the message in the channel instead of posting it twice
(`Steps.post_once`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import blocks
from bot.slack.found import find_posted
from bot.slack.payloads import BlockAction
from bot.slack.replies import (
    SLACK_FAILURES,
    UNRECOGNISED_BUTTON,
    Respond,
    say,
    store_trouble_text,
    why_undelivered,
)
from bot.store.outbox import DELIVERED, FAILED, LEASE_ONLY, PENDING, TOLD, Delivery, DeliveryRef, Outbox
from bot.store.sessions import STORE_ERRORS

log = logging.getLogger(__name__)

REPOST_ACTION = "report_repost"
# A delivery is held this long by the worker delivering it (the job's own time limit), or until that
# worker's process stops beating.
CLAIM_SECONDS = 300
# The metadata event every report post carries, with its delivery and step, to be found again.
REPORT_EVENT = "mlops_compass_report"


class ReportQueue(Protocol):
    """Where a stored report's pending delivery is handed: the worker's queue, or `InProcessReports`."""

    def deliver(self, ref: DeliveryRef) -> bool:
        """Hand the delivery over; False when it was handed over already and is still waiting."""


class WorkerQueue(ReportQueue, Protocol):
    """The worker's queue (bot/store/jobs.py's JobQueue): report deliveries, and the tasks the worker
    runs with the same flows (bot/slack/app.py's `worker_tasks`)."""

    def run_later(self, task: str, *args: str) -> None: ...


class Steps:
    """What Slack already accepted for one delivery, and the recording of each new step."""

    def __init__(self, outbox: Outbox, delivery: Delivery):
        self.outbox = outbox
        self.ref = delivery.ref
        self.accepted = dict(delivery.steps)
        self.attempts = dict(delivery.attempts)

    def get(self, step: str) -> str | None:
        return self.accepted.get(step)

    def record(self, step: str, value: str) -> None:
        self.outbox.record_step(self.ref, step, value)
        self.accepted[step] = value
        self.attempts.pop(step, None)

    def post_once(
        self,
        client: WebClient,
        step: str,
        channel: str,
        message: Mapping[str, Any],
        thread_ts: str | None = None,
    ) -> str:
        """Post `message` (chat.postMessage's arguments) in `channel` for `step` unless Slack has it
        already; its ts. A post attempted before without an answer recorded is looked for first."""
        done = self.accepted.get(step)
        if done is not None:
            return done
        payload = {"delivery": self.ref.member, "step": step}
        attempted = self.attempts.get(step)
        if attempted is not None:
            found = find_posted(client, channel, attempted, REPORT_EVENT, payload, thread_ts)
            if found is not None:
                self.record(step, found)
                return found
        self._attempt(step)
        metadata = {"event_type": REPORT_EVENT, "event_payload": payload}
        try:
            posted = client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, metadata=metadata, **message
            )
        except SlackApiError as error:
            # Slack's own refusal: the message is not there. Any other failure may have posted it.
            if error.response is not None and error.response.status_code == 200:
                self.outbox.forget_attempt(self.ref, step)
                self.attempts.pop(step, None)
            raise
        ts = str(posted["ts"])
        self.record(step, ts)
        return ts

    def once(self, step: str, action: Callable[[], object]) -> None:
        """Run `action` (what Slack cannot be asked about afterwards, as an upload) unless its step is
        recorded, or was attempted by a try that died before recording it: at most once, never twice."""
        if step in self.accepted:
            return
        if step in self.attempts:
            log.warning("not repeating the %s step of a delivery whose worker stopped during it", step)
        else:
            self._attempt(step)
            action()
        self.record(step, "done")

    def _attempt(self, step: str) -> None:
        at = time.time()
        self.outbox.record_attempt(self.ref, step, at)
        self.attempts[step] = at


class Undeliverable(Exception):
    """The report cannot be posted where it belongs; `where` names it for its author."""

    def __init__(self, where: str, reason: str):
        super().__init__(reason)
        self.where = where
        self.reason = reason


# What a delivery raises to be tried again.
RETRIED: tuple[type[Exception], ...] = (*SLACK_FAILURES, Undeliverable)


# What delivers one kind of report: posts what `Steps` does not have yet, and returns where it landed
# ("<#C>") for the author's note after a re-post. Raises one of SLACK_FAILURES to be retried.
Deliver = Callable[[Delivery, Steps], str]


def repost_value(ref: DeliveryRef) -> str:
    return f"{ref.kind}:{ref.team_id}:{ref.delivery_id}"


def parse_repost_value(value: str) -> DeliveryRef | None:
    kind, _, rest = value.partition(":")
    team_id, _, delivery_id = rest.partition(":")
    return DeliveryRef.from_member(f"{team_id}:{kind}:{delivery_id}") if team_id else None


def not_posted_message(ref: DeliveryRef, what: str, where: str, reason: str) -> blocks.Message:
    # True of the worker, which tried again before this, and of a process with no worker, which did not.
    text = (
        f":warning: I couldn't post {what} in {where}: {reason}. "
        "It is saved: *Post it again* tries once more."
    )
    return blocks.text_with_button(text, "Post it again", REPOST_ACTION, repost_value(ref))


class ReportDelivery:
    def __init__(
        self, outbox: Outbox, client: WebClient, personal: Deliver, team: Deliver, workshop: Deliver
    ):
        self.outbox = outbox
        self.client = client
        self.by_kind = {"personal": personal, "team": team, "workshop": workshop}

    def run(self, ref: DeliveryRef, last_attempt: bool, holder: str | None = None) -> str:
        """Deliver the report unless it is delivered already or another worker holds it; what happened.
        `holder`: the worker process delivering it, whose hold ends with it. Raises to be retried; on the
        last attempt the author is told first."""
        if not self.outbox.claim(ref, CLAIM_SECONDS, holder or LEASE_ONLY):
            return "held by another worker"
        try:
            delivery = self.outbox.get(ref)
            if delivery is None or delivery.state != PENDING:
                return "nothing to deliver"
            steps = Steps(self.outbox, delivery)
            try:
                where = self.by_kind[ref.kind](delivery, steps)
            except RETRIED as error:
                if not last_attempt:
                    raise
                # Given up on before the author hears of it: their *Post it again* may come at once, and
                # its reopening must not be overwritten by this run.
                self.outbox.finish(ref, FAILED, told=True)
                try:
                    self._tell_author(delivery, steps, error)
                except BaseException:
                    # Nobody was told: pending again, for the sweep to try once more.
                    self.outbox.reopen(ref, told_again=False)
                    raise
                raise
            self.outbox.finish(ref, DELIVERED)
            if delivery.told:
                self._say_posted(delivery, where)
            return f"delivered to {where}"
        finally:
            self.outbox.release(ref)

    def _tell_author(self, delivery: Delivery, steps: Steps, error: Exception) -> None:
        if not delivery.author:
            return  # the author asked to be forgotten (`forget me`): there is nobody to tell
        ref = delivery.ref
        what = {"team": "your team run's report", "workshop": "your team workshop's report"}.get(
            ref.kind, "your MLOps maturity report"
        )
        where = error.where if isinstance(error, Undeliverable) else "Slack"
        reason = error.reason if isinstance(error, Undeliverable) else why_undelivered(error)
        message = not_posted_message(ref, what, where, reason)
        dm = self.client.conversations_open(users=delivery.author)["channel"]["id"]
        steps.post_once(self.client, TOLD, dm, message.as_kwargs())

    def _say_posted(self, delivery: Delivery, where: str) -> None:
        if not delivery.author:
            return
        try:
            dm = self.client.conversations_open(users=delivery.author)["channel"]["id"]
            text = f":white_check_mark: The report I couldn't post earlier is now in {where}."
            self.client.chat_postMessage(channel=dm, **blocks.text_message(text).as_kwargs())
        except SLACK_FAILURES as error:
            log.warning("could not say that a report was posted after all: %s", why_undelivered(error))

    def repost(self, click: BlockAction, respond: Respond, reports: ReportQueue) -> None:
        """*Post it again*, by the report's author: the delivery is pending again and handed to `reports`.
        Once it is pending, the worker's sweep delivers it should the hand-over fail."""
        ref = parse_repost_value(click.value or "")
        try:
            delivery = self.outbox.get(ref) if ref is not None else None
        except STORE_ERRORS as error:
            say(respond, store_trouble_text(error))
            return
        if ref is None or delivery is None:
            say(respond, UNRECOGNISED_BUTTON)
            return
        if delivery.author != click.user_id:
            say(respond, "That button belongs to someone else's report, so nothing was changed.")
            return
        if delivery.state == DELIVERED:
            say(respond, "That report was posted already, so I didn't post it again.")
            return
        try:
            self.outbox.reopen(ref)
        except STORE_ERRORS as error:
            say(respond, store_trouble_text(error))
            return
        say(respond, "I'm posting your report again; I'll tell you here when it's in, or if it fails again.")
        hand_over(reports, ref)


def hand_over(reports: ReportQueue, ref: DeliveryRef) -> None:
    """Give a pending delivery to `reports`. It stays pending in the outbox whatever happens here, so a
    failed hand-over is only logged: the worker's sweep enqueues it again."""
    try:
        reports.deliver(ref)
    except STORE_ERRORS as error:
        log.warning("could not hand a %s report to the worker (its sweep will): %s", ref.kind, error)


class InProcessReports:
    """The report queue of a process with no worker (`serve --memory`, the playground): each delivery runs
    at once, on the thread that stored it (a click's, after its acknowledgement), in one attempt. A report
    Slack does not accept is told to its author as the worker tells it, with *Post it again*."""

    def __init__(self) -> None:
        self._delivery: ReportDelivery | None = None

    def bind(self, delivery: ReportDelivery) -> None:
        """The delivery to run; the flows that hand reports here are built before it (bot/slack/app.py)."""
        self._delivery = delivery

    def deliver(self, ref: DeliveryRef) -> bool:
        if self._delivery is None:
            raise RuntimeError("InProcessReports.deliver before bind()")
        try:
            log.info("%s report: %s", ref.kind, self._delivery.run(ref, last_attempt=True))
        except RETRIED as error:
            log.warning("a %s report was not posted: %s", ref.kind, error)
        return True

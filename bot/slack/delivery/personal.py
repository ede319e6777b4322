"""A personal report's delivery: the whole report in the DM (in place of the last question) and, at the same
time, its summary in the channel the assessment was started from; then the details in the summary's thread,
then the chart under it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.answers import Answer, decode_answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.scoring import Report, score
from bot.slack import blocks
from bot.slack.delivery.run import Steps, Undeliverable
from bot.slack.replies import CHANNEL_REFUSALS, SLACK_FAILURES, slack_error_code, why_undelivered
from bot.slack.values import SessionButton
from bot.slack.workspace_client import WorkspaceExecutor
from bot.store.outbox import Delivery
from bot.store.sessions import Respondent, SessionRecord, SessionStore
from bot.usecases.personal import left_out

# At most this many deliveries post their DM at once in one process; more wait for a thread.
STEPS_POOL_THREADS = 32
# The channel step of a delivery when the channel refused the bot: the person was told how to invite it.
REFUSED = "refused"


def not_invited_note(origin: str, code: str | None) -> str:
    return (
        f":information_source: I couldn't post your report in <#{origin}> ({code}). "
        "To get reports there, invite me: type `/invite @MLOps Compass` in that channel. "
        "Your report above is saved."
    )


def left_out_offer(
    bank: QuestionBank, answers: Mapping[str, Answer], owner: str, result_id: str | None
) -> blocks.LeftOutOffer | None:
    """The report's button for the questions it left out, for its owner's copy; None when there is no
    result to start from, or nothing left out."""
    if result_id is None:
        return None
    found = left_out(bank, answers)
    if not found.questions:
        return None
    value = SessionButton(u=owner, i=result_id).encode()
    return blocks.LeftOutOffer(found.questions, found.outcomes, value)


class ReportCompanion(Protocol):
    """What goes with a finished report: `annotate` adds to the message before it is posted, `after_report`
    follows it where it landed (a chart). Neither may stop the report: they handle their own failures."""

    def annotate(self, record: SessionRecord, messages: Sequence[blocks.Message]) -> list[blocks.Message]: ...

    def after_report(self, record: SessionRecord, report: Report, channel: str, ts: str) -> None: ...


class RunFollowUp(Protocol):
    """What a team run does once a member's report is delivered (bot/slack/team.py)."""

    def response_delivered(self, respondent: Respondent, counted: bool, replaced: bool, dm: str) -> None:
        """Tell the member what their answers did, from what the finishing transaction recorded."""


class PersonalReports:
    def __init__(
        self,
        store: SessionStore,
        catalog: BankCatalog,
        client: WebClient,
        companion: ReportCompanion | None = None,
        steps_pool: Executor | None = None,
    ):
        self.store = store
        self.catalog = catalog
        self.client = client
        self.companion = companion
        self.run_follow_up: RunFollowUp | None = None
        # Where each delivery posts its DM while its own thread posts in the channel; carries the
        # workspace served (its token) into the thread. Threads are started as deliveries need them, up
        # to one per delivery running at once in this process (the worker's WORKER_THREADS).
        self.steps_pool = steps_pool or WorkspaceExecutor(
            max_workers=STEPS_POOL_THREADS, thread_name_prefix="report-dm"
        )

    def deliver(self, delivery: Delivery, steps: Steps) -> str:
        """Post the stored result's report where it belongs; returns where people see it. Raises
        Undeliverable (to be retried) when Slack does not accept it."""
        ref = delivery.ref
        result = self.store.result(ref.team_id, ref.delivery_id)
        if result is None:
            return "nowhere: the result was deleted"
        # A member's result names no run: the delivery does while the run is open (its close takes it out).
        outcome = json.loads(delivery.prepared) if delivery.prepared is not None else None
        run_id = outcome.get("run") if outcome is not None else None
        respondent = result.respondent.model_copy(update={"run_id": run_id}) if run_id else result.respondent
        owner = respondent.user_id
        try:
            bank = self.catalog.by_id(result.bank_id)
        except UnknownBank:
            return "nowhere: its question bank is no longer offered"
        answers = {qid: decode_answer(answer) for qid, answer in result.answers.items()}
        report = score(bank, answers)
        session = self.store.get(respondent)
        shown_in = session if session is not None and session.result_id == result.result_id else None
        record = SessionRecord(
            respondent=respondent,
            conversation={},
            origin_channel=result.origin_channel,
            dm_channel=shown_in.dm_channel if shown_in else None,
            message_ts=shown_in.message_ts if shown_in else None,
            result_id=result.result_id,
        )
        offer = left_out_offer(bank, answers, owner, result.result_id)
        whole = blocks.report_message(report, owner, offer)
        summary = blocks.report_summary_message(report, owner)
        if self.companion is not None:
            # One read of the history gives both copies what changed since last time.
            whole, summary = self.companion.annotate(record, [whole, summary])
        try:
            dm_channel = self._dm_channel(record, steps)
        except SLACK_FAILURES as error:
            raise Undeliverable("our DM", why_undelivered(error)) from error
        record.dm_channel = dm_channel
        origin = result.origin_channel
        in_channel = origin if origin and origin != dm_channel else None
        # The report in the DM and the summary in the channel need nothing of each other: both are asked of
        # Slack at once. What follows needs both: the note that the channel refused the bot says "your
        # report above", and the chart goes under whichever landed.
        in_dm = self.steps_pool.submit(self._in_dm, dm_channel, record.message_ts, whole, steps)
        try:
            summary_ts = self._summary(in_channel, summary, steps) if in_channel is not None else None
        finally:
            # Waited for whatever the channel did, so no step runs once the delivery is over; a DM Slack
            # did not take is what the author hears of, as when the DM went first.
            try:
                dm_ts = in_dm.result()
            except SLACK_FAILURES as error:
                raise Undeliverable("our DM", why_undelivered(error)) from error
        where, channel, ts = "our DM", dm_channel, dm_ts
        if in_channel is not None and summary_ts is not None:
            details = blocks.report_details_message(report, owner)
            posted = self._in_channel(in_channel, summary_ts, details, dm_channel, steps)
            if posted is not None:
                where, channel, ts = f"<#{in_channel}>", in_channel, posted
        companion, follow_up = self.companion, self.run_follow_up
        if companion is not None:
            steps.once("chart", lambda: companion.after_report(record, report, channel, ts))
        if outcome is not None and follow_up is not None:
            counted, replaced = outcome["counted"], outcome["replaced"]
            steps.once("run", lambda: follow_up.response_delivered(respondent, counted, replaced, dm_channel))
        return where

    def _dm_channel(self, record: SessionRecord, steps: Steps) -> str:
        done = steps.get("dm")
        if done is not None:
            return done.partition(" ")[0]
        return (
            record.dm_channel
            or self.client.conversations_open(users=record.respondent.user_id)["channel"]["id"]
        )

    def _in_dm(self, channel: str, message_ts: str | None, whole: blocks.Message, steps: Steps) -> str:
        """The whole report in the DM, in place of the last question when it is known; its ts."""
        done = steps.get("dm")
        if done is not None:
            return done.partition(" ")[2]
        if message_ts is not None:
            self.client.chat_update(channel=channel, ts=message_ts, **whole.as_kwargs())
            ts = message_ts
        else:
            ts = steps.post_once(self.client, "dm-post", channel, whole.as_kwargs())
        steps.record("dm", f"{channel} {ts}")
        return ts

    def _summary(self, origin: str, summary: blocks.Message, steps: Steps) -> str:
        """The summary in the channel: its ts, or, when the channel refuses the bot, `REFUSED` followed by
        Slack's code (the person is told once the DM has their report)."""
        ts = steps.get("channel")
        if ts is not None:
            return ts
        try:
            return steps.post_once(self.client, "channel", origin, summary.as_kwargs())
        except SlackApiError as error:
            code = slack_error_code(error)
            if code not in CHANNEL_REFUSALS:
                raise Undeliverable(f"<#{origin}>", why_undelivered(error)) from error
            return f"{REFUSED} {code}"
        except SLACK_FAILURES as error:
            raise Undeliverable(f"<#{origin}>", why_undelivered(error)) from error

    def _in_channel(
        self,
        origin: str,
        summary_ts: str,
        details: blocks.Message,
        dm_channel: str,
        steps: Steps,
    ) -> str | None:
        """The details in the summary's thread; the summary's ts, or None when the channel refused the bot
        (the person is told how to invite it, and that is final)."""
        try:
            ts, _, code = summary_ts.partition(" ")
            if ts == REFUSED:
                if steps.get("channel") is None:
                    note = blocks.text_message(not_invited_note(origin, code))
                    steps.post_once(self.client, "not-invited", dm_channel, note.as_kwargs())
                    steps.record("channel", REFUSED)
                return None
            steps.post_once(self.client, "details", origin, details.as_kwargs(), thread_ts=ts)
        except SLACK_FAILURES as error:
            raise Undeliverable(f"<#{origin}>", why_undelivered(error)) from error
        return ts

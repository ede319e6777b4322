"""The personal assessment in Slack: translates slash commands and clicks into engine events, keeps the
conversation in the store, and renders what the engine says to show next.

Listeners acknowledge Slack first and call in here afterwards, so nothing below is on the 3-second path.
Every refusal is an ephemeral message to the person who clicked; a refusal never changes stored state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.answers import decode_answer, encode_answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Back,
    BankChanged,
    Cancel,
    Conversation,
    ConversationFinished,
    CorruptState,
    Event,
    InvalidEvent,
    NothingToGoBackTo,
    Phase,
    ShowCancelled,
    ShowExpired,
    ShowReport,
    StaleQuestion,
    Start,
    Transition,
    UnknownOption,
    advance,
    prompt_for,
)
from bot.engine.report_view import build_view
from bot.slack import blocks
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    BACK_ACTION,
    CANCEL_ACTION,
    InvalidButton,
    QuestionButton,
    SessionButton,
)
from bot.store.sessions import Change, Respondent, ResultRecord, SessionRecord, SessionStore, StoreUnavailable

log = logging.getLogger(__name__)

Respond = Callable[..., Any]

UNAVAILABLE = (
    ":warning: MLOps Compass is temporarily unavailable. Your answers so far are safe; "
    "try the button again in a minute."
)
UNRECOGNISED_BUTTON = "That button isn't one I recognise, so nothing was changed."
SHOW_FAILED = (
    ":warning: Your answer is saved, but Slack didn't take my next message. "
    f"Type `{blocks.COMMAND} resume` to get the current question again."
)
FIRST_QUESTION_FAILED = (
    ":warning: Your assessment is ready, but Slack didn't take its first question. "
    f"Type `{blocks.COMMAND} resume` to get it."
)
SLACK_FAILED = (
    ":warning: Slack didn't take my message just now; nothing you answered was lost. Try again in a minute."
)
# Errors that mean the bot may not post in the channel, as opposed to Slack being unavailable.
CHANNEL_REFUSALS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_post_in_channel"}
)


class SessionMismatch(InvalidEvent):
    """The click belongs to an earlier assessment of the same person."""


@dataclass(frozen=True)
class Applied:
    transition: Transition
    bank: QuestionBank
    record: SessionRecord


def bank_changed(user_id: str, error: BankChanged) -> blocks.Message:
    return blocks.bank_changed_message(user_id, error.bank_id, error.started_with, error.current)


def who_clicked(body: dict[str, Any]) -> tuple[str, str]:
    """(workspace id, user id) of a block_actions payload."""
    team_id = body["team"]["id"] if body.get("team") else body["user"]["team_id"]
    return team_id, body["user"]["id"]


def ephemeral(respond: Respond, message: blocks.Message) -> None:
    respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())


class ReportCompanion(Protocol):
    """What goes with a finished report: `annotate` adds to the message before it is posted, `after_report`
    follows it where it landed (a chart). Neither may stop the report: they handle their own failures."""

    def annotate(self, record: SessionRecord, message: blocks.Message) -> blocks.Message: ...

    def after_report(self, record: SessionRecord, channel: str, ts: str) -> None: ...


class AssessmentFlow:
    def __init__(
        self,
        store: SessionStore,
        catalog: BankCatalog,
        default_bank: str,
        client: WebClient,
        companion: ReportCompanion | None = None,
    ):
        self.store = store
        self.catalog = catalog
        self.default_bank = default_bank
        self.client = client
        self.companion = companion

    # Commands ------------------------------------------------------------------------------------

    def start(
        self, team_id: str, user_id: str, channel_id: str, bank_ref: str | None, respond: Respond
    ) -> None:
        try:
            bank = self.catalog.by_id(bank_ref or self.default_bank)
        except UnknownBank as error:
            ephemeral(respond, blocks.text_message(blocks.escape(str(error))))
            return
        respondent = Respondent(team_id=team_id, user_id=user_id)
        try:
            existing = self.store.get(respondent)
            if existing is not None and not self._finished(existing):
                conversation = Conversation.from_dict(existing.conversation)
                total = self._question_count(conversation)
                ephemeral(
                    respond,
                    blocks.in_progress_message(user_id, len(conversation.answers), total, bank.id),
                )
                return
            self.begin(respondent, bank, channel_id, replace=existing is not None, respond=respond)
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))

    def begin(
        self, respondent: Respondent, bank: QuestionBank, origin_channel: str, replace: bool, respond: Respond
    ) -> None:
        """Open the DM, store a fresh conversation and post its first question."""
        try:
            dm_channel = self.client.conversations_open(users=respondent.user_id)["channel"]["id"]
        except SlackApiError as error:
            log.warning("could not open the DM: %s", error.response.get("error"))
            ephemeral(respond, blocks.text_message(SLACK_FAILED))
            return
        started = advance(Conversation.new(bank), Start(), bank)
        record = SessionRecord(
            respondent=respondent,
            conversation=started.state.to_dict(),
            origin_channel=origin_channel,
            dm_channel=dm_channel,
        )
        if not self.store.create(record, replace=replace):
            ephemeral(respond, blocks.text_message("You already have an assessment in progress."))
            return
        assert isinstance(started.prompt, AskQuestion)
        message = blocks.question_message(bank, started.prompt, respondent.user_id, record.session_id)
        try:
            posted = self.client.chat_postMessage(channel=dm_channel, **message.as_kwargs())
        except SlackApiError as error:
            log.warning("could not post the first question: %s", error.response.get("error"))
            ephemeral(respond, blocks.text_message(FIRST_QUESTION_FAILED))
            return
        self._remember_message(respondent, record.session_id, dm_channel, posted["ts"])
        log.info("assessment started", extra={"team": respondent.team_id, "bank": bank.id})

    def resume(self, team_id: str, user_id: str, respond: Respond) -> None:
        """Send the current question again; after the last answer, send the report again."""
        respondent = Respondent(team_id=team_id, user_id=user_id)
        nothing_in_progress = blocks.text_message(
            f"You have no assessment in progress. Type `{blocks.COMMAND}` to start one."
        )
        try:
            record = self.store.get(respondent)
            if record is None:
                ephemeral(respond, nothing_in_progress)
                return
            conversation = Conversation.from_dict(record.conversation)
            bank = self._bank_for(conversation)
            prompt = prompt_for(conversation, bank)
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))
            return
        except CorruptState:
            ephemeral(respond, nothing_in_progress)
            return
        except BankChanged as error:
            ephemeral(respond, nothing_in_progress if conversation.finished else bank_changed(user_id, error))
            return
        if isinstance(prompt, AskQuestion):
            message = blocks.question_message(bank, prompt, user_id, record.session_id)
            done = "I've sent your current question to our DM again."
        elif isinstance(prompt, ShowReport):
            message = blocks.report_message(prompt.report, user_id)
            done = "Your last assessment is complete; I've sent its report to our DM again."
        else:
            ephemeral(respond, nothing_in_progress)
            return
        try:
            dm_channel = record.dm_channel or self.client.conversations_open(users=user_id)["channel"]["id"]
            posted = self.client.chat_postMessage(channel=dm_channel, **message.as_kwargs())
            if isinstance(prompt, AskQuestion):
                self._remember_message(respondent, record.session_id, dm_channel, posted["ts"])
        except SlackApiError as error:
            log.warning("could not resend to the DM: %s", error.response.get("error"))
            ephemeral(respond, blocks.text_message(SLACK_FAILED))
            return
        except StoreUnavailable:
            pass  # the question is in the DM; its buttons work whatever message they are on
        ephemeral(respond, blocks.text_message(done))

    def cancel(self, team_id: str, user_id: str, respond: Respond) -> None:
        respondent = Respondent(team_id=team_id, user_id=user_id)
        try:
            record = self.store.get(respondent)
            if record is None or self._finished(record):
                ephemeral(respond, blocks.text_message("You have no assessment in progress."))
                return
            applied = self._apply(respondent, record.session_id, Cancel(), record.message_ts)
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))
            return
        except BankChanged as error:
            ephemeral(respond, bank_changed(user_id, error))
            return
        except InvalidEvent:
            ephemeral(respond, blocks.text_message("You have no assessment in progress."))
            return
        try:
            self._show(applied, applied.record.dm_channel, applied.record.message_ts)
        except SlackApiError as error:
            log.warning("could not mark the question message cancelled: %s", error.response.get("error"))
        ephemeral(respond, blocks.text_message("Your assessment is cancelled."))

    # Clicks --------------------------------------------------------------------------------------

    def click(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        team_id, clicker = who_clicked(body)
        channel_id = body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id")
        message_ts = body.get("container", {}).get("message_ts")
        try:
            button = QuestionButton.decode(action.get("value"))
            if button.u != clicker:
                ephemeral(
                    respond,
                    blocks.text_message(
                        f"This assessment belongs to someone else; yours starts with `{blocks.COMMAND}`."
                    ),
                )
                return
            event = self._event_for(action["action_id"], button)
        except InvalidButton:
            ephemeral(respond, blocks.text_message(UNRECOGNISED_BUTTON))
            return
        respondent = Respondent(team_id=team_id, user_id=clicker)
        try:
            applied = self._apply(respondent, button.s, event, message_ts)
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))
            return
        except BankChanged as error:
            ephemeral(respond, bank_changed(clicker, error))
            return
        except InvalidEvent as error:
            ephemeral(respond, blocks.text_message(self._refusal_text(error)))
            return
        try:
            self._show(applied, channel_id, message_ts)
        except SlackApiError as error:
            log.warning("could not show the next step: %s", error.response.get("error"))
            ephemeral(respond, blocks.text_message(SHOW_FAILED))

    def session_button(
        self, body: dict[str, Any], action: dict[str, Any], respond: Respond, start_over: bool
    ) -> None:
        team_id, clicker = who_clicked(body)
        try:
            button = SessionButton.decode(action.get("value"))
        except InvalidButton:
            ephemeral(respond, blocks.text_message(UNRECOGNISED_BUTTON))
            return
        if button.u != clicker:
            ephemeral(respond, blocks.text_message("That button belongs to someone else's assessment."))
            return
        if not start_over:
            self.resume(team_id, clicker, respond)
            return
        respondent = Respondent(team_id=team_id, user_id=clicker)
        try:
            bank = self.catalog.by_id(button.b or self.default_bank)
            existing = self.store.get(respondent)
            # Clicked in a channel (the in-progress notice): the report goes there. Clicked in the DM (the
            # bank-changed notice): it goes where the first assessment was started.
            clicked_in = body.get("channel", {}).get("id")
            in_dm = existing is not None and clicked_in == existing.dm_channel
            origin = (existing.origin_channel if existing and in_dm else None) or clicked_in
            self.begin(respondent, bank, origin, replace=True, respond=respond)
        except UnknownBank as error:
            ephemeral(respond, blocks.text_message(blocks.escape(str(error))))
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))

    # Internals -----------------------------------------------------------------------------------

    @staticmethod
    def _event_for(action_id: str, button: QuestionButton) -> Event:
        if button.q is None:
            raise InvalidButton("question button without a question")
        if ANSWER_ACTION_PATTERN.match(action_id):
            if button.a is None:
                raise InvalidButton("answer button without an answer")
            return AnswerQuestion(button.q, decode_answer(button.a))
        if action_id == BACK_ACTION:
            return Back(button.q)
        if action_id == CANCEL_ACTION:
            return Cancel()
        raise InvalidButton(f"unknown action {action_id!r}")

    def _bank_for(self, conversation: Conversation) -> QuestionBank:
        """The bank a stored conversation was started on; the engine checks its version."""
        try:
            return self.catalog.by_id(conversation.bank_id)
        except UnknownBank:
            started_with = f"{conversation.bank_id} {conversation.bank_version}"
            raise BankChanged(conversation.bank_id, started_with, "no longer offered") from None

    def _question_count(self, conversation: Conversation) -> int:
        try:
            return len(self.catalog.by_id(conversation.bank_id).questions)
        except UnknownBank:
            return len(conversation.answers)

    @staticmethod
    def _finished(record: SessionRecord) -> bool:
        try:
            return Conversation.from_dict(record.conversation).finished
        except CorruptState:
            return True

    def _apply(
        self, respondent: Respondent, session_id: str, event: Event, message_ts: str | None
    ) -> Applied:
        """One atomic transition of the respondent's stored conversation."""

        def mutate(record: SessionRecord | None) -> Change[Applied]:
            if record is None or record.session_id != session_id:
                raise SessionMismatch("this button belongs to an earlier assessment")
            conversation = Conversation.from_dict(record.conversation)
            bank = self._bank_for(conversation)
            transition = advance(conversation, event, bank)
            updated = record.model_copy(
                update={
                    "conversation": transition.state.to_dict(),
                    "message_ts": message_ts or record.message_ts,
                }
            )
            result = None
            if transition.state.phase == Phase.COMPLETE:
                assert isinstance(transition.prompt, ShowReport)
                result = ResultRecord(
                    respondent=respondent,
                    bank_id=bank.id,
                    bank_version=bank.version,
                    answers={qid: encode_answer(a) for qid, a in transition.state.answers.items()},
                    report=build_view(transition.prompt.report).to_dict(),
                    origin_channel=record.origin_channel,
                )
                updated.result_id = result.result_id
            return Change(updated, Applied(transition, bank, updated), result)

        return self.store.change(respondent, mutate)

    def _remember_message(self, respondent: Respondent, session_id: str, channel: str, ts: str) -> None:
        def mutate(record: SessionRecord | None) -> Change[None]:
            if record is None or record.session_id != session_id:
                return Change(None, None)
            return Change(record.model_copy(update={"dm_channel": channel, "message_ts": ts}), None)

        self.store.change(respondent, mutate)

    def _show(self, applied: Applied, channel: str | None, message_ts: str | None) -> None:
        prompt = applied.transition.prompt
        owner = applied.record.respondent.user_id
        if channel is None or message_ts is None:
            return
        if isinstance(prompt, AskQuestion):
            message = blocks.question_message(applied.bank, prompt, owner, applied.record.session_id)
            self.client.chat_update(channel=channel, ts=message_ts, **message.as_kwargs())
        elif isinstance(prompt, ShowReport):
            self._deliver_report(applied, channel, message_ts)
        elif isinstance(prompt, ShowCancelled | ShowExpired):
            text = (
                f"Assessment cancelled after {prompt.answered} answer(s). "
                f"Type `{blocks.COMMAND}` whenever you want to start again."
            )
            self.client.chat_update(
                channel=channel, ts=message_ts, **blocks.answered_message(text).as_kwargs()
            )

    def _deliver_report(self, applied: Applied, dm_channel: str, message_ts: str) -> None:
        prompt = applied.transition.prompt
        assert isinstance(prompt, ShowReport)
        message = blocks.report_message(prompt.report, applied.record.respondent.user_id)
        if self.companion is not None:
            message = self.companion.annotate(applied.record, message)
        channel, ts = self._post_report(applied, message, dm_channel, message_ts)
        if self.companion is not None:
            self.companion.after_report(applied.record, channel, ts)

    def _post_report(
        self, applied: Applied, message: blocks.Message, dm_channel: str, message_ts: str
    ) -> tuple[str, str]:
        """Post the report; returns the channel and ts of the copy people see (the channel's, or the DM's)."""
        # The DM copy first: the result is already stored, and the copy stands whatever the channel says.
        self.client.chat_update(channel=dm_channel, ts=message_ts, **message.as_kwargs())
        origin = applied.record.origin_channel
        if not origin or origin == dm_channel:
            return dm_channel, message_ts
        try:
            posted = self.client.chat_postMessage(channel=origin, **message.as_kwargs())
            return origin, str(posted["ts"])
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            if code not in CHANNEL_REFUSALS:
                raise
            note = (
                f":information_source: I couldn't post your report in <#{origin}> ({code}). "
                "To get reports there, invite me: type `/invite @MLOps Compass` in that channel. "
                "Your report above is saved."
            )
            self.client.chat_postMessage(channel=dm_channel, **blocks.text_message(note).as_kwargs())
            return dm_channel, message_ts

    @staticmethod
    def _refusal_text(error: InvalidEvent) -> str:
        if isinstance(error, StaleQuestion | SessionMismatch | NothingToGoBackTo):
            return "That button is from an earlier question, so nothing changed; carry on with the latest."
        if isinstance(error, ConversationFinished):
            return f"This assessment is already {error.phase.value.lower()}; nothing was changed."
        if isinstance(error, UnknownOption):
            return "That option isn't offered for this question, so nothing was changed."
        return "That didn't fit this assessment, so nothing was changed."

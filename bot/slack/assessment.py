"""The personal assessment in Slack: translates slash commands and clicks into engine events, keeps the
conversation in the store, and renders what the engine says to show next.

Listeners acknowledge Slack first and call in here afterwards, so nothing below is on the 3-second path.
Every refusal is an ephemeral message to the person who clicked; a refusal never changes stored state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.engine.answers import decode_answer
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
    KeepGoing,
    NoStopOffered,
    NothingToGoBackTo,
    OfferStop,
    ShowCancelled,
    ShowExpired,
    ShowReport,
    StaleQuestion,
    StopHere,
    UnknownOption,
    prompt_for,
)
from bot.engine.overview import full_length, length, settled_after
from bot.engine.progress import sentence
from bot.slack import blocks
from bot.slack.delivery.personal import left_out_offer
from bot.slack.delivery.run import ReportQueue, hand_over
from bot.slack.payloads import BlockAction
from bot.slack.replies import (
    SLACK_FAILURES,
    UNAVAILABLE,
    UNRECOGNISED_BUTTON,
    Respond,
    ephemeral,
    resume_hint,
    say,
    store_trouble_text,
    why_undelivered,
)
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    BACK_ACTION,
    CANCEL_ACTION,
    KEEP_GOING_ACTION,
    START_OVER_ACTION,
    STOP_HERE_ACTION,
    InvalidButton,
    QuestionButton,
    SessionButton,
)
from bot.store.outbox import DeliveryRef
from bot.store.sessions import (
    Respondent,
    RunSessionClosed,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
)
from bot.usecases.personal import (
    EVERY_QUESTION,
    PERSONAL,
    STORE_TROUBLE,
    Applied,
    Asking,
    NoSessionKept,
    NothingLeftOut,
    OutdatedMessage,
    RunEnded,
    RunWrites,
    SessionMismatch,
    apply,
    bank_for,
    is_finished,
    left_out_asking,
    new_session,
    progress,
    remember_message,
)

log = logging.getLogger(__name__)

STARTING = ":compass: One moment: setting up your assessment…"
# A click or a start in a team run that closed: the close deleted the member's answers in it.
RUN_CLOSED = (
    "This team run has closed, so it takes no more answers and nothing was changed; "
    "its report is in the run's channel. Your own reports are kept as before."
)
# What a person is told once the first question of a bank is posted.
StartedNote = Callable[[QuestionBank], str]


def settled_clause(bank: QuestionBank) -> str | None:
    """When the overall level is usually settled, where a person may stop; None for a bank never
    measured."""
    settled = settled_after(bank)
    return f"your overall level is usually settled {settled}, and you can stop there" if settled else None


def settled_note(bank: QuestionBank) -> str:
    clause = settled_clause(bank)
    return f" {sentence(clause)}." if clause else ""


def started_text(bank: QuestionBank) -> str:
    return f":compass: I've sent the first question to our DM ({length(bank)}).{settled_note(bank)}"


def full_started_text(bank: QuestionBank) -> str:
    return (
        f":compass: I've sent the first question to our DM. This run asks every question that applies "
        f"({full_length(bank)}), so every score in its report is exact."
    )


def left_out_started_text(bank: QuestionBank) -> str:
    return (
        ":compass: I've sent the first of the questions your report left out to our DM. When they are "
        "answered, a new report comes with your earlier answers and these."
    )


# The words of a start button, by what it starts: a full run, or the questions a result left out.
def _started_note_for(button: SessionButton) -> StartedNote:
    if button.i is not None:
        return left_out_started_text
    return full_started_text if button.m == "full" else started_text


REPORT_ON_ITS_WAY = (
    ":white_check_mark: That was the last question: your assessment is complete and saved. "
    "Your report comes here in a moment."
)


def bank_changed(user_id: str, error: BankChanged, session_id: str | None = None) -> blocks.Message:
    return blocks.bank_changed_message(
        user_id, error.bank_id, error.started_with, error.current, session_id=session_id
    )


class AssessmentFlow:
    def __init__(
        self,
        store: SessionStore,
        catalog: BankCatalog,
        default_bank: str,
        client: WebClient,
        reports: ReportQueue,
    ):
        """The click that finishes an assessment stores its result with the report's pending delivery
        and hands that to `reports` (bot/slack/delivery)."""
        self.store = store
        self.catalog = catalog
        self.default_bank = default_bank
        self.client = client
        self.reports = reports
        # A team run's writes in the transaction that finishes a member's assessment (bot/slack/team.py).
        self.run_hook: RunWrites | None = None

    # Commands ------------------------------------------------------------------------------------

    def start(
        self,
        team_id: str,
        user_id: str,
        channel_id: str,
        bank_ref: str | None,
        respond: Respond,
        started_note: StartedNote | None = None,
        full: bool = False,
    ) -> None:
        """Start an assessment unless one is in progress; says what happened either way. The report comes
        to `channel_id` too, unless that is the DM itself. `full` asks every question that applies;
        otherwise only those that can still change a level, with the offer to stop once the overall level
        is settled."""
        try:
            bank = self.catalog.by_id(bank_ref or self.default_bank)
        except UnknownBank as error:
            say(respond, blocks.escape(str(error)))
            return
        respondent = Respondent(team_id=team_id, user_id=user_id)
        try:
            existing = self.store.get(respondent)
        except StoreUnavailable:
            say(respond, UNAVAILABLE)
            return
        start_over = SessionButton(u=user_id, b=bank.id, m="full" if full else None)
        if existing is not None and not is_finished(existing):
            self._offer_resume(existing, start_over, respond)
            return
        self.begin(
            respondent,
            bank,
            channel_id,
            may_replace=is_finished,
            respond=respond,
            started_note=started_note or (full_started_text if full else started_text),
            asking=EVERY_QUESTION if full else PERSONAL,
            start_over=start_over,
        )

    def begin(
        self,
        respondent: Respondent,
        bank: QuestionBank,
        origin_channel: str | None,
        may_replace: Callable[[SessionRecord], bool],
        respond: Respond,
        started_note: StartedNote = started_text,
        asking: Asking = PERSONAL,
        start_over: SessionButton | None = None,
    ) -> None:
        """Open the DM, store a fresh conversation asked as `asking` in one atomic step (unless the
        session there may not be replaced) and post its first question; tells the person how it went.
        Should a session stay, the notice's Start over button is `start_over` (by default, `bank`)."""
        user_id = respondent.user_id
        try:
            record, first = new_session(respondent, bank, origin_channel, asking)
        except NothingLeftOut:
            say(respond, "Every question that applies is answered already, so there is nothing to ask.")
            return
        try:
            first_question = blocks.question_message(
                bank, first, user_id, record.session_id, respondent.run_id
            )
            record.dm_channel = self.client.conversations_open(users=user_id)["channel"]["id"]
        except SLACK_FAILURES as error:
            say(
                respond,
                f":warning: I couldn't start the assessment: {why_undelivered(error)}. "
                f"Nothing was started; try `{blocks.COMMAND}` again in a minute.",
            )
            return
        try:
            stayed = self.store.start(record, may_replace)
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        except RunSessionClosed:
            say(respond, RUN_CLOSED)
            return
        if stayed is not None:
            self._offer_resume(stayed, start_over or SessionButton(u=user_id, b=bank.id), respond)
            return
        try:
            posted = self.client.chat_postMessage(channel=record.dm_channel, **first_question.as_kwargs())
        except SLACK_FAILURES as error:
            say(
                respond,
                f":warning: Your assessment is ready, but I couldn't post its first question: "
                f"{why_undelivered(error)}.{resume_hint(error)}",
            )
            return
        remember_message(self.store, respondent, record.session_id, record.dm_channel, posted["ts"])
        log.info("assessment started", extra={"team": respondent.team_id, "bank": bank.id})
        say(respond, started_note(bank))

    def _offer_resume(self, existing: SessionRecord, requested: SessionButton, respond: Respond) -> None:
        """The notice that an assessment is in progress: Resume it, or Start over with what was asked for
        (`requested`), replacing this session only."""
        conversation = Conversation.from_dict(existing.conversation)
        done = progress(self.catalog, conversation).text
        start_over = requested.model_copy(update={"s": existing.session_id})
        ephemeral(respond, blocks.in_progress_message(existing.respondent.user_id, done, start_over))

    def resume(self, team_id: str, user_id: str, respond: Respond, run_id: str | None = None) -> None:
        """Send the current question again; after the last answer, send the report again."""
        respondent = Respondent(team_id=team_id, user_id=user_id, run_id=run_id)
        nothing_in_progress = f"You have no assessment in progress. Type `{blocks.COMMAND}` to start one."
        try:
            record = self.store.get(respondent)
            if record is None:
                say(respond, nothing_in_progress)
                return
            conversation = Conversation.from_dict(record.conversation)
            bank = bank_for(self.catalog, conversation)
            prompt = prompt_for(conversation, bank)
        except StoreUnavailable:
            say(respond, UNAVAILABLE)
            return
        except CorruptState:
            say(respond, nothing_in_progress)
            return
        except BankChanged as error:
            if conversation.finished:
                say(respond, nothing_in_progress)
            else:
                ephemeral(respond, bank_changed(user_id, error, record.session_id if record else None))
            return
        if not isinstance(prompt, AskQuestion | OfferStop | ShowReport):
            say(respond, nothing_in_progress)
            return
        what = {
            AskQuestion: "your current question",
            OfferStop: "your settled overall level, with the choice to stop or keep going,",
            ShowReport: "your report",
        }[type(prompt)]
        try:
            if isinstance(prompt, AskQuestion):
                message = blocks.question_message(bank, prompt, user_id, record.session_id, run_id)
            elif isinstance(prompt, OfferStop):
                message = self._offer_message(bank, prompt, record, conversation)
            else:
                owner_offer = left_out_offer(bank, conversation.answers, user_id, record.result_id)
                message = blocks.report_message(prompt.report, user_id, owner_offer)
            dm_channel = record.dm_channel or self.client.conversations_open(users=user_id)["channel"]["id"]
            posted = self.client.chat_postMessage(channel=dm_channel, **message.as_kwargs())
        except SLACK_FAILURES as error:
            say(
                respond,
                f":warning: I couldn't send {what} again: {why_undelivered(error)}. "
                "Nothing you answered was lost.",
            )
            return
        if isinstance(prompt, ShowReport):
            say(respond, "Your last assessment is complete; I've sent its report to our DM again.")
        else:
            remember_message(self.store, respondent, record.session_id, dm_channel, posted["ts"])
            say(respond, f"I've sent {what.rstrip(',')} to our DM again.")

    def cancel(self, team_id: str, user_id: str, respond: Respond) -> None:
        respondent = Respondent(team_id=team_id, user_id=user_id)
        try:
            record = self.store.get(respondent)
            if record is None or is_finished(record):
                say(respond, "You have no assessment in progress.")
                return
            applied = self._apply(respondent, record.session_id, Cancel(), record.message_ts)
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        except BankChanged as error:
            ephemeral(respond, bank_changed(user_id, error, record.session_id if record else None))
            return
        except InvalidEvent:
            say(respond, "You have no assessment in progress.")
            return
        try:
            self._show(applied, applied.record.dm_channel, applied.record.message_ts)
        except SLACK_FAILURES as error:
            say(
                respond,
                f"Your assessment is cancelled, but I couldn't mark its question in our DM: "
                f"{why_undelivered(error)}.",
            )
            return
        say(respond, "Your assessment is cancelled.")

    # Clicks --------------------------------------------------------------------------------------

    def click(self, click: BlockAction, respond: Respond) -> None:
        team_id, clicker = click.team_id, click.user_id
        channel_id, message_ts = click.shown_in, click.message_ts
        try:
            button = QuestionButton.decode(click.value)
            if button.u != clicker:
                say(
                    respond,
                    f"This assessment belongs to someone else; yours starts with `{blocks.COMMAND}`.",
                )
                return
            event = self._event_for(click.action_id, button)
        except InvalidButton:
            say(respond, UNRECOGNISED_BUTTON)
            return
        respondent = Respondent(team_id=team_id, user_id=clicker, run_id=button.r)
        try:
            applied = self._apply(respondent, button.s, event, message_ts, click.action_ts, button.n)
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        except BankChanged as error:
            ephemeral(respond, bank_changed(clicker, error, button.s))
            return
        except RunEnded:
            say(respond, RUN_CLOSED)
            return
        except NoSessionKept:
            ephemeral(respond, self._lost_message(clicker, button))
            return
        except InvalidEvent as error:
            say(respond, self._refusal_text(error))
            return
        try:
            self._show(applied, channel_id, message_ts)
        except SLACK_FAILURES as error:
            say(respond, self._show_failed_text(applied, event, error))
        if isinstance(applied.transition.prompt, ShowReport):
            # After the person was shown that the report is on its way: it may be posted right here.
            self._hand_over_report(applied)

    def session_button(self, click: BlockAction, respond: Respond, start_over: bool) -> None:
        team_id, clicker = click.team_id, click.user_id
        try:
            button = SessionButton.decode(click.value)
        except InvalidButton:
            say(respond, UNRECOGNISED_BUTTON)
            return
        if button.u != clicker:
            say(respond, "That button belongs to someone else's assessment.")
            return
        if not start_over:
            self.resume(team_id, clicker, respond, run_id=button.r)
            return
        self._start_from(click, button, respond)

    def _start_from(self, click: BlockAction, button: SessionButton, respond: Respond) -> None:
        """Start what a start button names: its bank, as a full run or not, or the questions a result
        left out."""
        team_id, clicker = click.team_id, click.user_id
        respondent = Respondent(team_id=team_id, user_id=clicker)
        try:
            existing = self.store.get(respondent)
            if button.i is not None:
                asked = self._left_out_run(team_id, clicker, button.i, respond)
                if asked is None:
                    return
                bank, asking, origin = asked
            else:
                bank = self.catalog.by_id(button.b or self.default_bank)
                asking = EVERY_QUESTION if button.m == "full" else PERSONAL
                # Clicked in a channel (the in-progress notice): the report goes there. Clicked in the DM
                # (the bank-changed notice): it goes where the first assessment was started.
                clicked_in = click.channel_id
                in_dm = existing is not None and clicked_in == existing.dm_channel
                origin = (existing.origin_channel if existing and in_dm else None) or clicked_in
        except UnknownBank as error:
            say(respond, blocks.escape(str(error)))
            return
        except StoreUnavailable:
            say(respond, UNAVAILABLE)
            return

        def may_replace(current: SessionRecord) -> bool:
            # A button that names its session replaces that one only: a second click finds the session
            # the first click started, and leaves it be. A report's button names none, and replaces no
            # assessment under way.
            if is_finished(current) or current.session_id == button.s:
                return True
            return button.s is None and button.i is None

        self.begin(
            respondent,
            bank,
            origin,
            may_replace=may_replace,
            respond=respond,
            started_note=_started_note_for(button),
            asking=asking,
            start_over=button.model_copy(update={"s": None}),
        )

    def answer_left_out(self, click: BlockAction, respond: Respond) -> None:
        """A report's *Answer the N left out*, by its owner: a full run that starts from that result's
        answers, so it asks only the questions left out; its report goes where the result's did. Refused
        while another assessment is in progress (the notice offers to resume it or start this instead)."""
        try:
            button = SessionButton.decode(click.value)
        except InvalidButton:
            say(respond, UNRECOGNISED_BUTTON)
            return
        if button.i is None:
            say(respond, UNRECOGNISED_BUTTON)
            return
        if button.u != click.user_id:
            say(respond, "That button belongs to someone else's report, so nothing was started.")
            return
        self._start_from(click, button, respond)

    def _left_out_run(
        self, team_id: str, user_id: str, result_id: str, respond: Respond
    ) -> tuple[QuestionBank, Asking, str | None] | None:
        """The bank, the asking and the report's channel of a run over the questions a result left out;
        None (the person told why) when that result or its bank version is gone."""
        result = self.store.result(team_id, result_id)
        if result is None or result.respondent.user_id != user_id:
            say(respond, "That result is no longer kept, so there is nothing to start from.")
            return None
        bank = self.catalog.by_id(result.bank_id)
        if bank.version != result.bank_version:
            say(
                respond,
                f"That result was answered on {blocks.escape(result.bank_id)} v"
                f"{blocks.escape(result.bank_version)}, and the bank is now v{blocks.escape(bank.version)}, "
                f"so its answers don't fit the current questions. Type `{blocks.COMMAND} start full "
                f"{blocks.escape(bank.id)}` to answer every question.",
            )
            return None
        return bank, left_out_asking(result.answers), result.origin_channel

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
        if action_id == KEEP_GOING_ACTION:
            return KeepGoing()
        if action_id == STOP_HERE_ACTION:
            return StopHere()
        raise InvalidButton(f"unknown action {action_id!r}")

    def _apply(
        self,
        respondent: Respondent,
        session_id: str,
        event: Event,
        message_ts: str | None,
        answered_at: float | None = None,
        shown_at: int | None = None,
    ) -> Applied:
        return apply(
            self.store,
            self.catalog,
            respondent,
            session_id,
            event,
            message_ts,
            self.run_hook,
            pending_delivery=True,
            answered_at=answered_at,
            shown_at=shown_at,
        )

    @staticmethod
    def _offer_message(
        bank: QuestionBank, offer: OfferStop, record: SessionRecord, conversation: Conversation
    ) -> blocks.Message:
        """The offer to stop, its buttons bound to this session at this revision; Back returns to the
        question answered last."""
        last = bank.questions[conversation.asked[-1]].id if conversation.asked else None
        buttons = QuestionButton(
            u=record.respondent.user_id,
            s=record.session_id,
            q=last,
            r=record.respondent.run_id,
            n=conversation.revision,
        )
        return blocks.offer_stop_message(bank, offer, buttons)

    def _show(self, applied: Applied, channel: str | None, message_ts: str | None) -> None:
        """Show what the transition leads to in place of the clicked message. Raises one of
        SLACK_FAILURES when the person could not be shown it."""
        prompt = applied.transition.prompt
        owner = applied.record.respondent.user_id
        if channel is None or message_ts is None:
            return
        if isinstance(prompt, AskQuestion):
            run_id = applied.record.respondent.run_id
            message = blocks.question_message(applied.bank, prompt, owner, applied.record.session_id, run_id)
            self.client.chat_update(channel=channel, ts=message_ts, **message.as_kwargs())
        elif isinstance(prompt, OfferStop):
            message = self._offer_message(applied.bank, prompt, applied.record, applied.transition.state)
            self.client.chat_update(channel=channel, ts=message_ts, **message.as_kwargs())
        elif isinstance(prompt, ShowReport):
            self.client.chat_update(
                channel=channel, ts=message_ts, **blocks.answered_message(REPORT_ON_ITS_WAY).as_kwargs()
            )
        elif isinstance(prompt, ShowCancelled | ShowExpired):
            text = (
                f"Assessment cancelled: {prompt.answered_text}. "
                f"Type `{blocks.COMMAND}` whenever you want to start again."
            )
            self.client.chat_update(
                channel=channel, ts=message_ts, **blocks.answered_message(text).as_kwargs()
            )

    def _hand_over_report(self, applied: Applied) -> None:
        """The result and its pending delivery are stored: hand the delivery to `reports`."""
        assert applied.record.result_id is not None
        hand_over(
            self.reports, DeliveryRef(applied.record.respondent.team_id, "personal", applied.record.result_id)
        )

    @staticmethod
    def _show_failed_text(applied: Applied, event: Event, error: Exception) -> str:
        """What is true after the click was applied but its result could not be shown."""
        prompt = applied.transition.prompt
        reason = why_undelivered(error)
        if isinstance(prompt, ShowReport):
            return (
                ":warning: Your assessment is complete and its result is saved, but I couldn't show the "
                f"report: {reason}.{resume_hint(error)}"
            )
        if isinstance(prompt, ShowCancelled | ShowExpired):
            return f"Your assessment is cancelled, but I couldn't update its message: {reason}."
        if isinstance(event, Back):
            done = "You're back on the previous question, but I couldn't show it"
        elif isinstance(event, KeepGoing):
            done = "You're going on past your settled overall level, but I couldn't show the next question"
        elif isinstance(prompt, OfferStop):
            done = "Your answer is saved and your overall level is settled, but I couldn't show it"
        else:
            done = "Your answer is saved, but I couldn't show the next question"
        return f":warning: {done}: {reason}.{resume_hint(error)}"

    def _lost_message(self, clicker: str, button: QuestionButton) -> blocks.Message:
        """The click's assessment is gone from the store: say so, and offer a fresh one on the same bank
        (a team run member takes part again from the run's message instead)."""
        gone = (
            ":warning: I no longer have this assessment, so nothing was changed: it ran out of time "
            "unanswered, or its answers were lost on our side. I'm sorry."
        )
        if button.r is not None:
            return blocks.text_message(f"{gone} Click *Take part* on the team run's message to start again.")
        bank = next((b for b in self.catalog.banks if any(q.id == button.q for q in b.questions)), None)
        fresh = SessionButton(u=clicker, b=bank.id if bank else None, s=button.s)
        return blocks.text_with_button(
            f"{gone} Start a new one here, or with `{blocks.COMMAND}`.",
            "Start a new assessment",
            START_OVER_ACTION,
            fresh.encode(),
        )

    @staticmethod
    def _refusal_text(error: InvalidEvent) -> str:
        if isinstance(error, OutdatedMessage | NoStopOffered):
            return (
                "That offer to stop was answered already, so nothing changed; carry on with the latest "
                "message."
            )
        if isinstance(error, StaleQuestion | SessionMismatch | NothingToGoBackTo):
            return "That button is from an earlier question, so nothing changed; carry on with the latest."
        if isinstance(error, ConversationFinished):
            return f"This assessment is already {error.phase.value.lower()}; nothing was changed."
        if isinstance(error, UnknownOption):
            return "That option isn't offered for this question, so nothing was changed."
        return "That didn't fit this assessment, so nothing was changed."

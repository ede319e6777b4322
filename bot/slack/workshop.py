"""Team workshops in Slack: translates `/mlops-compass workshop [bank]` and the workshop's buttons into the
use cases of ``bot.usecases.workshops`` and presents what they return.

The workshop's message goes in the channel and each question in its thread. Listeners acknowledge Slack
first and call in here afterwards; every refusal is an ephemeral note to the person who clicked and
changes nothing. A finished workshop's report is a pending delivery in the outbox, handed to `reports`
(the worker), which posts it with the agenda of where the team disagreed in its thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine import workshop as rules
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.slack import blocks, workshop_blocks
from bot.slack.delivery.run import ReportQueue, Steps, Undeliverable, hand_over
from bot.slack.follow_ups import FollowUps
from bot.slack.membership import RecentMembers, is_channel_member, not_a_member_text
from bot.slack.payloads import BlockAction
from bot.slack.reminders import in_workspace
from bot.slack.replies import (
    CHANNEL_REFUSALS,
    SLACK_FAILURES,
    UNRECOGNISED_BUTTON,
    Respond,
    ephemeral,
    say,
    slack_error_code,
    store_trouble_text,
    why_undelivered,
)
from bot.slack.values import InvalidButton
from bot.slack.workshop_blocks import WorkshopButton
from bot.slack.workspace_client import WorkspaceTokens
from bot.store.history import HistoryStore
from bot.store.outbox import Delivery
from bot.store.sessions import StoreUnavailable
from bot.store.team_runs import FORGOTTEN
from bot.store.transactions import TooManyConcurrentChanges
from bot.store.workshops import (
    StaleWorkshop,
    UnknownWorkshop,
    WorkshopAlreadyOpen,
    WorkshopClosed,
    WorkshopRecord,
    WorkshopStore,
)
from bot.usecases import workshops as usecases
from bot.usecases.personal import STORE_TROUBLE
from bot.usecases.team_count import FOLLOW_UP_MARGIN_SECONDS
from bot.usecases.workshops import NotFacilitator, TeamAnswerChanged, WorkshopBankGone, WorkshopRef

log = logging.getLogger(__name__)

IN_A_DM = "A workshop needs the channel its team is in: type `/mlops-compass workshop` there."
NOT_IN_CHANNEL = (
    "I can't post in this channel yet, so no workshop was started. Invite me with "
    "`/invite @MLOps Compass` and try again."
)
JUST_SETTLED = (
    "That question was just settled, so your vote wasn't counted; vote on the open one in the thread."
)
PAUSED = "The workshop is paused, so nothing was changed; the facilitator resumes it."
# As a team run's live count: at most one update of a question's votes each window.
DEFAULT_REFRESH_SECONDS = 3.0
CLOSED = "This workshop is closed, so nothing was changed; its report is in the channel."

# What a step may refuse with: each is told to the person who clicked, and nothing changes.
REFUSALS: tuple[type[Exception], ...] = (
    NotFacilitator,
    TeamAnswerChanged,
    rules.InvalidWorkshopEvent,
    WorkshopClosed,
    WorkshopBankGone,
    UnknownWorkshop,
    *STORE_TROUBLE,
)

# A step of the facilitator's: (workshop, who clicked, the question the button was shown with, the
# button) -> the workshop as stored after it.
FacilitatorStep = Callable[[WorkshopRef, str, WorkshopButton], WorkshopRecord]


class WorkshopFlow:
    def __init__(
        self,
        store: WorkshopStore,
        catalog: BankCatalog,
        client: WebClient,
        default_bank: str,
        history: HistoryStore,
        *,
        reports: ReportQueue,
        clock: Callable[[], float] = time.time,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        voters: RecentMembers | None = None,
    ):
        """Votes are shown on their question's message at most once per `refresh_seconds`, the latest
        at the end of the window."""
        self.store = store
        self.catalog = catalog
        self.client = client
        self.default_bank = default_bank
        self.history = history
        self.reports = reports
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._follow_ups = FollowUps()
        self.voters = voters if voters is not None else RecentMembers()

    # The command ----------------------------------------------------------------------------------

    def start(
        self, team_id: str, user_id: str, channel_id: str, bank_id: str | None, respond: Respond
    ) -> None:
        if channel_id.startswith("D"):
            say(respond, IN_A_DM)
            return
        if not is_channel_member(self.client, user_id, channel_id):
            say(respond, not_a_member_text(channel_id, "start a workshop there"))
            return
        try:
            workshop = usecases.open_workshop(
                self.store,
                self.catalog,
                bank_id or self.default_bank,
                team_id,
                channel_id,
                user_id,
                self.clock(),
            )
        except UnknownBank as error:
            say(respond, blocks.escape(str(error)))
            return
        except WorkshopAlreadyOpen as refused:
            say(
                respond,
                f"A workshop is already open in this channel, facilitated by "
                f"{workshop_blocks.who(refused.workshop.facilitator_id)}, so no other was started: "
                "its open question is in its thread.",
            )
            return
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        bank = self.catalog.by_id(workshop.bank_id)
        state = usecases.state_of(workshop)
        try:
            posted = self.client.chat_postMessage(
                channel=channel_id, **workshop_blocks.workshop_message(workshop, bank, state).as_kwargs()
            )
        except SLACK_FAILURES as error:
            self._discard(workshop, user_id)
            code = slack_error_code(error) if isinstance(error, SlackApiError) else None
            if code in CHANNEL_REFUSALS:
                say(respond, NOT_IN_CHANNEL)
            else:
                say(
                    respond,
                    f":warning: I couldn't post the workshop: {why_undelivered(error)}. "
                    "No workshop was started.",
                )
            return
        workshop = usecases.remember_message(self.store, workshop, str(posted["ts"]))
        self._post_open_question(workshop, bank, state)
        log.info("workshop opened", extra={"team": team_id, "bank": bank.id})
        ephemeral(respond, workshop_blocks.opened_note())

    def _discard(self, workshop: WorkshopRecord, user_id: str) -> None:
        """A workshop whose message never reached the channel: closed, with nothing to report."""
        try:
            self.store.close(workshop.team_id, workshop.workshop_id, user_id)
        except (WorkshopClosed, StoreUnavailable, TooManyConcurrentChanges) as error:
            log.warning("could not close an unposted workshop: %s", error)

    def _post_open_question(
        self, workshop: WorkshopRecord, bank: QuestionBank, state: rules.WorkshopState
    ) -> None:
        question = rules.next_question(bank, state)
        if question is None or workshop.thread_ts is None:
            return
        message = workshop_blocks.question_message(workshop, bank, state, question)
        self.client.chat_postMessage(
            channel=workshop.channel_id, thread_ts=workshop.thread_ts, **message.as_kwargs()
        )

    # Votes ----------------------------------------------------------------------------------------

    def vote(self, click: BlockAction, respond: Respond) -> None:
        """A member's vote: counted (the message shows it with their name), or refused with a note."""
        button = self._button(click, respond)
        if button is None or button.answer is None:
            return
        channel_id = click.shown_in
        if channel_id is None or not self.voters.is_member(
            self.client, click.team_id, click.user_id, channel_id
        ):
            say(respond, not_a_member_text(channel_id or "this channel", "vote in its workshop"))
            return
        ref = WorkshopRef(click.team_id, button.workshop_id)
        # Before the vote's transaction, where its update may claim the window: see _shown_in_time.
        claimed_by = time.monotonic()
        try:
            voted = usecases.vote(
                self.store,
                self.catalog,
                ref,
                button.question_id,
                click.user_id,
                button.answer,
                self.refresh_seconds,
                self.clock(),
            )
        except (rules.NotTheOpenQuestion, StaleWorkshop):
            say(respond, JUST_SETTLED)
            return
        except REFUSALS as error:
            self._refused(error, respond)
            return
        if click.message_ts is None:
            return
        if voted.update.show_now:
            # The vote's own record is the latest then.
            self._show_votes(voted.workshop, button.question_id, channel_id, click.message_ts, claimed_by)
        elif voted.update.follow_up_in is not None:
            self._schedule_votes(
                voted.update.follow_up_in, ref, button.question_id, channel_id, click.message_ts
            )

    # The live votes, throttled ----------------------------------------------------------------------

    def _show_votes(
        self, workshop: WorkshopRecord, question_id: str, channel_id: str, ts: str, claimed_by: float
    ) -> None:
        """Show the votes on the question's message, under the window claimed at or after `claimed_by`
        (a monotonic time)."""
        self._show_open_question(workshop, channel_id, ts)
        if not self._shown_in_time(claimed_by):
            ref = WorkshopRef(workshop.team_id, workshop.workshop_id)
            self._show_as_it_stands(ref, question_id, channel_id, ts, shown=workshop)

    def _shown_in_time(self, claimed_by: float) -> bool:
        """Whether an update whose window was claimed after `claimed_by` reached Slack before the window
        ended. A step that takes the question off the table while the window runs shows what became of
        it again once the window has ended (``_after_votes_shown``), so such an update cannot stay over
        it; a slower one checks for itself, at a round trip more. The same holds for a pause or a hand over,
        which keep the question but change its controls."""
        return time.monotonic() - claimed_by < self.refresh_seconds

    def _show_as_it_stands(
        self,
        ref: WorkshopRef,
        question_id: str,
        channel_id: str,
        ts: str,
        shown: WorkshopRecord | None = None,
    ) -> None:
        """A step (settle, skip, back, pause, resume, hand over) that raced the vote's update may have
        shown its message first: show the question's message again as the workshop stands now, so that it
        is what stays. After a vote's own update (`shown`, the record it showed), only when a step came
        between: newer votes alone are the throttle's to show."""
        try:
            current = usecases.find_workshop(self.store, ref.team_id, ref.workshop_id)
        except STORE_TROUBLE as error:
            log.warning("could not check a workshop question after its votes were shown: %s", error)
            return
        if current is None or (shown is not None and not usecases.stepped_since(shown, current)):
            return
        message = self._question_as_it_stands(current, question_id)
        if message is not None:
            self._update_message(channel_id, ts, message)

    def _question_as_it_stands(self, workshop: WorkshopRecord, question_id: str) -> blocks.Message | None:
        """The message of `question_id` for `workshop` as stored: what became of it once the workshop moved
        on, its votes and controls (paused or not) while it is open; None once the workshop closed on it
        (closed at its deadline, its message stays as it was)."""
        bank = self.catalog.by_id(workshop.bank_id)
        state = usecases.state_of(workshop)
        if state.open_question != question_id:
            question = bank.question(question_id)
            note = workshop_blocks.settled_note(question, state, workshop_blocks.who(workshop.facilitator_id))
            return workshop_blocks.settled_message(question, state, note)
        return self._open_question_message(workshop, bank, state) if workshop.is_open else None

    def _after_votes_shown(self, ref: WorkshopRef, question_id: str, channel_id: str, ts: str) -> None:
        """After a step changed what `question_id`'s message shows: an update of its votes claimed before
        the step may reach Slack after the step's own message; once its window has ended, show the question
        as it stands again."""
        try:
            within = usecases.votes_shown_within(self.store, ref, question_id)
        except STORE_TROUBLE as error:
            log.warning("could not read a workshop question's votes window: %s", error)
            return
        if within > 0:
            self._follow_ups.schedule(
                within + FOLLOW_UP_MARGIN_SECONDS,
                lambda: self._show_as_it_stands(ref, question_id, channel_id, ts),
            )

    def _votes_when_due(self, ref: WorkshopRef, question_id: str, channel_id: str, ts: str) -> None:
        try:
            claimed_by = time.monotonic()
            update = usecases.votes_follow_up(self.store, ref, question_id, self.refresh_seconds)
            if update.show_now:
                # Read now: every vote since the one that scheduled this follow-up is in it.
                latest = usecases.still_voting(self.store, ref, question_id)
                if latest is not None:
                    self._show_votes(latest, question_id, channel_id, ts, claimed_by)
            elif update.follow_up_in is not None:
                self._schedule_votes(update.follow_up_in, ref, question_id, channel_id, ts)
        except STORE_TROUBLE as error:
            log.warning("could not update a workshop question's votes: %s", error)

    def _schedule_votes(
        self, delay_seconds: float, ref: WorkshopRef, question_id: str, channel_id: str, ts: str
    ) -> None:
        self._follow_ups.schedule(
            delay_seconds, lambda: self._votes_when_due(ref, question_id, channel_id, ts)
        )

    def stop(self) -> None:
        """Cancel the scheduled vote updates and wait for any that are running (a test's clean-up; a
        process that stops without this leaves the votes to the next vote or the settle)."""
        self._follow_ups.stop()

    # The facilitator's steps ------------------------------------------------------------------------

    def settle(self, click: BlockAction, respond: Respond) -> None:
        """*Team answer: …*: the answer the button said, refused when the votes moved since."""
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.settle(
                self.store, self.catalog, ref, user, b.question_id, shown_default=b.answer, now=self.clock()
            ),
        )

    def settle_as(self, click: BlockAction, respond: Respond) -> None:
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.settle(
                self.store, self.catalog, ref, user, b.question_id, b.answer, now=self.clock()
            ),
        )

    def skip(self, click: BlockAction, respond: Respond) -> None:
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.skip(
                self.store, self.catalog, ref, user, b.question_id, self.clock()
            ),
        )

    def back(self, click: BlockAction, respond: Respond) -> None:
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.back(self.store, self.catalog, ref, user, self.clock()),
        )

    def pause(self, click: BlockAction, respond: Respond) -> None:
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.pause(self.store, self.catalog, ref, user, self.clock()),
        )

    def resume(self, click: BlockAction, respond: Respond) -> None:
        self._facilitate(
            click,
            respond,
            lambda ref, user, b: usecases.resume(self.store, self.catalog, ref, user, self.clock()),
        )

    def hand_over(self, click: BlockAction, respond: Respond) -> None:
        """The users menu: facilitation goes to the member chosen."""
        new = click.value
        channel_id = click.shown_in
        if not new or channel_id is None:
            say(respond, UNRECOGNISED_BUTTON)
            return
        try:
            workshop = self.store.open_in(click.team_id, channel_id)
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        if workshop is None:
            say(respond, CLOSED)
            return
        if not is_channel_member(self.client, new, channel_id):
            say(
                respond,
                not_a_member_text(channel_id, f"facilitate its workshop ({workshop_blocks.who(new)} can't)"),
            )
            return
        ref = WorkshopRef(workshop.team_id, workshop.workshop_id)
        try:
            changed = usecases.hand_over(self.store, self.catalog, ref, click.user_id, new, self.clock())
        except REFUSALS as error:
            self._refused(error, respond)
            return
        self._show_question(changed, click)
        say(respond, f"{workshop_blocks.who(new)} facilitates the workshop now.")
        open_question = usecases.state_of(changed).open_question
        if open_question is not None and click.message_ts is not None:
            self._after_votes_shown(ref, open_question, channel_id, click.message_ts)

    def _facilitate(self, click: BlockAction, respond: Respond, step: FacilitatorStep) -> None:
        button = self._button(click, respond)
        if button is None:
            return
        before_question = button.question_id
        ref = WorkshopRef(click.team_id, button.workshop_id)
        try:
            try:
                workshop = step(ref, click.user_id, button)
            except NotFacilitator as refused:
                if not self._took_over(refused, ref, click, respond):
                    raise
                workshop = step(ref, click.user_id, button)
        except rules.NotTheOpenQuestion:
            say(respond, "That question was settled already (by another click), so nothing was changed.")
            return
        except REFUSALS as error:
            self._refused(error, respond)
            return
        state = usecases.state_of(workshop)
        if state.open_question == before_question:
            self._show_question(workshop, click)
        else:
            self._moved_on(workshop, state, before_question, click)
        if click.shown_in is not None and click.message_ts is not None:
            self._after_votes_shown(ref, before_question, click.shown_in, click.message_ts)

    def _took_over(
        self, refused: NotFacilitator, ref: WorkshopRef, click: BlockAction, respond: Respond
    ) -> bool:
        """Whether the clicker, a member of the channel, has just taken on a workshop whose facilitator
        asked to be forgotten."""
        channel_id = click.shown_in
        if refused.facilitator_id != FORGOTTEN or channel_id is None:
            return False
        if not is_channel_member(self.client, click.user_id, channel_id):
            return False
        usecases.take_over(self.store, self.catalog, ref, click.user_id, self.clock())
        say(respond, "This workshop's facilitator asked to be forgotten, so you facilitate it now.")
        return True

    def _moved_on(
        self, workshop: WorkshopRecord, state: rules.WorkshopState, before: str, click: BlockAction
    ) -> None:
        """The open question changed: its old message shows what became of it; the new one is posted."""
        bank = self.catalog.by_id(workshop.bank_id)
        note = workshop_blocks.settled_note(bank.question(before), state, workshop_blocks.who(click.user_id))
        self._update(click, workshop_blocks.settled_message(bank.question(before), state, note))
        if not workshop.is_open:
            self._hand_report(workshop)
            return
        try:
            self._post_open_question(workshop, bank, state)
        except SLACK_FAILURES as error:
            log.warning("could not post a workshop question: %s", why_undelivered(error))
        self._show_parent(workshop, bank, state)

    # Presenting -------------------------------------------------------------------------------------

    def _button(self, click: BlockAction, respond: Respond) -> WorkshopButton | None:
        try:
            return WorkshopButton.decode(click.value)
        except InvalidButton:
            say(respond, UNRECOGNISED_BUTTON)
            return None

    def _refused(self, error: Exception, respond: Respond) -> None:
        if isinstance(error, NotFacilitator):
            say(
                respond,
                f"Only the facilitator ({workshop_blocks.who(error.facilitator_id)}) can do that, so nothing "
                "was changed. Vote with the Vote buttons.",
            )
        elif isinstance(error, TeamAnswerChanged):
            say(
                respond,
                "Votes came in since that button was shown, so nothing was settled: look again and click.",
            )
        elif isinstance(error, rules.WorkshopPaused):
            say(respond, PAUSED)
        elif isinstance(error, (WorkshopClosed, rules.WorkshopFinished)):
            say(respond, CLOSED)
        elif isinstance(error, (rules.InvalidWorkshopEvent, WorkshopBankGone)):
            say(respond, f"{blocks.escape(str(error))}, so nothing was changed.")
        elif isinstance(error, STORE_TROUBLE):
            say(respond, store_trouble_text(error))
        elif isinstance(error, UnknownWorkshop):
            say(respond, UNRECOGNISED_BUTTON)
        else:
            raise error

    def _show_question(self, workshop: WorkshopRecord, click: BlockAction) -> None:
        """The clicked question's message with the workshop as stored (its live votes, with names)."""
        if click.shown_in is not None and click.message_ts is not None:
            self._show_open_question(workshop, click.shown_in, click.message_ts)

    def _show_open_question(self, workshop: WorkshopRecord, channel_id: str, ts: str) -> None:
        bank = self.catalog.by_id(workshop.bank_id)
        message = self._open_question_message(workshop, bank, usecases.state_of(workshop))
        if message is not None:
            self._update_message(channel_id, ts, message)

    def _open_question_message(
        self, workshop: WorkshopRecord, bank: QuestionBank, state: rules.WorkshopState
    ) -> blocks.Message | None:
        question = rules.next_question(bank, state)
        return workshop_blocks.question_message(workshop, bank, state, question) if question else None

    def _update(self, click: BlockAction, message: blocks.Message) -> None:
        if click.shown_in is not None and click.message_ts is not None:
            self._update_message(click.shown_in, click.message_ts, message)

    def _update_message(self, channel_id: str, ts: str, message: blocks.Message) -> None:
        try:
            self.client.chat_update(channel=channel_id, ts=ts, **message.as_kwargs())
        except SLACK_FAILURES as error:
            log.warning("could not update a workshop message: %s", why_undelivered(error))

    def _show_parent(self, workshop: WorkshopRecord, bank: QuestionBank, state: rules.WorkshopState) -> None:
        if workshop.message_ts is None:
            return
        message = workshop_blocks.workshop_message(workshop, bank, state)
        try:
            self.client.chat_update(
                channel=workshop.channel_id, ts=workshop.message_ts, **message.as_kwargs()
            )
        except SLACK_FAILURES as error:
            log.warning("could not update a workshop's message: %s", why_undelivered(error))

    # The clock's side ---------------------------------------------------------------------------

    def look_in(
        self, now: float, limit: int, workspaces: WorkspaceTokens | None = None, lease_seconds: float = 300.0
    ) -> usecases.LookReport:
        """Remind the facilitators of workshops idle for a day (each in its own workspace), and close those
        past their deadline (the worker posts their reports)."""

        def remind(workshop: WorkshopRecord) -> None:
            in_workspace(
                workspaces, workshop.team_id, lambda: self.remind_facilitator(workshop), lambda: None
            )

        return usecases.look_in_on_workshops(self.store, now, lease_seconds, limit, remind, self._hand_report)

    def remind_facilitator(self, workshop: WorkshopRecord) -> None:
        text = (
            f"The workshop in <#{workshop.channel_id}> has been quiet for a day: its open question waits in "
            "the thread of its message. Settle it, skip it, or pause the workshop; it closes with what was "
            "settled at its deadline."
        )
        try:
            dm = self.client.conversations_open(users=workshop.facilitator_id)["channel"]["id"]
            self.client.chat_postMessage(channel=dm, **blocks.text_message(text).as_kwargs())
        except SLACK_FAILURES as error:
            log.warning("could not remind a workshop's facilitator: %s", why_undelivered(error))

    def _hand_report(self, closed: WorkshopRecord) -> None:
        hand_over(self.reports, usecases.report_delivery(closed))

    # The report (the worker's delivery) -------------------------------------------------------------

    def deliver_report(self, delivery: Delivery, steps: Steps) -> str:
        """Post a finished workshop's report in its channel, where the team disagreed and what nobody knew
        in the report's thread, and keep the result in the channel's history; returns where."""
        ref = delivery.ref
        workshop = self.store.get(ref.team_id, ref.delivery_id)
        if workshop is None:
            return "nowhere: the workshop is gone"
        where = f"<#{workshop.channel_id}>"
        result = usecases.workshop_result(self.catalog, workshop)
        if steps.get("history") is None:
            usecases.keep_workshop_result(self.history, result)
            steps.record("history", "done")
        report = blocks.report_message(result.report)
        titled = blocks.Message(
            f"Team workshop report ({result.voters} voted): {report.text}",
            [
                {
                    "type": "section",
                    "block_id": "workshop-title",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*The team's report from the workshop* ({result.voters} voted, "
                        "answers settled together)",
                    },
                },
                *report.blocks[:49],
            ],
        )
        agenda = workshop_blocks.agenda_message(result.bank, result.disagreements, result.nobody_knew)
        try:
            ts = steps.post_once(self.client, "report", workshop.channel_id, titled.as_kwargs())
            steps.post_once(self.client, "agenda", workshop.channel_id, agenda.as_kwargs(), thread_ts=ts)
        except SLACK_FAILURES as error:
            raise Undeliverable(where, why_undelivered(error)) from error
        if steps.get("closed") is None:
            self._show_parent(workshop, result.bank, usecases.state_of(workshop))
            steps.record("closed", "done")
        return where

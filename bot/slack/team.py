"""Team runs in Slack: translates the team command and the run's buttons into the use cases of
``bot.usecases.team_runs`` and presents what they return. Each member's questions are the personal
assessment's own flow (``AssessmentFlow``), bound to the run by this class: its ``run_hook`` (the run's
writes in the transaction that finishes a member's assessment) and the ``run_follow_up`` of the member's
report (``PersonalReports``).

Listeners acknowledge Slack first and call in here afterwards. Every refusal is an ephemeral note to the
person who clicked and changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.team import MIN_RESPONDENTS
from bot.slack import blocks, history_blocks, reminders, team_blocks
from bot.slack.assessment import AssessmentFlow
from bot.slack.delivery.run import ReportQueue, Steps, Undeliverable, WorkerQueue, hand_over
from bot.slack.follow_ups import FollowUps
from bot.slack.membership import is_channel_member, not_a_member_text
from bot.slack.payloads import BlockAction
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
from bot.slack.team_blocks import TeamButton
from bot.slack.values import InvalidButton
from bot.slack.workspace_client import WorkspaceExecutor
from bot.store.history import HistoryStore
from bot.store.outbox import Delivery, Outbox
from bot.store.sessions import STORE_ERRORS, Respondent, SessionStore
from bot.store.team_runs import (
    RunAlreadyOpen,
    RunClosed,
    RunRecord,
    TeamRunStore,
    TooManyOpenRuns,
)
from bot.usecases import team_count
from bot.usecases import team_runs as usecases
from bot.usecases.history import keep_team_result
from bot.usecases.personal import STORE_TROUBLE, is_finished, member_asking
from bot.usecases.team_runs import ClosedRun, Member, RunBankChanged, RunRequest

log = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = 3.0
MEMBERS_PAGE_LIMIT = 200
USER_LOOKUP_THREADS = 8
IN_A_DM = (
    "A team run needs the channel its members are in: type `/mlops-compass team` there, and each member "
    "answers in their own DM."
)
NOT_IN_CHANNEL = (
    "I can't post in this channel yet, so no team run was started. Invite me with "
    "`/invite @MLOps Compass` and try again."
)
MEMBERS_FAILED = (
    "Slack didn't give me this channel's members just now, so nobody was messaged. Try again later."
)
NOTHING_STARTED = "No team run was started; try again in a minute."
NUDGE_NOT_SENT = {
    "closed": "The team run closed before I could nudge anyone, so nobody was messaged.",
    "members unknown": MEMBERS_FAILED,
}
# The worker's task for a nudge (bot/slack/app.py's `worker_tasks` runs it).
NUDGE = "nudge"


class TeamFlow:
    def __init__(
        self,
        runs: TeamRunStore,
        sessions: SessionStore,
        catalog: BankCatalog,
        assessments: AssessmentFlow,
        client: WebClient,
        default_bank: str,
        min_respondents: int = MIN_RESPONDENTS,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.time,
        history: HistoryStore | None = None,
        *,
        reports: ReportQueue,
        worker: WorkerQueue | None = None,
    ):
        """A closed run's report is stored as a pending delivery and handed to `reports`
        (bot/slack/delivery). A nudge is sent by `worker`, or here without one."""
        self.runs = runs
        self.sessions = sessions
        self.catalog = catalog
        self.assessments = assessments
        self.client = client
        self.default_bank = default_bank
        self.min_respondents = min_respondents
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        # The run's part in a member's finishing transaction (the run hook's RunWrites half).
        responses = usecases.RunResponses(clock, runs.limits)
        self.watched_keys = responses.watched_keys
        self.run_closed = responses.run_closed
        self.response_writes = responses.response_writes
        self.history = history  # where a closed run's result is kept: the channel's history
        self.reports = reports
        self.worker = worker
        self.outbox = Outbox(runs.redis)
        self._follow_ups = FollowUps()

    # The run hook: a member's assessment, bound to the run --------------------------------------------

    def response_delivered(self, respondent: Respondent, counted: bool, replaced: bool, dm: str) -> None:
        """Once a member's report is delivered: tell them what their answers did, and count them on the
        run's message (or close a run whose deadline has passed)."""
        if respondent.run_id is None:
            return
        try:
            run = usecases.find_run(self.runs, respondent.team_id, respondent.run_id)
        except STORE_TROUBLE as error:
            log.warning("team run follow-up failed: %s", error)
            return
        self._follow_up(run, counted, replaced, dm)

    def _follow_up(self, run: RunRecord | None, counted: bool, replaced: bool, dm: str | None) -> None:
        try:
            answered = usecases.after_response(self.runs, run, counted, self.clock(), self._hand_report)
            if answered is not None and run is not None:
                note = team_blocks.counted_note(run, answered, replaced)
                self.refresh_count(run.team_id, run.run_id)
            else:
                note = team_blocks.not_counted_note(run)
            if dm:
                self.client.chat_postMessage(channel=dm, **note.as_kwargs())
        except (*SLACK_FAILURES, *STORE_TROUBLE) as error:
            log.warning("team run follow-up failed: %s", error)

    # The command ----------------------------------------------------------------------------------

    def start(
        self, team_id: str, user_id: str, channel_id: str, request: RunRequest, respond: Respond
    ) -> None:
        if channel_id.startswith("D"):
            say(respond, IN_A_DM)
            return
        if not is_channel_member(self.client, user_id, channel_id):
            say(respond, not_a_member_text(channel_id, "start a team run there"))
            return
        try:
            bank = self.catalog.by_id(request.bank_id or self.default_bank)
        except UnknownBank as error:
            say(respond, blocks.escape(str(error)))
            return
        try:
            run = self._start_run(team_id, channel_id, user_id, bank, request.days)
        except RunAlreadyOpen as refused:
            ephemeral(respond, team_blocks.already_open_note(refused.run))
            return
        except TooManyOpenRuns as refused:
            say(respond, self._too_many_runs_text(team_id, refused))
            return
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        try:
            self._post_run_message(run, bank)
        except SLACK_FAILURES as error:
            # Told that nothing started, so nothing may stay open (a refused post is discarded already).
            if not isinstance(error, SlackApiError):
                usecases.discard_unposted(self.runs, run)
            code = slack_error_code(error) if isinstance(error, SlackApiError) else None
            if code in CHANNEL_REFUSALS:
                say(respond, NOT_IN_CHANNEL)
            else:
                say(
                    respond,
                    f":warning: I couldn't post the team run: {why_undelivered(error)}. {NOTHING_STARTED}",
                )
            return
        ephemeral(respond, team_blocks.opened_note(run))

    def _too_many_runs_text(self, team_id: str, refused: TooManyOpenRuns) -> str:
        runs = usecases.runs_by_id(self.runs, team_id, refused.run_ids)
        where = ", ".join(f"<#{run.channel_id}>" for run in runs)
        return (
            f"You have {len(refused.run_ids)} team runs open ({where}), the most one person may have at "
            "once, so no team run was started. Close one of them (its Close button), or wait for one to "
            "reach its deadline, and try again."
        )

    def _start_run(
        self, team_id: str, channel_id: str, starter_id: str, bank: QuestionBank, days: int
    ) -> RunRecord:
        return usecases.open_run(
            self.runs, bank, team_id, channel_id, starter_id, days, self.clock(), self._hand_report
        )

    def _post_run_message(self, run: RunRecord, bank: QuestionBank) -> str:
        """Post the run's message and remember it; a run whose message Slack refused is discarded, as
        nobody could ever see it. Returns the message's ts."""
        try:
            posted = self.client.chat_postMessage(
                channel=run.channel_id, **team_blocks.run_message(run, bank, 0).as_kwargs()
            )
        except SlackApiError:
            usecases.discard_unposted(self.runs, run)
            raise
        usecases.remember_message(self.runs, run, posted["ts"])
        log.info("team run opened", extra={"team": run.team_id, "bank": bank.id})
        return str(posted["ts"])

    # The clock's side: runs opened by a team schedule, and runs past their deadline ------------------

    def open_run(self, team_id: str, channel_id: str, starter_id: str, bank_id: str) -> reminders.Outcome:
        """A `team` schedule's reminder: a new run in the channel, started by the schedule's creator."""
        bank = self.catalog.by_id(bank_id)
        try:
            run = self._start_run(team_id, channel_id, starter_id, bank, usecases.DEFAULT_DAYS)
        except RunAlreadyOpen:
            return reminders.AlreadyOpen()
        except TooManyOpenRuns as refused:
            return reminders.NotPosted(
                f"its creator has {len(refused.run_ids)} team runs open, the most allowed"
            )
        try:
            return reminders.Posted(self._post_run_message(run, bank))
        except SlackApiError as error:
            return reminders.outcome_of(error)
        except SLACK_FAILURES as error:
            # No answer: the run stays open, so a retry finds it (AlreadyOpen) rather than opening two.
            return reminders.MaybePosted(why_undelivered(error))

    def close_overdue(self, now: float, limit: int = 100) -> int:
        """Close every run past its deadline and post its report; the number closed here."""
        return usecases.close_overdue(self.runs, now, limit, self._hand_report)

    # The buttons ----------------------------------------------------------------------------------

    def take_part(self, click: BlockAction, respond: Respond) -> None:
        team_id, user_id = click.team_id, click.user_id
        run = self._open_run_or_note(team_id, click, respond)
        if run is None:
            return
        if not is_channel_member(self.client, user_id, run.channel_id):
            say(respond, not_a_member_text(run.channel_id, "take part in its team run"))
            return
        try:
            joining = usecases.take_part(self.runs, self.sessions, self.catalog, run, user_id, self.clock())
        except RunClosed as closed:
            ephemeral(respond, self._closed_note(closed.run))
            return
        except RunBankChanged as changed:
            used = blocks.escape(f"{changed.run.bank_id} {changed.run.bank_version}")
            text = (
                f"This team run uses {used}, and the bank has changed since "
                f"({blocks.escape(changed.current)}), so it can't take new answers. "
                f"Ask {team_blocks.who(run.starter_id)} to close it and start a new one."
            )
            say(respond, text)
            return
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        if joining.in_progress:
            self.assessments.resume(team_id, user_id, respond, run_id=run.run_id)
            return
        self.assessments.begin(
            joining.respondent,
            joining.bank,
            None,
            may_replace=is_finished,
            respond=respond,
            started_note=lambda bank: team_blocks.take_part_text(bank, joining.retake),
            asking=member_asking(joining.bank),
        )

    def nudge(self, click: BlockAction, respond: Respond) -> None:
        """*Nudge*, by the run's starter, once a day: the worker (or, without one, this process) looks up
        the channel's members and messages those who have not answered."""
        team_id, user_id = click.team_id, click.user_id
        run = self._open_run_or_note(team_id, click, respond)
        if run is None:
            return
        if not usecases.may_nudge(run, user_id):
            ephemeral(respond, team_blocks.nudge_refused_note(run))
            return
        try:
            claim = usecases.claim_nudge(self.runs, run)
            if not claim.granted:
                ephemeral(respond, team_blocks.nudged_recently_note(claim.retry_in))
                return
            if self.worker is not None and click.response_url:
                self.worker.run_later(NUDGE, team_id, run.run_id, user_id, click.response_url)
                return
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        self.send_nudge(team_id, run.run_id, user_id, respond)

    def send_nudge(self, team_id: str, run_id: str, starter_id: str, respond: Respond) -> None:
        """Message the channel's members who have not answered the run; tell its starter how many."""
        try:
            nudge = usecases.plan_nudge(self.runs, team_id, run_id, starter_id, self._members)
        except usecases.NudgeNotSent as not_sent:
            say(respond, NUDGE_NOT_SENT[not_sent.reason])
            return
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        plan = nudge.plan
        bank = self.catalog.by_id(nudge.run.bank_id)
        message = team_blocks.nudge_message(nudge.run, bank)
        failed = 0
        for target in plan.targets:
            try:
                dm = self.client.conversations_open(users=target)["channel"]["id"]
                self.client.chat_postMessage(channel=dm, **message.as_kwargs())
            except SLACK_FAILURES as error:
                failed += 1
                why_undelivered(error)
        sent = len(plan.targets) - failed
        ephemeral(respond, team_blocks.nudged_note(sent, failed, plan.answered, plan.skipped_accounts))

    def close(self, click: BlockAction, respond: Respond) -> None:
        team_id, user_id = click.team_id, click.user_id
        run = self._open_run_or_note(team_id, click, respond)
        if run is None:
            return
        try:
            closing = usecases.close_by(
                self.runs, run, user_id, self._is_admin, self.clock(), self._hand_report
            )
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return
        if not closing.allowed:
            ephemeral(respond, team_blocks.close_refused_note(run))
        elif not closing.closed_here:
            ephemeral(respond, self._closed_note(closing.run))

    # Internals ------------------------------------------------------------------------------------

    def _open_run_or_note(self, team_id: str, click: BlockAction, respond: Respond) -> RunRecord | None:
        """The run a button acts on, while it is open. A closed run gets the polite note; a run past its
        deadline is closed now (the next interaction closes it) and gets the note too."""
        try:
            button = TeamButton.decode(click.value)
            run = usecases.current_run(self.runs, team_id, button.r, self.clock(), self._hand_report)
        except InvalidButton:
            run = None
        except STORE_TROUBLE as error:
            say(respond, store_trouble_text(error))
            return None
        if run is None:
            say(respond, UNRECOGNISED_BUTTON)
            return None
        if not run.is_open:
            ephemeral(respond, self._closed_note(run))
            return None
        return run

    def _hand_report(self, closed: RunRecord) -> None:
        """A run was just closed, its report's delivery queued: hand that to `reports`."""
        hand_over(self.reports, usecases.report_delivery(closed))

    def deliver_run_report(self, delivery: Delivery, steps: Steps) -> str:
        """Build a closed run's report (once: a retry posts the same message), post it in its channel and
        mark the run's message closed; returns where."""
        ref = delivery.ref
        run = self.runs.get(ref.team_id, ref.delivery_id)
        if run is None:
            return "nowhere: the run is gone"
        where = f"<#{run.channel_id}>"
        prepared = steps.get("message") or delivery.prepared
        if prepared is None:
            prepared = json.dumps(self._report_message(run).as_kwargs())
            steps.record("message", prepared)
        try:
            steps.post_once(self.client, "report", run.channel_id, json.loads(prepared))
        except SLACK_FAILURES as error:
            raise Undeliverable(where, why_undelivered(error)) from error
        if steps.get("closed") is None:
            self._show_closed(run, self.runs.respondent_count(run.team_id, run.run_id))
            steps.record("closed", "done")
        return where

    def _report_message(self, run: RunRecord) -> blocks.Message:
        """The closed run's report, counting the channel's members now, with what changed since the
        channel's previous team result."""
        members = self._members(run.channel_id)
        invited = usecases.people(members) if members is not None else None
        closed = usecases.closed_run_report(self.runs, self.catalog, run, invited, self.min_respondents)
        log.info("team run closed", extra={"team": run.team_id, "respondents": closed.view.respondents})
        return self._with_channel_changes(closed, team_blocks.team_report_message(closed.view))

    def _closed_note(self, run: RunRecord) -> blocks.Message:
        """What a click on a closed run's button is told: where its report is, once Slack took it."""
        return team_blocks.closed_note(run, report_posted=usecases.report_posted(self.outbox, run))

    def _with_channel_changes(self, closed: ClosedRun, message: blocks.Message) -> blocks.Message:
        """Keep the run's result in the channel's history, and show what changed since the channel's
        previous comparable team result. The report goes out without them if Redis fails here."""
        if self.history is None or closed.report is None:
            return message
        run = closed.run
        try:
            found = keep_team_result(
                self.history,
                run.team_id,
                run.channel_id,
                run.run_id,
                closed.report,
                run.closed_at or self.clock(),
            )
        except STORE_ERRORS as error:
            log.warning("could not keep the team result in the channel's history: %s", error)
            return message
        if found is None:
            return message
        return history_blocks.with_changes(message, found.changes, whose="the channel's")

    def _show_closed(self, run: RunRecord, answered: int) -> None:
        if run.message_ts is None:
            return
        message = team_blocks.closed_run_message(run, self._bank_title(run), answered)
        try:
            self.client.chat_update(channel=run.channel_id, ts=run.message_ts, **message.as_kwargs())
        except SLACK_FAILURES as error:
            log.warning("could not mark the team run closed: %s", why_undelivered(error))

    def _bank_title(self, run: RunRecord) -> str:
        try:
            return self.catalog.by_id(run.bank_id).title
        except UnknownBank:
            return run.bank_id

    def _is_admin(self, user_id: str) -> bool:
        try:
            user = self.client.users_info(user=user_id)["user"]
        except SLACK_FAILURES as error:
            log.warning("could not look up a user: %s", why_undelivered(error))
            return False
        return bool(user.get("is_admin") or user.get("is_owner"))

    def _members(self, channel_id: str) -> list[Member] | None:
        """The channel's members with what a nudge and the invited count need to know; None when Slack
        would not say."""
        try:
            user_ids: list[str] = []
            cursor = None
            while True:
                page = self.client.conversations_members(
                    channel=channel_id, limit=MEMBERS_PAGE_LIMIT, cursor=cursor
                )
                user_ids.extend(page["members"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            # Each lookup calls Slack for the workspace served here, in the pool's threads too.
            with WorkspaceExecutor(max_workers=USER_LOOKUP_THREADS) as pool:
                profiles = list(pool.map(lambda user: self.client.users_info(user=user)["user"], user_ids))
        except SLACK_FAILURES as error:
            log.warning("could not list the channel's members: %s", why_undelivered(error))
            return None
        return [
            Member(user_id, is_bot=bool(p.get("is_bot")), deleted=bool(p.get("deleted")))
            for user_id, p in zip(user_ids, profiles, strict=True)
        ]

    # The live count, throttled --------------------------------------------------------------------

    def refresh_count(self, team_id: str, run_id: str) -> None:
        """Show the run's count on its message now, or schedule it for when the window ends, as
        ``team_count.count_update`` decides across processes."""
        claims = self.runs.count_claims(team_id, run_id)
        self._apply(team_count.count_update(claims, self.refresh_seconds), team_id, run_id)

    def _refresh_when_due(self, team_id: str, run_id: str) -> None:
        try:
            claims = self.runs.count_claims(team_id, run_id)
            self._apply(team_count.follow_up_update(claims, self.refresh_seconds), team_id, run_id)
        except (*STORE_TROUBLE, *SLACK_FAILURES) as error:
            log.warning("could not update a team run's count: %s", error)

    def _apply(self, update: team_count.CountUpdate, team_id: str, run_id: str) -> None:
        if update.show_now:
            self._show_count(team_id, run_id)
        elif update.follow_up_in is not None:
            self._follow_ups.schedule(update.follow_up_in, lambda: self._refresh_when_due(team_id, run_id))

    def stop(self) -> None:
        """Cancel the scheduled count updates and wait for any that are running (a test's clean-up; a
        process that stops without this leaves the update to the next answer or the close)."""
        self._follow_ups.stop()

    def _show_count(self, team_id: str, run_id: str) -> None:
        live = team_count.live_count(self.runs, self.catalog, team_id, run_id)
        if live is None:
            return
        message = team_blocks.run_message(live.run, live.bank, live.answered)
        self.client.chat_update(channel=live.run.channel_id, ts=live.message_ts, **message.as_kwargs())
        raced = team_count.closed_since(self.runs, team_id, run_id)
        if raced is not None:
            self._show_closed(raced.run, raced.answered)

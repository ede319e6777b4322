"""Results over time in Slack: the changes and chart that go with a report, `history`, `export`,
`forget me` and the App Home tab. The use cases are bot/usecases/history.py; this only translates.

Listeners acknowledge Slack first and call in here afterwards, so drawing a chart and uploading files is
never on the 3-second path. A chart or a file that fails to upload is reported; the text report stands.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.engine.catalog import BankCatalog
from bot.engine.export import to_csv
from bot.engine.history import moment_text
from bot.engine.report_view import build_view
from bot.engine.scoring import Report
from bot.render.chart import chart_png
from bot.slack import blocks, history_blocks
from bot.slack.assessment import AssessmentFlow
from bot.slack.delivery.run import WorkerQueue
from bot.slack.home import home_view
from bot.slack.membership import is_channel_member, not_a_member_text
from bot.slack.payloads import BlockAction, SlashCommand
from bot.slack.replies import UNAVAILABLE, Respond, ephemeral
from bot.slack.values import InvalidButton, SessionButton
from bot.store.history import HistoryStore, ScheduleEraser, Scope
from bot.store.sessions import STORE_ERRORS, SessionRecord, SessionStore
from bot.usecases.history import (
    NewResult,
    OpenRunsLookup,
    export_rows,
    forget,
    history_of,
    home_data,
    new_result,
)

log = logging.getLogger(__name__)

CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]{2,})$")
HOME_CHANNELS_PAGE = 200
READ_FOR_CHART_KEPT = 64
# The worker's tasks this flow hands off (bot/slack/app.py's `worker_tasks` runs them).
PUBLISH_HOME = "publish_home"
EXPORT = "export"


def channel_argument(argument: str) -> str | None:
    """The channel id in `<#C123|name>` (how Slack escapes a channel in a command) or a bare `C123`."""
    found = CHANNEL_MENTION.match(argument.strip())
    return (found.group(1) or found.group(2)) if found else None


class HistoryFlow:
    def __init__(
        self,
        history: HistoryStore,
        sessions: SessionStore,
        catalog: BankCatalog,
        client: WebClient,
        open_runs: OpenRunsLookup | None = None,
        erase_schedules: ScheduleEraser | None = None,
        worker: WorkerQueue | None = None,
    ):
        """Given `worker`, the Home tab and exports are made by the worker process; without one, here."""
        self.history = history
        self.sessions = sessions
        self.catalog = catalog
        self.client = client
        self.open_runs = open_runs
        self.erase_schedules = erase_schedules
        self.worker = worker
        self.assessment: AssessmentFlow | None = None  # set when both flows are built
        # The team runs' Take part (body, action, respond), for the Home tab's button.
        self.team_take_part: Callable[[BlockAction, Respond], None] | None = None
        # What `annotate` read of the history, for `after_report`'s chart of the same result: the final
        # click reads the history once. Keyed by result id; bounded, for reports whose chart never came.
        self._read_for_chart: dict[str, NewResult] = {}
        self._read_for_chart_lock = threading.Lock()

    # With each report (AssessmentFlow's ReportCompanion) ------------------------------------------

    def annotate(self, record: SessionRecord, messages: Sequence[blocks.Message]) -> list[blocks.Message]:
        """Each copy of the report with what changed since the previous comparable result."""
        if record.result_id is None or record.respondent.run_id is not None:
            return list(messages)
        scope = Scope.person(record.respondent.team_id, record.respondent.user_id)
        try:
            found = new_result(self.history, scope, record.result_id)
        except STORE_ERRORS as error:
            log.warning("could not read the history for the report's changes: %s", error)
            return list(messages)
        if found is None:
            return list(messages)
        with self._read_for_chart_lock:
            self._read_for_chart[record.result_id] = found
            while len(self._read_for_chart) > READ_FOR_CHART_KEPT:
                self._read_for_chart.pop(next(iter(self._read_for_chart)))
        return [history_blocks.with_changes(message, found.changes) for message in messages]

    def after_report(self, record: SessionRecord, report: Report, channel: str, ts: str) -> None:
        """Draw this result against the previous comparable one, with what holds each dimension of
        `report`, and share it under the report."""
        if record.result_id is None or record.respondent.run_id is not None:
            return
        with self._read_for_chart_lock:
            found = self._read_for_chart.pop(record.result_id, None)
        scope = Scope.person(record.respondent.team_id, record.respondent.user_id)
        try:
            found = found or new_result(self.history, scope, record.result_id)
        except STORE_ERRORS as error:
            log.warning("could not read the history for the chart: %s", error)
            return
        if found is None:
            return
        png = chart_png(found.current, found.chart_previous, build_view(report))
        against = (
            f" against {moment_text(found.chart_previous.finished_at)}"
            if found.chart_previous is not None
            else ""
        )
        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                file=png,
                filename=f"mlops-compass-{_date(found.current.finished_at)}.png",
                title=f"{found.current.bank_title}: dimension scores{against}",
                alt_txt=f"Bar chart of the dimension scores of this result{against}",
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            reason = _reason(error)
            log.warning("could not upload the report's chart: %s", reason)
            note = (
                f":warning: I couldn't upload the chart for this report ({reason}). "
                "The report itself is complete and saved."
            )
            try:
                self.client.chat_postMessage(
                    channel=record.dm_channel or channel, **blocks.text_message(note).as_kwargs()
                )
            except SlackApiError as failed:
                log.warning("could not say that the chart failed: %s", _reason(failed))

    # Commands -------------------------------------------------------------------------------------

    def show_history(self, team_id: str, user_id: str, argument: str | None, respond: Respond) -> None:
        if argument:
            channel_id = channel_argument(argument)
            if channel_id is None:
                text = (
                    f"I can't read `{blocks.escape(argument[:80])}` as a channel. Type "
                    f"`{blocks.COMMAND} history` for yours, or `{blocks.COMMAND} history #channel` for a "
                    "channel's team results."
                )
                ephemeral(respond, blocks.text_message(text))
                return
            if not is_channel_member(self.client, user_id, channel_id):
                text = (
                    f"Only members of <#{channel_id}> can see its team results, and Slack doesn't list you "
                    "there (or didn't say), so nothing is shown."
                )
                ephemeral(respond, blocks.text_message(text))
                return
            scope = Scope.channel(team_id, channel_id)
            title = "Team results in this channel"
            empty = (
                f"<#{channel_id}> has no team results kept yet. Each closed team run "
                f"(`{blocks.COMMAND} team`) keeps what its report showed: how many members were in each "
                "band, and no team level or score."
            )
        else:
            scope = Scope.person(team_id, user_id)
            title = "Your MLOps maturity history"
            empty = f"You have no results yet. Type `{blocks.COMMAND}` to take an assessment."
        try:
            found = history_of(self.history, scope)
        except STORE_ERRORS:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))
            return
        if scope.kind == "channel":
            title = f"Team results of #{scope.id}" if not found.results else title
        note = history_blocks.kept_note(
            self.history.limits.keep, self.history.limits.retention_seconds // 86400
        )
        message = history_blocks.history_message(title, found.results, found.trends, note, empty)
        ephemeral(respond, message)

    def export_requested(self, command: SlashCommand, respond: Respond) -> None:
        """`export`: the worker gathers and uploads the file and answers the command (here, without one)."""
        if self.worker is None or not command.response_url:
            self.export(command.team_id, command.user_id, command.channel_id, respond)
            return
        try:
            self.worker.run_later(
                EXPORT, command.team_id, command.user_id, command.channel_id, command.response_url
            )
        except STORE_ERRORS:
            ephemeral(respond, blocks.text_message(f"{UNAVAILABLE} Nothing was exported."))

    def export(self, team_id: str, user_id: str, channel_id: str, respond: Respond) -> None:
        scopes = [Scope.person(team_id, user_id)]
        in_channel = channel_id.startswith(("C", "G"))
        if in_channel and not is_channel_member(self.client, user_id, channel_id):
            text = not_a_member_text(channel_id, "export its team results")
            text += f" Type `{blocks.COMMAND} export` in our DM for your own results."
            ephemeral(respond, blocks.text_message(text))
            return
        if in_channel:
            scopes.append(Scope.channel(team_id, channel_id))
        try:
            rows = export_rows(self.history, scopes)
        except STORE_ERRORS:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))
            return
        if not rows:
            where = " or team results in this channel" if in_channel else ""
            ephemeral(
                respond,
                blocks.text_message(f"You have no results{where} yet, so there is nothing to export."),
            )
            return
        mine = sum(1 for r in rows if r.scope == "person")
        theirs = len(rows) - mine
        counted = f"{mine} of your results" + (
            f" and {theirs} team result(s) of <#{channel_id}>" if theirs else ""
        )
        try:
            dm_channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            self.client.files_upload_v2(
                channel=dm_channel,
                file=to_csv(rows).encode("utf-8"),
                filename=f"mlops-compass-history-{_date(time.time())}.csv",
                title="MLOps Compass history",
                initial_comment=f"Your MLOps Compass export: {counted}, one row per result.",
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("could not upload the export: %s", _reason(error))
            text = f":warning: I couldn't send the export ({_reason(error)}). Try again in a minute."
            ephemeral(respond, blocks.text_message(text))
            return
        ephemeral(respond, blocks.text_message(f"I've sent {counted} as a CSV file to our DM."))

    def forget_clicked(self, click: BlockAction, respond: Respond, confirmed: bool) -> None:
        team_id, clicker = click.team_id, click.user_id
        try:
            button = SessionButton.decode(click.value)
        except InvalidButton:
            ephemeral(
                respond, blocks.text_message("That button isn't one I recognise, so nothing was changed.")
            )
            return
        if button.u != clicker:
            ephemeral(
                respond, blocks.text_message("That button belongs to someone else; nothing was deleted.")
            )
            return
        if not confirmed:
            respond(replace_original=True, text="Nothing was deleted; your data is as it was.")
            return
        try:
            forgotten = forget(self.history, team_id, clicker, self.erase_schedules)
        except STORE_ERRORS:
            ephemeral(
                respond, blocks.text_message(":warning: MLOps Compass is unavailable; nothing was deleted.")
            )
            return
        text = (
            f"Done: I deleted your data ({forgotten.results} result(s), {forgotten.keys} stored item(s) in "
            f"all, {forgotten.schedules} schedule(s)); your answers no longer count in "
            f"{forgotten.memberships} team run(s), whose anonymous counts stay. Reports already posted in "
            "channels stay there."
        )
        if forgotten.runs:
            text += f" The {forgotten.runs} team run(s) you started or closed no longer name you."
        if forgotten.workshops:
            text += (
                f" The {forgotten.workshops} team workshop(s) you voted in or facilitated no longer name you."
            )
        respond(replace_original=True, text=text)

    # App Home -------------------------------------------------------------------------------------

    def home_opened(self, team_id: str, user_id: str, event_id: str | None) -> None:
        """`app_home_opened`: the worker publishes the Home tab (this process, without one)."""
        if self.worker is None:
            self.publish_home(team_id, user_id, event_id)
            return
        try:
            self.worker.run_later(PUBLISH_HOME, team_id, user_id, event_id or "")
        except STORE_ERRORS as error:
            log.warning("could not hand the Home tab to the worker; the next visit tries again: %s", error)

    def publish_home(self, team_id: str, user_id: str, event_id: str | None) -> None:
        """Publish the person's Home tab, once per event: Slack retries an event with the same id."""
        try:
            if event_id and not self.history.claim_event(team_id, event_id):
                log.info("app_home_opened %s already handled; Slack's retry is ignored", event_id)
                return
        except STORE_ERRORS as error:
            log.warning("could not claim app_home_opened %s: %s", event_id, error)
            return
        try:
            channels = self._channels_of(user_id)
            data = home_data(
                self.history, self.sessions, self.catalog, team_id, user_id, channels, self.open_runs
            )
            self.client.views_publish(user_id=user_id, view=home_view(data))
        except (*STORE_ERRORS, SlackApiError, SlackClientError) as error:
            log.warning("could not publish the Home tab: %s", _reason(error))
            if event_id:
                # Slack's retry of this event may then succeed.
                with contextlib.suppress(*STORE_ERRORS):
                    self.history.release_event(team_id, event_id)

    def _channels_of(self, user_id: str) -> list[str]:
        """The person's channels the bot can see; none when Slack does not say (a missing scope)."""
        try:
            listed = self.client.users_conversations(
                user=user_id,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=HOME_CHANNELS_PAGE,
            )
        except SlackApiError as error:
            log.info("could not list the person's channels for the Home tab: %s", _reason(error))
            return []
        return [str(c["id"]) for c in listed.get("channels") or []]

    def home_button(self, click: BlockAction, start: bool) -> None:
        """Resume or Start from the Home tab. Its clicks carry no response_url: answers go to the DM."""
        team_id, clicker = click.team_id, click.user_id
        try:
            button = SessionButton.decode(click.value)
        except InvalidButton:
            return
        if button.u != clicker or self.assessment is None:
            return
        dm = self._dm_responder(clicker)
        if dm is None:
            return
        dm_channel, to_dm = dm
        if start:
            self.assessment.start(team_id, clicker, dm_channel, button.b, to_dm, full=button.m == "full")
        else:
            self.assessment.resume(team_id, clicker, to_dm)

    def home_take_part(self, click: BlockAction) -> None:
        """Take part in a team run from the Home tab: the run's own flow, answering in the DM."""
        dm = self._dm_responder(click.user_id)
        if dm is None or self.team_take_part is None:
            return
        self.team_take_part(click, dm[1])

    def _dm_responder(self, user_id: str) -> tuple[str, Respond] | None:
        """The person's DM, and a `respond` that posts there: what a Home tab click answers with."""
        try:
            dm_channel = str(self.client.conversations_open(users=user_id)["channel"]["id"])
        except SlackApiError as error:
            log.warning("could not open the DM from the Home tab: %s", _reason(error))
            return None

        def to_dm(**message: Any) -> None:
            self.client.chat_postMessage(
                channel=dm_channel, text=message.get("text", ""), blocks=message.get("blocks")
            )

        return dm_channel, to_dm


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def _reason(error: BaseException) -> str:
    if isinstance(error, SlackApiError) and error.response is not None:
        return str(error.response.get("error") or "Slack refused it")
    return " ".join(str(error).split())[:200] or type(error).__name__

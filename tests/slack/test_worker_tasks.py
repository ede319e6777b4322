"""What follows a command, a click or an event is handed to the worker: the web process answers Slack and
makes no Web API call of its own; the worker's task, run with the same flows, uploads the export,
publishes the Home tab or sends the nudges."""

from __future__ import annotations

from typing import Any

import fakeredis
from slack_sdk import WebClient

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.overview import length
from bot.slack.app import Flows, build_flows, worker_tasks
from bot.slack.history_flow import EXPORT, PUBLISH_HOME
from bot.slack.payloads import BlockAction, SlashCommand
from bot.slack.team import NUDGE
from bot.slack.team_blocks import NUDGE_ACTION, TeamButton
from bot.store.outbox import DeliveryRef
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply
from bot.usecases.team_runs import open_run
from playground.fakeslack import FakeSlack

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")
USER = "U0WORKTASK"


class RecordingQueue:
    """The worker's queue as the web process sees it, keeping what was handed over."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, ...]] = []
        self.deliveries: list[DeliveryRef] = []

    def deliver(self, ref: DeliveryRef) -> bool:
        self.deliveries.append(ref)
        return True

    def run_later(self, task: str, *args: str) -> None:
        self.tasks.append((task, *args))


def flows_on(fake: FakeSlack, client: fakeredis.FakeRedis, queue: RecordingQueue | None) -> Flows:
    return build_flows(
        store=SessionStore(client),
        catalog=CATALOG,
        client=WebClient(token="xoxb-tasks", base_url=fake.base_url),
        default_bank="pulse",
        min_respondents=3,
        team_runs_per_user=3,
        schedules_per_user=3,
        worker=queue,
    )


def keep_one_result(client: fakeredis.FakeRedis, team_id: str) -> None:
    store = SessionStore(client)
    respondent = Respondent(team_id=team_id, user_id=USER)
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(2) for q in PULSE.questions})
    store.start(record, may_replace=lambda _: True)
    assert apply(store, CATALOG, respondent, record.session_id, last).record.result_id is not None


def test_an_export_is_made_by_the_worker_which_sends_the_file_and_answers_the_command(
    fake: FakeSlack, team_id: str
) -> None:
    client, queue = fakeredis.FakeRedis(), RecordingQueue()
    flows = flows_on(fake, client, queue)
    keep_one_result(client, team_id)
    response_url = fake.new_response_url(channel_id="D0WORKTASK", user_id=USER)
    said: list[dict[str, Any]] = []
    command = SlashCommand(
        team_id=team_id, user_id=USER, channel_id="D0WORKTASK", text="export", response_url=response_url
    )

    flows.history.export_requested(command, lambda **answer: said.append(answer))
    assert said == [] and fake.calls == []
    assert queue.tasks == [(EXPORT, team_id, USER, "D0WORKTASK", response_url)]

    task, *arguments = queue.tasks[0]
    worker_tasks(flows)[task](*arguments)
    done = fake.wait_for("response_url", lambda c: "CSV" in c.params.get("text", ""))
    assert done.params["text"] == "I've sent 1 of your results as a CSV file to our DM."
    [csv_file] = [f for f in fake.uploaded_files() if f.filename.endswith(".csv")]
    assert csv_file.data is not None and csv_file.data.decode().count("\n") == 2  # header and one result


def test_without_a_worker_the_export_is_made_where_it_was_asked(fake: FakeSlack, team_id: str) -> None:
    client = fakeredis.FakeRedis()
    flows = flows_on(fake, client, None)
    keep_one_result(client, team_id)
    said: list[dict[str, Any]] = []
    command = SlashCommand(team_id=team_id, user_id=USER, channel_id="D0WORKTASK", text="export")
    flows.history.export_requested(command, lambda **answer: said.append(answer))
    assert [answer["text"] for answer in said] == ["I've sent 1 of your results as a CSV file to our DM."]


def test_the_home_tab_is_published_by_the_worker_once_per_event(fake: FakeSlack, team_id: str) -> None:
    client, queue = fakeredis.FakeRedis(), RecordingQueue()
    flows = flows_on(fake, client, queue)
    keep_one_result(client, team_id)

    flows.history.home_opened(team_id, USER, "Ev0HOME")
    flows.history.home_opened(team_id, USER, "Ev0HOME")  # Slack's retry of the same event
    assert fake.calls == []
    assert queue.tasks == [(PUBLISH_HOME, team_id, USER, "Ev0HOME")] * 2

    run = worker_tasks(flows)[PUBLISH_HOME]
    for task in queue.tasks:
        run(*task[1:])
    [published] = fake.calls_to("views.publish")
    assert published.params["user_id"] == USER
    assert "Your latest result" in str(published.params["view"])
    for bank in CATALOG.banks:
        assert f"(`{bank.id}`): {length(bank)}" in str(published.params["view"])


def test_a_nudge_is_sent_by_the_worker_to_the_members_who_have_not_answered(
    fake: FakeSlack, team_id: str
) -> None:
    client, queue = fakeredis.FakeRedis(), RecordingQueue()
    flows = flows_on(fake, client, queue)
    channel, others = "C0NUDGE", ["U0NUDGEA", "U0NUDGEB"]
    fake.set_channel_members(channel, [USER, *others])
    run = open_run(flows.team.runs, PULSE, team_id, channel, USER, days=3)
    response_url = fake.new_response_url(channel_id=channel, user_id=USER)
    click = BlockAction(
        team_id=team_id,
        user_id=USER,
        action_id=NUDGE_ACTION,
        value=TeamButton(r=run.run_id).encode(),
        channel_id=channel,
        response_url=response_url,
    )
    said: list[dict[str, Any]] = []

    flows.team.nudge(click, lambda **answer: said.append(answer))
    assert said == [] and fake.calls == []
    assert queue.tasks == [(NUDGE, team_id, run.run_id, USER, response_url)]

    task, *arguments = queue.tasks[0]
    worker_tasks(flows)[task](*arguments)
    told = fake.wait_for("response_url", lambda c: "reminder to 2 people" in c.params.get("text", ""))
    assert told.params["response_type"] == "ephemeral"
    nudged = {call.params["users"] for call in fake.calls_to("conversations.open")}
    assert nudged == set(others)

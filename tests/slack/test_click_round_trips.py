"""What one click costs Redis, counted on the connection: every answer but the last is at most two round
trips (WATCH and the read together, then MULTI … EXEC), and the last one reads the history once, though
both the report's changes and its chart need it. A workshop vote is the same two, however many have
voted: the throttle of its message's updates is decided in the vote's own EXEC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import redis
from slack_sdk import WebClient

from bot.slack.history_flow import HistoryFlow
from bot.store.history import HistoryStore
from bot.store.sessions import SessionStore
from bot.store.workshops import WorkshopStore
from playground.fakeslack import FakeSlack
from tests.conftest import REAL_REDIS_URL, real_redis
from tests.slack.conftest import Responses
from tests.slack.test_assessment_flow import CATALOG, answer_buttons, best, latest, press, start
from tests.slack.test_workshop_flow import question_message, vote, voters, workshop_flow
from tests.slack.test_workshop_flow import start as start_workshop
from tests.slack.wiring import assessment_flow


class CountingConnection(redis.Connection):
    """Counts the round trips (one send is one: a pipeline sends all its commands at once) and the
    commands sent."""

    sends = 0
    commands: ClassVar[list[str]] = []

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        CountingConnection.commands.append(str(args[0]).upper())
        super().send_command(*args, **kwargs)

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        CountingConnection.commands.extend(str(c[0]).upper() for c in commands)
        return super().pack_commands(commands)


@pytest.fixture
def counting_store() -> Iterator[SessionStore]:
    real_redis()  # fails, saying why, when no Redis answers
    pool = redis.ConnectionPool.from_url(REAL_REDIS_URL, connection_class=CountingConnection)
    yield SessionStore(redis.Redis(connection_pool=pool))
    pool.disconnect()


def test_an_answer_takes_at_most_two_round_trips_and_the_last_reads_the_history_once(
    counting_store: SessionStore, team_id: str
) -> None:
    with FakeSlack() as fake:
        client = WebClient(token="xoxb-t", base_url=fake.base_url)
        history = HistoryFlow(HistoryStore(counting_store.redis), counting_store, CATALOG, client)
        flow = assessment_flow(counting_store, CATALOG, "pulse", client, companion=history)
        history.assessment = flow
        start(flow, team_id)
        dm = fake.dm_channel_id("U0ALICE")
        per_answer: list[int] = []
        while True:
            message = latest(fake, dm)
            if not answer_buttons(message):
                break
            sends, commands = CountingConnection.sends, len(CountingConnection.commands)
            clicked = Responses()
            press(flow, team_id, dm, message, best(message), clicked)
            assert clicked.sent == [], clicked.sent
            trips = CountingConnection.sends - sends
            sent = CountingConnection.commands[commands:]
            if answer_buttons(latest(fake, dm)):
                per_answer.append(trips)
            else:
                last_answer = sent
        assert len(per_answer) >= 5
        assert max(per_answer) <= 2, per_answer
        # The report's changes and its chart both come from this one read of the history.
        assert last_answer.count("ZREVRANGEBYSCORE") == 1, last_answer
        assert fake.uploaded_files(), "the chart was drawn from that read"


def test_a_workshop_vote_takes_at_most_two_round_trips_with_thirty_voters(
    counting_store: SessionStore, team_id: str
) -> None:
    """WATCH with the read, then MULTI … EXEC with the vote and the claim of its message's update: the
    vote that shows the votes now, the one that schedules the follow-up and the ones that leave it to
    that follow-up all cost the same."""
    with FakeSlack() as fake:
        thirty = voters(30)
        fake.set_channel_members("C0WORKSHOP", ["U0FACIL", *thirty])
        # A window no test outlasts: the follow-up never runs while the votes are counted.
        flow = workshop_flow(WorkshopStore(counting_store.redis), fake, window=600.0)
        try:
            start_workshop(flow, team_id)
            message = question_message(fake)
            per_vote: list[int] = []
            for number, user in enumerate(thirty):
                sends = CountingConnection.sends
                vote(flow, team_id, message, user, number % 3)
                per_vote.append(CountingConnection.sends - sends)
        finally:
            flow.stop()
        assert len(per_vote) == 30
        assert max(per_vote) <= 2, per_vote
        # The first vote was shown on the message then; the others wait for the follow-up.
        assert len([c for c in fake.calls_to("chat.update") if c.params.get("ts") == message["ts"]]) == 1

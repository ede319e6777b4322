"""How a team run holds up at scale, against a real Redis:

- the time to close a run with 5,000 responses (the close transaction, the team report built from the
  aggregate, the report kept with the run), and, for contrast, the time just to read 5,000 responses;
- the Redis round trips per team answer, counted on the connection: Take part, an answer, and the answer
  that finishes a member's assessment (the session, the result, the aggregate and the live count).

    python benchmarks/team_close.py [--responses 5000] [--redis redis://127.0.0.1:6379/14]

Every key it writes is in a workspace of its own, deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import redis
from slack_sdk import WebClient

from bot.engine.answers import Answer, DontKnow, OptionChoice, choices, encode_answer
from bot.engine.bank import ContextQuestion
from bot.engine.catalog import BankCatalog
from bot.engine.scoring import applies
from bot.engine.team import TeamAggregate
from bot.slack.assessment import AssessmentFlow
from bot.slack.payloads import BlockAction
from bot.slack.team import TeamFlow
from bot.store import keys
from bot.store.outbox import DeliveryRef
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import TeamRunStore
from bot.usecases import personal
from bot.usecases.team_runs import RunResponses, close_run, closed_run_report, open_run, team_report_view
from playground.fakeslack.signing import block_actions_payload
from playground.fakeslack.workspace import Button, buttons_of

CATALOG = BankCatalog.from_directory()
BANK = CATALOG.by_id("mlops")


class CountingConnection(redis.Connection):
    """Counts what is sent to Redis: one send is one round trip (a pipeline sends all its commands in
    one, and MULTI … EXEC is one pipeline)."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


def counted(action: Callable[[], Any]) -> int:
    before = CountingConnection.sends
    action()
    return CountingConnection.sends - before


def random_answers(rng: random.Random) -> dict[str, Answer]:
    """Any answer a question offers, "Don't know" about one time in twelve; a third of the members ship
    LLM features and answer that set too."""
    answers: dict[str, Answer] = {"llm_features": OptionChoice(rng.choice((0, 0, 2)))}
    for question in BANK.questions:
        if isinstance(question, ContextQuestion) or not applies(question, answers, BANK):
            continue
        known = [answer for answer, _ in choices(question) if not isinstance(answer, DontKnow)]
        answers[question.id] = DontKnow() if rng.random() < 1 / 12 else rng.choice(known)
    return answers


BENCH_CHANNEL = "C0BENCH"


class StubSlack:
    """Just enough of the Web API for the flows to run without Slack: only Redis is being measured."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self._ts = 0

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    def conversations_open(self, users: str) -> dict[str, Any]:
        return {"channel": {"id": "D" + users}}

    def chat_postMessage(self, channel: str, text: str = "", blocks: Any = None, **_: Any) -> dict[str, Any]:
        ts = self._next_ts()
        self.messages[channel] = {"ts": ts, "blocks": blocks or []}
        return {"ts": ts, "channel": channel}

    def chat_update(
        self, channel: str, ts: str, text: str = "", blocks: Any = None, **_: Any
    ) -> dict[str, Any]:
        self.messages[channel] = {"ts": ts, "blocks": blocks or []}
        return {"ts": ts, "channel": channel}

    def users_info(self, user: str) -> dict[str, Any]:
        return {"user": {"id": user, "is_bot": False, "deleted": False, "is_admin": False}}

    def conversations_members(self, channel: str, **_: Any) -> dict[str, Any]:
        return {"members": [], "response_metadata": {"next_cursor": ""}}

    def users_conversations(self, user: str, **_: Any) -> dict[str, Any]:
        """Everyone taking part here is a member of the benchmark's channel."""
        return {"channels": [{"id": BENCH_CHANNEL}], "response_metadata": {"next_cursor": ""}}


def click_on(team_id: str, user: str, channel: str, message: dict[str, Any], button: Button) -> BlockAction:
    """The click as Slack sends it (a radio option comes as the option chosen), parsed as the app does."""
    payload = block_actions_payload(
        user_id=user,
        team_id=team_id,
        channel_id=channel,
        message_ts=message["ts"],
        blocks=message["blocks"],
        action_id=button.action_id,
        block_id=button.block_id,
        value=button.value,
        button_text=button.label,
        response_url="https://hooks.slack.invalid/benchmark",
        element_type=button.element_type,
    )
    return BlockAction.of(payload, payload["actions"][0])


def answer_buttons(message: dict[str, Any]) -> list[Button]:
    return [b for b in buttons_of(message) if b.action_id.startswith("answer")]


class HandedOver:
    """The worker's queue, as far as the web process sees it: a delivery is handed over, nothing more."""

    def deliver(self, ref: DeliveryRef) -> bool:
        return True


def round_trips_per_answer(client: redis.Redis, team_id: str) -> dict[str, list[int]]:
    """Drive a few members through the real flows (Take part, every answer) and count round trips."""
    slack = StubSlack()
    sessions, runs = SessionStore(client), TeamRunStore(client)
    client_stub = cast(WebClient, slack)
    handed_over = HandedOver()
    assessments = AssessmentFlow(sessions, CATALOG, "mlops", client_stub, handed_over)
    team = TeamFlow(
        runs, sessions, CATALOG, assessments, client_stub, "mlops", refresh_seconds=3.0, reports=handed_over
    )
    assessments.run_hook = team
    run = open_run(runs, BANK, team_id, BENCH_CHANNEL, "U0STARTER", days=7)
    runs.set_message(team_id, run.run_id, "1690000000.000001")
    run_message = {"ts": "1690000000.000001", "blocks": []}
    take_part = Button(
        action_id="team_take_part", block_id="b", value=json.dumps({"r": run.run_id}), label=""
    )
    figures: dict[str, list[int]] = {"take part": [], "answer": [], "last answer": []}
    rng = random.Random(7)
    for number in range(5):
        user = f"U0M{number:03d}"
        dm = "D" + user
        joining = click_on(team_id, user, BENCH_CHANNEL, run_message, take_part)
        figures["take part"].append(counted(lambda c=joining: team.take_part(c, lambda **_: None)))
        answers = random_answers(rng)
        while True:
            message = slack.messages[dm]
            offered = answer_buttons(message)
            if not offered:
                break
            question = json.loads(offered[0].value)["q"]
            wanted = encode_answer(answers.get(question, DontKnow()))
            button = next((b for b in offered if json.loads(b.value).get("a") == wanted), offered[-1])
            click = click_on(team_id, user, dm, message, button)
            trips = counted(lambda c=click: assessments.click(c, lambda **_: None))
            last = not answer_buttons(slack.messages[dm])
            figures["last answer" if last else "answer"].append(trips)
    team.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    pool = redis.ConnectionPool.from_url(args.redis, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    client.ping()
    team_id = "TBENCH" + uuid.uuid4().hex[:8].upper()
    try:
        sessions, runs = SessionStore(client), TeamRunStore(client)
        run = open_run(runs, BANK, team_id, "C0TEAM", "U0STARTER", days=7)
        rng = random.Random(2026)
        started = time.perf_counter()
        finishing_trips = 0
        run_writes = RunResponses()
        for number in range(args.responses):
            respondent = Respondent(team_id=team_id, user_id=f"U{number:06d}", run_id=run.run_id)
            # Every answer but the last is stored at once; the last goes through the finishing transaction.
            record, last = personal.answered_but_last(respondent, BANK, random_answers(rng))
            sessions.start(record, may_replace=lambda _: True)
            finishing_trips += counted(
                lambda r=respondent, s=record.session_id, e=last: personal.apply(
                    sessions, CATALOG, r, s, e, run=run_writes
                )
            )
        filled = time.perf_counter() - started
        per_finish = finishing_trips / args.responses
        fields = client.hlen(keys.run_aggregate(team_id, run.run_id))
        print(f"redis {client.info('server')['redis_version']} at {args.redis}")
        print(
            f"{args.responses} responses recorded in {filled:.1f} s ({args.responses / filled:.0f}/s, "
            f"{per_finish:.1f} round trips per finishing transaction); aggregate: {fields} hash fields"
        )

        # What closing would cost if it read every response.
        response_keys = [keys.run_response(team_id, run.run_id, f"U{n:06d}") for n in range(args.responses)]
        started = time.perf_counter()
        total = TeamAggregate.empty()
        for raw in client.mget(response_keys):
            total = total + TeamAggregate(json.loads(raw)["counts"])
        reading_all = time.perf_counter() - started

        # Building the report from the aggregate, repeated for a distribution (the close does it once).
        builds = []
        for _ in range(20):
            started = time.perf_counter()
            aggregate = runs.aggregate(team_id, run.run_id)
            team_report_view(CATALOG, run, aggregate, args.responses, 3)
            builds.append(time.perf_counter() - started)
        assert aggregate == total, "the aggregate differs from the sum of the responses"

        sends_before = CountingConnection.sends
        started = time.perf_counter()
        closed = closed_run_report(
            runs, CATALOG, close_run(runs, team_id, run.run_id, "U0STARTER"), invited=args.responses
        )
        closing = time.perf_counter() - started
        close_trips = CountingConnection.sends - sends_before
        assert closed.view.respondents == args.responses
        print(
            f"close a run with {closed.view.respondents} responses: {closing * 1000:.1f} ms "
            f"({close_trips} round trips: close transaction, report kept with the run)"
        )
        median, worst = statistics.median(builds) * 1000, max(builds) * 1000
        print(
            f"  read the aggregate and build the team report: median {median:.1f} ms, "
            f"worst {worst:.1f} ms over {len(builds)} runs"
        )
        print(f"  for contrast, reading all {args.responses} responses instead: {reading_all * 1000:.1f} ms")

        figures = round_trips_per_answer(client, team_id)
        for name, trips in figures.items():
            print(
                f"round trips per {name}: median {statistics.median(trips):g}, "
                f"range {min(trips)}–{max(trips)} over {len(trips)}"
            )
    finally:
        doomed = list(client.scan_iter(keys.workspace_pattern(team_id), count=1000))
        for start in range(0, len(doomed), 1000):
            client.delete(*doomed[start : start + 1000])


if __name__ == "__main__":
    main()

"""What one click on a question costs the web process, in CPU time (this process's, not Redis's):

- building a question message: through slack_sdk's Block Kit models and checked against Slack's limits
  (how every click built it before), against filling in the bank's template (how it does now);
- the whole click handler in-process (AssessmentFlow.click: read the button, one transaction against a
  real Redis, build the next question, hand it to a stub Slack), with either way of building;
- the two clicks around the offer to stop once the overall level is settled: the answer that leads to the
  offer (the engine works out the standing, the offer's message is built through the models), and Keep
  going, which the benchmark clicks to go on to the end;
- a workshop vote, all that runs after Bolt's ack (WorkshopFlow.vote: the membership check against a stub
  Slack, the vote's transaction, the throttle's claims, and the update of the question's message when
  the vote's claim of the window is granted), in workshops of `--voters` voters; and the follow-up's
  message at the window's end, which shows every voter by name.

    python benchmarks/click_cost.py [--messages 3000] [--assessments 20] [--workshops 10] [--voters 30]
        [--redis redis://127.0.0.1:6379/14]

Every key it writes is in a workspace of its own, deleted at the end.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from slack_sdk import WebClient

from bot.engine import workshop as workshop_rules
from bot.engine.answers import choices
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AskQuestion
from bot.slack import blocks, workshop_blocks
from bot.slack.assessment import AssessmentFlow
from bot.slack.payloads import BlockAction
from bot.slack.values import KEEP_GOING_ACTION
from bot.slack.workshop import WorkshopFlow
from bot.slack.workshop_blocks import VOTE_ACTION
from bot.store import keys
from bot.store.history import HistoryStore
from bot.store.outbox import DeliveryRef
from bot.store.sessions import SessionStore
from bot.store.workshops import WorkshopStore
from bot.usecases import workshops as workshop_usecases
from playground.fakeslack.signing import block_actions_payload
from playground.fakeslack.workspace import buttons_of

CATALOG = BankCatalog.from_directory()
Builder = Callable[..., blocks.Message]
WAYS: dict[str, Builder] = {
    "models + check_message": blocks.question_message_from_models,
    "template": blocks.question_message,
}


def asks() -> Iterator[tuple[Any, AskQuestion, str, str, str | None]]:
    """Every question of mlops and pulse, with each option chosen or none, first or later, in turn."""
    cases = []
    for bank in (CATALOG.by_id("mlops"), CATALOG.by_id("pulse")):
        total = len(bank.questions)
        for index, question in enumerate(bank.questions):
            for previous in [None, *(answer for answer, _ in choices(question))]:
                ask = AskQuestion(question, index + 1, total, previous)
                cases.append(
                    (bank, ask, f"U{index:010d}", uuid.uuid4().hex[:12], None if index % 2 else "r0")
                )
    return itertools.cycle(cases)


def cpu_per_message(build: Builder, count: int) -> float:
    cases = asks()
    for _ in range(50):  # warm: the template is made on the bank's first message
        bank, ask, owner, session, run = next(cases)
        build(bank, ask, owner, session, run)
    started = time.process_time()
    for _ in range(count):
        bank, ask, owner, session, run = next(cases)
        build(bank, ask, owner, session, run)
    return (time.process_time() - started) / count


class StubSlack:
    """Answers like the Web API, without HTTP: only the app's own work is measured."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self.count = 0
        self.updates = 0

    def conversations_open(self, users: str) -> dict[str, Any]:
        return {"channel": {"id": "D" + users}}

    def chat_postMessage(self, channel: str, **message: Any) -> dict[str, Any]:
        self.count += 1
        self.latest[channel] = {"ts": f"1700000000.{self.count:06d}", **message}
        return {"ts": self.latest[channel]["ts"], "channel": channel}

    def chat_update(self, channel: str, ts: str, **message: Any) -> dict[str, Any]:
        self.latest[channel] = {"ts": ts, **message}
        self.updates += 1
        return {"ts": ts, "channel": channel}

    def users_conversations(self, user: str, **_: Any) -> dict[str, Any]:
        """Every voter is in the workshop's channel."""
        return {"channels": [{"id": WORKSHOP_CHANNEL}]}


def _asks(message: dict[str, Any]) -> bool:
    return any(b.action_id.startswith("answer") for b in buttons_of(message))


class HandedOver:
    """The worker's queue, as far as the web process sees it: a delivery is handed over, nothing more."""

    def __init__(self) -> None:
        self.refs: list[DeliveryRef] = []

    def deliver(self, ref: DeliveryRef) -> bool:
        self.refs.append(ref)
        return True


def click_costs(
    client: redis.Redis, team_id: str, assessments: int
) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """CPU and wall seconds of each click that leads to the next question (not the report's click), and
    the CPU seconds of the clicks around the offer to stop: "to the offer" and "keep going"."""
    slack = StubSlack()
    # The report's click hands its delivery to the worker's queue, as the web process does.
    flow = AssessmentFlow(SessionStore(client), CATALOG, "mlops", cast(WebClient, slack), HandedOver())
    cpu: list[float] = []
    wall: list[float] = []
    around_offer: dict[str, list[float]] = {"to the offer": [], "keep going": []}
    for number in range(assessments):
        user = f"U0C{number:05d}"
        dm = "D" + user
        flow.start(team_id, user, "C0BENCH", None, lambda **_: None)
        while True:
            message = slack.latest[dm]
            offered = [b for b in buttons_of(message) if b.action_id.startswith("answer")]
            keep_going = [b for b in buttons_of(message) if b.action_id == KEEP_GOING_ACTION]
            if not offered and not keep_going:
                break
            button = offered[number % len(offered)] if offered else keep_going[0]
            payload = block_actions_payload(
                user_id=user,
                team_id=team_id,
                channel_id=dm,
                message_ts=message["ts"],
                blocks=message["blocks"],
                action_id=button.action_id,
                block_id=button.block_id,
                value=button.value,
                response_url="https://hooks.slack.invalid/benchmark",
                element_type=button.element_type,
            )
            click = BlockAction.of(payload, payload["actions"][0])
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            flow.click(click, lambda **_: None)
            spent_cpu, spent_wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
            shown = slack.latest[dm]
            if not offered:
                around_offer["keep going"].append(spent_cpu)
            elif any(b.action_id == KEEP_GOING_ACTION for b in buttons_of(shown)):
                around_offer["to the offer"].append(spent_cpu)
            elif _asks(shown):
                cpu.append(spent_cpu)
                wall.append(spent_wall)
    return cpu, wall, around_offer


WORKSHOP_CHANNEL = "C0WORKSHOP"


@dataclass
class VoteCosts:
    shown_now: list[tuple[float, float]] = field(default_factory=list)  # (CPU, wall) seconds
    throttled: list[tuple[float, float]] = field(default_factory=list)
    follow_up_render: list[float] = field(default_factory=list)  # CPU seconds
    updates: int = 0


def vote_costs(client: redis.Redis, team_id: str, workshops: int, voters: int) -> VoteCosts:
    """Each workshop's voters vote once on its first question. The window outlasts the benchmark, so the
    first vote's update is shown now and every later vote's is left to the follow-up, whose message (all
    the votes, by name) is then built as it would be at the window's end."""
    slack = StubSlack()
    store = WorkshopStore(client)
    flow = WorkshopFlow(
        store,
        CATALOG,
        cast(WebClient, slack),
        "pulse",
        HistoryStore(client),
        reports=HandedOver(),
        refresh_seconds=600.0,
    )
    costs = VoteCosts()
    try:
        for number in range(workshops):
            channel = WORKSHOP_CHANNEL
            flow.start(f"{team_id}{number}", "U0FACIL", channel, "pulse", lambda **_: None)
            question = slack.latest[channel]
            votes = [
                b
                for b in question["blocks"]
                if str((b.get("accessory") or {}).get("action_id", "")).startswith(VOTE_ACTION)
            ]
            for voter in range(voters):
                block = votes[voter % len(votes)]
                payload = block_actions_payload(
                    user_id=f"U0V{voter:05d}",
                    team_id=f"{team_id}{number}",
                    channel_id=channel,
                    message_ts=question["ts"],
                    blocks=question["blocks"],
                    action_id=block["accessory"]["action_id"],
                    block_id=block["block_id"],
                    value=block["accessory"]["value"],
                    response_url="https://hooks.slack.invalid/benchmark",
                )
                click = BlockAction.of(payload, payload["actions"][0])
                updates = slack.updates
                cpu_started, wall_started = time.process_time(), time.perf_counter()
                flow.vote(click, lambda **_: None)
                spent = (time.process_time() - cpu_started, time.perf_counter() - wall_started)
                (costs.shown_now if slack.updates > updates else costs.throttled).append(spent)
            costs.updates += slack.updates
            workshop = store.open_in(f"{team_id}{number}", channel)
            assert workshop is not None
            bank = CATALOG.by_id(workshop.bank_id)
            state = workshop_usecases.state_of(workshop)
            asked = workshop_rules.next_question(bank, state)
            assert asked is not None
            started = time.process_time()
            workshop_blocks.question_message(workshop, bank, state, asked)
            costs.follow_up_render.append(time.process_time() - started)
            slack.updates = 0
    finally:
        flow.stop()
    return costs


def _median_ms(spent: list[float]) -> str:
    return f"{statistics.median(spent) * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--assessments", type=int, default=20)
    parser.add_argument("--workshops", type=int, default=10)
    parser.add_argument("--voters", type=int, default=30)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    print(f"building {args.messages} question messages (mlops and pulse, every option chosen in turn):")
    per_message = {name: cpu_per_message(build, args.messages) for name, build in WAYS.items()}
    for name, seconds in per_message.items():
        print(f"  {name:<24} {seconds * 1e6:8.0f} µs CPU per message")
    old, new = per_message.values()
    print(f"  the template costs {new / old:.1%} of the models' CPU ({old / new:.0f}x less)")

    client = redis.Redis.from_url(args.redis)
    client.ping()
    team_id = "TCLICK" + uuid.uuid4().hex[:8].upper()
    original = blocks.question_message
    try:
        print(f"click handler in-process, {args.assessments} mlops assessments each, Redis at {args.redis}:")
        for name, build in WAYS.items():
            setattr(blocks, "question_message", build)  # noqa: B010 (the flow calls it through the module)
            cpu, wall, around_offer = click_costs(client, f"{team_id}{name[0].upper()}", args.assessments)
            print(
                f"  {name:<24} CPU per click median {statistics.median(cpu) * 1e3:.2f} ms "
                f"(p90 {statistics.quantiles(cpu, n=10)[-1] * 1e3:.2f}), wall median "
                f"{statistics.median(wall) * 1e3:.2f} ms over {len(cpu)} clicks"
            )
            for kind, spent in around_offer.items():
                if spent:
                    print(
                        f"  {'':<24} {kind}: CPU median {statistics.median(spent) * 1e3:.2f} ms, most "
                        f"{max(spent) * 1e3:.2f} ms over {len(spent)} clicks"
                    )
        print(f"workshop votes in-process, {args.workshops} workshops of {args.voters} voters:")
        costs = vote_costs(client, f"{team_id}W", args.workshops, args.voters)
        for kind, spent in (("shown now", costs.shown_now), ("left to the follow-up", costs.throttled)):
            cpu, wall = [c for c, _ in spent], [w for _, w in spent]
            print(
                f"  {kind:<24} CPU per vote median {_median_ms(cpu)}, most {max(cpu) * 1e3:.2f} ms; "
                f"wall median {_median_ms(wall)} over {len(spent)} votes"
            )
        print(
            f"  {'':<24} {costs.updates} updates of the question's message for "
            f"{args.workshops * args.voters} votes; the follow-up's message with {args.voters} names: "
            f"CPU median {_median_ms(costs.follow_up_render)}"
        )
    finally:
        setattr(blocks, "question_message", original)  # noqa: B010
        doomed = list(client.scan_iter(f"{keys.PREFIX}:{{{team_id}*", count=1000))
        for start in range(0, len(doomed), 1000):
            client.delete(*doomed[start : start + 1000])
        # The benchmark's workshops are open, in the clock's index across workspaces.
        watched = [m for m in client.zrange(keys.WATCHED_WORKSHOPS, 0, -1) if m.decode().startswith(team_id)]
        if watched:
            client.zrem(keys.WATCHED_WORKSHOPS, *watched)


if __name__ == "__main__":
    main()

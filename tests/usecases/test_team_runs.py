"""Team runs in the store and their use cases, against fakeredis and a real Redis server alike: one open
run per channel, responses counted in the transaction that finishes a session, retakes that replace,
closes that read the aggregate and count exactly what was in."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
import redis

from bot.engine.answers import Answer, DontKnow, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.team import TeamAggregate, aggregate_of
from bot.store import keys
from bot.store.outbox import DELIVERED, Outbox
from bot.store.sessions import Respondent, RunSessionClosed, SessionStore
from bot.store.team_runs import (
    CLOSED_BY_DEADLINE,
    RunAlreadyOpen,
    RunClosed,
    RunLimits,
    RunRecord,
    TeamRunStore,
    TooManyOpenRuns,
)
from bot.store.throttles import Claimed
from bot.usecases import personal
from bot.usecases.team_runs import (
    DAY_SECONDS,
    BadRunRequest,
    Member,
    NudgeNotSent,
    ResponseOutcome,
    RunResponses,
    after_response,
    claim_nudge,
    close_by,
    close_overdue,
    close_run,
    closed_run_report,
    current_run,
    may_close,
    may_nudge,
    nudge_targets,
    open_run,
    parse_run_request,
    plan_nudge,
    report_author,
    report_delivery,
    report_posted,
    runs_by_id,
    take_part,
)
from tests.conftest import real_redis, workspace_state

CATALOG = BankCatalog.from_directory()
BANK = CATALOG.by_id("mlops")
CHANNEL = "C0TEAM"


def uniform(option: int, **overrides: Answer) -> dict[str, Answer]:
    """Every question answered with `option` (clamped to the question), no LLM features."""
    answers: dict[str, Answer] = {
        q.id: OptionChoice(min(option, len(q.options) - 1)) for q in BANK.questions if q.applies_if is None
    }
    answers["llm_features"] = OptionChoice(0)
    answers.update(overrides)
    return answers


def finish(
    sessions: SessionStore, respondent: Respondent, answers: dict[str, Answer], now: float | None = None
):
    """The member's last answer goes through the personal assessment's finishing transaction."""
    run = RunResponses(time.time if now is None else lambda: now)
    return personal.finish(sessions, CATALOG, respondent, BANK, answers, run=run).run_outcome


@pytest.fixture
def runs(redis_client: redis.Redis) -> TeamRunStore:
    return TeamRunStore(redis_client)


@pytest.fixture
def run(runs: TeamRunStore, team_id: str) -> RunRecord:
    return open_run(runs, BANK, team_id, CHANNEL, "U0STARTER", days=7)


def member(run: RunRecord, user_id: str) -> Respondent:
    return Respondent(team_id=run.team_id, user_id=user_id, run_id=run.run_id)


def test_every_run_key_carries_the_workspace_hash_tag(team_id: str) -> None:
    for key in (
        keys.run(team_id, "r1"),
        keys.run_aggregate(team_id, "r1"),
        keys.run_response(team_id, "r1", "U1"),
        keys.run_respondents(team_id, "r1"),
        keys.run_refresh(team_id, "r1"),
        keys.run_refresh_due(team_id, "r1"),
        keys.run_nudged(team_id, "r1"),
        keys.channel_run(team_id, "C1"),
        keys.open_runs(team_id),
    ):
        assert key.startswith(f"mlops-compass:{{{team_id}}}:")


def test_one_open_run_per_channel(runs: TeamRunStore, run: RunRecord, team_id: str) -> None:
    with pytest.raises(RunAlreadyOpen) as refused:
        open_run(runs, BANK, team_id, CHANNEL, "U0OTHER", days=3)
    assert refused.value.run.run_id == run.run_id
    assert runs.open_in(team_id, CHANNEL) == run
    other = open_run(runs, BANK, team_id, "C0ELSEWHERE", "U0OTHER", days=3)
    assert other.run_id != run.run_id


def test_two_starts_at_once_open_one_run(team_id: str) -> None:
    runs = TeamRunStore(real_redis())
    outcomes: list[str] = []

    def start(user: str) -> None:
        try:
            open_run(runs, BANK, team_id, CHANNEL, user, days=7)
            outcomes.append("opened")
        except RunAlreadyOpen:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(f"U{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["opened"] + ["refused"] * 7


def test_a_finished_session_adds_its_counts_and_a_retake_replaces_them(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    first = finish(store, member(run, "U1"), uniform(0))
    assert first.counted and not first.replaced
    finish(store, member(run, "U2"), uniform(4))
    retake = finish(store, member(run, "U1"), uniform(2))
    assert retake.counted and retake.replaced
    assert runs.aggregate(run.team_id, run.run_id) == aggregate_of(BANK, [uniform(2), uniform(4)])
    assert runs.respondent_count(run.team_id, run.run_id) == 2
    assert runs.answered(run.team_id, run.run_id, ["U1", "U2", "U3"]) == {"U1", "U2"}
    # Each finish is also the person's own result.
    personal = store.history(Respondent(team_id=run.team_id, user_id="U1"))
    assert len(personal) == 2


def test_answers_in_progress_when_the_run_closes_go_with_it_and_a_later_click_changes_nothing(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    for user in ("U1", "U2", "U3"):
        finish(store, member(run, user), uniform(3))
    late = member(run, "U4")
    record, last = personal.answered_but_last(late, BANK, uniform(0))
    assert store.start(record, may_replace=lambda _: True) is None
    closed = closed_run_report(runs, CATALOG, close_run(runs, run.team_id, run.run_id, "U0STARTER"), 5)
    assert closed.view.respondents == 3
    assert store.get(late) is None
    before = workspace_state(runs.redis, run.team_id)
    with pytest.raises(personal.RunEnded):
        personal.apply(store, CATALOG, late, record.session_id, last, run=RunResponses())
    # Nor can a start that checked the run before it closed write a session into it.
    fresh, _ = personal.new_session(late, BANK, None, personal.member_asking(BANK))
    with pytest.raises(RunSessionClosed):
        store.start(fresh, may_replace=lambda _: True)
    assert workspace_state(runs.redis, run.team_id) == before
    assert runs.respondent_count(run.team_id, run.run_id) == 3
    assert store.history(late.own) == []


def test_closing_reads_the_aggregate_and_happens_once(
    runs: TeamRunStore, store: SessionStore, run: RunRecord, team_id: str
) -> None:
    members = [uniform(1), uniform(3), uniform(3, tested_rollback=DontKnow())]
    for number, answers in enumerate(members):
        finish(store, member(run, f"U{number}"), answers)
    closing = close_run(runs, team_id, run.run_id, "U0STARTER", now=run.created_at + 60)
    # The report's delivery was queued by the closing transaction itself, for whoever closed the run.
    pending = Outbox(runs.redis).get(report_delivery(closing))
    assert pending is not None and (pending.state, pending.author) == ("pending", "U0STARTER")
    closed = closed_run_report(runs, CATALOG, closing, invited=4)
    assert closed_run_report(runs, CATALOG, closing, invited=4).view == closed.view
    assert closed.run.status == "closed" and closed.run.closed_by == "U0STARTER"
    assert closed.view.count_text == "3 answered of 4 members invited"
    assert not closed.view.withheld
    stored = runs.get(team_id, run.run_id)
    assert stored is not None and stored.invited == 4
    assert stored.report == json.loads(json.dumps(closed.view.to_dict()))
    with pytest.raises(RunClosed):
        close_run(runs, team_id, run.run_id, "U0STARTER")
    # The channel is free for the next run; the closed one stays readable.
    assert runs.open_in(team_id, CHANNEL) is None
    assert open_run(runs, BANK, team_id, CHANNEL, "U0STARTER", days=1).run_id != run.run_id


def test_a_run_past_its_deadline_closes_on_the_next_interaction(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    later = run.deadline + 1
    assert runs.overdue_runs(run.team_id, later) == [run.run_id]
    late = finish(store, member(run, "U1"), uniform(2), now=later)
    assert (late.counted, late.reason) == (False, "overdue")
    assert not run.overdue(run.deadline - 1) and run.overdue(later)
    closing = close_run(runs, run.team_id, run.run_id, CLOSED_BY_DEADLINE, now=later)
    closed = closed_run_report(runs, CATALOG, closing, invited=None, min_respondents=3)
    assert closed.run.closed_by == CLOSED_BY_DEADLINE and closed.view.withheld
    # Nobody pressed Close: the starter is the one told if the report cannot be posted.
    assert report_author(closing) == run.starter_id
    # A second interaction finds it closed already.
    with pytest.raises(RunClosed):
        close_run(runs, run.team_id, run.run_id, CLOSED_BY_DEADLINE, now=later)


def test_concurrent_finishes_and_a_close_count_exactly_what_was_in(team_id: str) -> None:
    client = real_redis()
    runs, store = TeamRunStore(client), SessionStore(client)
    run = open_run(runs, BANK, team_id, CHANNEL, "U0STARTER", days=7)
    outcomes: dict[str, ResponseOutcome] = {}
    answers_of = {f"U{i:02d}": uniform(i % 5) for i in range(40)}

    def answer(user: str) -> None:
        # A member the close beat has nothing kept in the run.
        with contextlib.suppress(personal.RunEnded, RunSessionClosed):
            outcomes[user] = finish(store, member(run, user), answers_of[user])

    threads = [threading.Thread(target=answer, args=(user,)) for user in answers_of]
    for thread in threads[:20]:
        thread.start()
    for thread in threads[:20]:
        thread.join()
    for thread in threads[20:]:
        thread.start()
    closed = closed_run_report(runs, CATALOG, close_run(runs, team_id, run.run_id, "U0STARTER"), invited=40)
    for thread in threads[20:]:
        thread.join()
    counted = [user for user, outcome in outcomes.items() if outcome.counted]
    assert len(counted) >= 20
    assert closed.view.respondents == len(counted)
    assert runs.aggregate(team_id, run.run_id) == aggregate_of(BANK, [answers_of[u] for u in counted])


def test_take_part_knows_new_in_progress_retake_and_closed(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    now = run.created_at + 10
    fresh = take_part(runs, store, CATALOG, run, "U1", now)
    assert (fresh.in_progress, fresh.retake) == (False, False)
    assert fresh.respondent.session_key == keys.session(run.team_id, "U1", run_id=run.run_id)
    finish(store, member(run, "U1"), uniform(1))
    again = take_part(runs, store, CATALOG, run, "U1", now)
    assert (again.in_progress, again.retake) == (False, True)
    started, _ = personal.new_session(member(run, "U2"), BANK, None, personal.member_asking(BANK))
    assert store.start(started, may_replace=lambda _: False) is None
    assert take_part(runs, store, CATALOG, run, "U2", now).in_progress
    with pytest.raises(RunClosed):
        take_part(runs, store, CATALOG, run, "U3", run.deadline + 1)


def test_the_refresh_window_and_the_daily_nudge_are_claimed_once(runs: TeamRunStore, run: RunRecord) -> None:
    team, run_id = run.team_id, run.run_id
    claims = runs.count_claims(team, run_id)
    assert claims.claim(3000, 7000) == Claimed(window=True)
    follow_up = claims.claim(3000, 7000)
    assert not follow_up.window
    assert follow_up.follow_up_in_ms is not None and 0 < follow_up.follow_up_in_ms <= 3000
    assert 0 < claims.window_left_ms() <= 3000
    assert claims.claim(3000, 7000) == Claimed()
    claims.release_follow_up()
    assert claims.claim(3000, 7000).follow_up_in_ms is not None
    assert runs.claim_nudge(team, run_id, DAY_SECONDS)
    assert not runs.claim_nudge(team, run_id, DAY_SECONDS)
    assert DAY_SECONDS - 5 <= runs.next_nudge_in(team, run_id) <= DAY_SECONDS


def test_the_aggregate_is_the_same_whichever_store_reads_it(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    finish(store, member(run, "U1"), uniform(2))
    raw = runs.redis.hgetall(keys.run_aggregate(run.team_id, run.run_id))
    assert TeamAggregate.from_fields(raw) == aggregate_of(BANK, [uniform(2)])


# The rules of a run, without Redis ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "bank_id", "days"),
    [
        ([], None, 7),
        (["pulse"], "pulse", 7),
        (["closes", "in", "3", "days"], None, 3),
        (["mlops", "closes", "in", "1", "day"], "mlops", 1),
        (["pulse", "Closes", "In", "30", "Days"], "pulse", 30),
    ],
)
def test_the_team_command_reads_a_bank_and_a_deadline(words, bank_id, days) -> None:
    request = parse_run_request(words)
    assert (request.bank_id, request.days) == (bank_id, days)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["closes", "in", "0", "days"], "1 to 30 days"),
        (["closes", "in", "31", "days"], "1 to 30 days"),
        (["pulse", "tomorrow"], "expected `team [bank] [closes in N days]`"),
        (["closes", "soon"], "expected"),
    ],
)
def test_a_team_command_that_does_not_fit_is_refused_with_what_would(words, message) -> None:
    with pytest.raises(BadRunRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_run_request(words)


def test_a_nudge_reaches_people_who_have_not_answered_once_each() -> None:
    members = [
        Member("U1"),
        Member("U2"),
        Member("U3"),
        Member("UBOT", is_bot=True),
        Member("UGONE", deleted=True),
        Member("U1"),
        Member("USTARTER"),
    ]
    plan = nudge_targets(members, answered={"U2"}, exclude={"USTARTER"})
    assert plan.targets == ("U1", "U3")
    assert (plan.answered, plan.skipped_accounts) == (1, 2)


def test_only_the_starter_or_an_admin_may_close_and_only_others_are_looked_up(run: RunRecord) -> None:
    asked: list[str] = []

    def is_admin(user_id: str) -> bool:
        asked.append(user_id)
        return user_id == "U0ADMIN"

    assert may_close(run, "U0STARTER", is_admin)
    assert may_close(run, "U0ADMIN", is_admin)
    assert not may_close(run, "U0SOMEONE", is_admin)
    assert asked == ["U0ADMIN", "U0SOMEONE"]


# Opening, closing and nudging, as the front ends call them -----------------------------------------


class HandedReports(list[RunRecord]):
    """The runs whose report a front end was handed after closing them."""

    def __call__(self, closed: RunRecord) -> None:
        self.append(closed)


def overdue_run(runs: TeamRunStore, team_id: str, channel: str = CHANNEL) -> RunRecord:
    """A run opened two days ago that closed in one: past its deadline, not closed yet."""
    return open_run(runs, BANK, team_id, channel, "U0STARTER", days=1, now=time.time() - 2 * DAY_SECONDS)


def test_starting_in_a_channel_whose_run_is_overdue_closes_it_first(runs: TeamRunStore, team_id: str) -> None:
    stale = overdue_run(runs, team_id)
    with pytest.raises(RunAlreadyOpen):
        open_run(runs, BANK, team_id, CHANNEL, "U0OTHER", days=3)  # nothing to hand a report to
    handed = HandedReports()
    fresh = open_run(runs, BANK, team_id, CHANNEL, "U0OTHER", 3, time.time(), handed)
    assert [(r.run_id, r.closed_by) for r in handed] == [(stale.run_id, CLOSED_BY_DEADLINE)]
    assert runs.open_in(team_id, CHANNEL) == fresh and fresh.starter_id == "U0OTHER"
    with pytest.raises(RunAlreadyOpen):
        open_run(runs, BANK, team_id, CHANNEL, "U0OTHER", 3, time.time(), handed)
    assert len(handed) == 1


def test_too_many_open_runs_names_where_they_are(redis_client: redis.Redis, team_id: str) -> None:
    runs = TeamRunStore(redis_client, RunLimits(open_per_user=2))
    opened = [open_run(runs, BANK, team_id, f"C0RUN{n}", "U0STARTER", days=3) for n in range(2)]
    with pytest.raises(TooManyOpenRuns) as refused:
        open_run(runs, BANK, team_id, "C0RUN2", "U0STARTER", 3, time.time(), HandedReports())
    assert runs_by_id(runs, team_id, refused.value.run_ids) == opened
    assert runs.open_in(team_id, "C0RUN2") is None


def test_a_click_on_an_overdue_run_closes_it_once(runs: TeamRunStore, team_id: str) -> None:
    stale = overdue_run(runs, team_id)
    handed = HandedReports()
    now = time.time()
    first = current_run(runs, team_id, stale.run_id, now, handed)
    again = current_run(runs, team_id, stale.run_id, now, handed)
    assert first is not None and again is not None
    assert (first.status, again.status, again.closed_by) == ("closed", "closed", CLOSED_BY_DEADLINE)
    assert [r.run_id for r in handed] == [stale.run_id]
    assert current_run(runs, team_id, "nosuchrun", now, handed) is None


def test_an_open_run_is_left_as_it_is_by_a_click(runs: TeamRunStore, run: RunRecord) -> None:
    handed = HandedReports()
    assert current_run(runs, run.team_id, run.run_id, run.created_at + 60, handed) == run
    assert handed == []


def test_after_a_response_the_count_is_shown_or_an_overdue_run_closed(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    handed = HandedReports()
    finish(store, member(run, "U1"), uniform(1))
    assert after_response(runs, run, True, run.created_at + 60, handed) == 1
    assert after_response(runs, None, True, run.created_at + 60, handed) is None
    assert after_response(runs, run, False, run.created_at + 60, handed) is None
    assert handed == [] and runs.open_in(run.team_id, CHANNEL) == run
    assert after_response(runs, run, False, run.deadline + 1, handed) is None
    assert [(r.run_id, r.closed_by) for r in handed] == [(run.run_id, CLOSED_BY_DEADLINE)]


def test_only_the_starter_nudges_and_at_most_once_a_day(runs: TeamRunStore, run: RunRecord) -> None:
    assert may_nudge(run, "U0STARTER") and not may_nudge(run, "U0ADMIN")
    assert claim_nudge(runs, run).granted
    again = claim_nudge(runs, run)
    assert not again.granted and DAY_SECONDS - 5 <= again.retry_in <= DAY_SECONDS


def test_a_nudge_plan_reaches_those_who_have_not_answered(
    runs: TeamRunStore, store: SessionStore, run: RunRecord
) -> None:
    finish(store, member(run, "U1"), uniform(1))
    looked_up: list[str] = []

    def channel_members(channel_id: str) -> list[Member]:
        looked_up.append(channel_id)
        return [Member("U0STARTER"), Member("U1"), Member("U2"), Member("UBOT", is_bot=True)]

    nudge = plan_nudge(runs, run.team_id, run.run_id, "U0STARTER", channel_members)
    assert nudge.run == run and looked_up == [CHANNEL]
    assert (nudge.plan.targets, nudge.plan.answered, nudge.plan.skipped_accounts) == (("U2",), 1, 1)


def test_a_nudge_whose_members_are_unknown_gives_its_claim_back(runs: TeamRunStore, run: RunRecord) -> None:
    assert claim_nudge(runs, run).granted
    with pytest.raises(NudgeNotSent) as unknown:
        plan_nudge(runs, run.team_id, run.run_id, "U0STARTER", lambda channel_id: None)
    assert unknown.value.reason == "members unknown"
    assert claim_nudge(runs, run).granted


def test_a_closed_run_is_not_nudged(runs: TeamRunStore, run: RunRecord) -> None:
    close_run(runs, run.team_id, run.run_id, "U0STARTER")
    looked_up: list[str] = []

    def channel_members(channel_id: str) -> list[Member]:
        looked_up.append(channel_id)
        return [Member("U2")]

    with pytest.raises(NudgeNotSent) as closed:
        plan_nudge(runs, run.team_id, run.run_id, "U0STARTER", channel_members)
    assert closed.value.reason == "closed"
    assert looked_up == []


def test_close_refuses_others_closes_once_and_says_who_closed_it(runs: TeamRunStore, run: RunRecord) -> None:
    handed = HandedReports()
    now = run.created_at + 60

    def is_admin(user_id: str) -> bool:
        return user_id == "U0ADMIN"

    refused = close_by(runs, run, "U0SOMEONE", is_admin, now, handed)
    assert (refused.allowed, refused.closed_here, refused.run.is_open) == (False, False, True)
    assert runs.open_in(run.team_id, CHANNEL) == run and handed == []
    closed = close_by(runs, run, "U0ADMIN", is_admin, now, handed)
    assert (closed.allowed, closed.closed_here, closed.run.closed_by) == (True, True, "U0ADMIN")
    assert handed == [closed.run]
    # The starter's click on the same (stale) run finds it closed by the admin.
    late = close_by(runs, run, "U0STARTER", is_admin, now, handed)
    assert (late.allowed, late.closed_here, late.run.closed_by) == (True, False, "U0ADMIN")
    assert handed == [closed.run]


def test_the_clock_closes_every_overdue_run_and_hands_each_report(runs: TeamRunStore, team_id: str) -> None:
    stale = [overdue_run(runs, team_id, f"C0OLD{n}") for n in range(3)]
    fresh = open_run(runs, BANK, team_id, "C0NEW", "U0STARTER", days=3)
    handed = HandedReports()
    closed = close_overdue(runs, time.time(), 100, handed)
    ours = {r.run_id for r in handed if r.team_id == team_id}
    assert closed == len(handed) and ours == {r.run_id for r in stale}
    assert runs.open_in(team_id, "C0NEW") == fresh
    assert close_overdue(runs, time.time(), 100, HandedReports()) == 0


def test_a_closed_runs_report_counts_as_posted_once_slack_took_it(runs: TeamRunStore, run: RunRecord) -> None:
    outbox = Outbox(runs.redis)
    closed = close_run(runs, run.team_id, run.run_id, "U0STARTER")
    assert not report_posted(outbox, closed)
    outbox.record_step(report_delivery(closed), "report", "1700000000.000100")
    assert report_posted(outbox, closed)
    outbox.finish(report_delivery(closed), DELIVERED)
    assert report_posted(outbox, closed)

"""Team workshops as use cases, on a real Redis server: only the facilitator settles, the last settle
closes the workshop with its report queued, racing settles give one answer, votes racing a settle are
refused with a reason, and a paused workshop resumes where it stopped."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis
import time_machine

from bot.engine import workshop as rules
from bot.engine.answers import DontKnow, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.scoring import score
from bot.store.history import HistoryStore, Scope
from bot.store.outbox import PENDING, Outbox
from bot.store.team_runs import FORGOTTEN
from bot.store.workshops import WorkshopAlreadyOpen, WorkshopClosed, WorkshopRecord, WorkshopStore
from bot.usecases import workshops
from bot.usecases.history import forget
from bot.usecases.team_count import CountUpdate
from bot.usecases.workshops import NotFacilitator, TeamAnswerChanged, WorkshopRef
from tests.conftest import real_redis

CATALOG = BankCatalog.from_directory()
BANK = CATALOG.by_id("pulse")
CHANNEL = "C0WORKSHOP"
FACILITATOR = "U0FACIL"
DAY = 24 * 3600
MEMBERS = ("U0FACIL", "U0ANNA", "U0BEN", "U0CARA", "U0DAN")
WINDOW = 60.0  # the live votes' window: none ends while a test runs


@pytest.fixture
def store() -> WorkshopStore:
    return WorkshopStore(real_redis())


def opened(store: WorkshopStore, team_id: str) -> WorkshopRecord:
    return workshops.open_workshop(store, CATALOG, "pulse", team_id, CHANNEL, FACILITATOR)


def voted(
    store: WorkshopStore, workshop: WorkshopRecord, question: str, user_id: str, answer: OptionChoice
) -> WorkshopRecord:
    return workshops.vote(store, CATALOG, workshop, question, user_id, answer, WINDOW).workshop


def open_question(workshop: WorkshopRecord) -> str:
    question = workshops.state_of(workshop).open_question
    assert question is not None
    return question


def test_a_second_workshop_in_the_channel_is_refused(store: WorkshopStore, team_id: str) -> None:
    first = opened(store, team_id)
    with pytest.raises(WorkshopAlreadyOpen) as refused:
        opened(store, team_id)
    assert refused.value.workshop.workshop_id == first.workshop_id


def test_only_the_facilitator_settles_and_nothing_changes_otherwise(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    workshop = voted(store, workshop, question, "U0ANNA", OptionChoice(2))
    with pytest.raises(NotFacilitator):
        workshops.settle(store, CATALOG, workshop, "U0ANNA", question)
    for refused in (
        lambda: workshops.skip(store, CATALOG, workshop, "U0ANNA", question),
        lambda: workshops.pause(store, CATALOG, workshop, "U0ANNA"),
        lambda: workshops.hand_over(store, CATALOG, workshop, "U0ANNA", "U0ANNA"),
    ):
        with pytest.raises(NotFacilitator):
            refused()
    assert store.get(team_id, workshop.workshop_id) == workshop


def test_settling_every_question_closes_with_the_report_of_the_settled_answers(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    settled_here = {}
    while workshop.is_open:
        question = open_question(workshop)
        for rung, member in enumerate(MEMBERS):
            # One member always a rung lower than the others, who agree on the second rung.
            workshop = voted(store, workshop, question, member, OptionChoice(0 if rung else 1))
            workshop = voted(store, workshop, question, member, OptionChoice(1 if rung else 0))
        workshop = workshops.settle(
            store, CATALOG, workshop, FACILITATOR, question, shown_default=OptionChoice(1)
        )
        settled_here[question] = OptionChoice(1)
    assert workshop.closed_by == FACILITATOR
    result = workshops.workshop_result(CATALOG, workshop)
    assert result.report == score(BANK, settled_here)
    assert {s.question_id for s in result.disagreements} == set(settled_here)
    assert result.voters == len(MEMBERS)
    delivery = Outbox(store.redis).get(workshops.report_delivery(workshop))
    assert delivery is not None and delivery.state == PENDING and delivery.author == FACILITATOR
    kept = workshops.keep_workshop_result(HistoryStore(store.redis), result)
    history = HistoryStore(store.redis).results(Scope.channel(team_id, CHANNEL))
    assert [(r.result_id, r.kind) for r in history] == [(workshop.workshop_id, "workshop")]
    assert history[0].overall_level == kept.overall_level == result.report.overall_level


def test_a_settle_on_votes_that_moved_since_the_button_is_refused(store: WorkshopStore, team_id: str) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    workshop = voted(store, workshop, question, "U0ANNA", OptionChoice(3))
    workshop = voted(store, workshop, question, "U0BEN", OptionChoice(1))
    with pytest.raises(TeamAnswerChanged) as refused:
        workshops.settle(store, CATALOG, workshop, FACILITATOR, question, shown_default=OptionChoice(3))
    assert refused.value.now == OptionChoice(1)
    assert open_question(store.get(team_id, workshop.workshop_id) or workshop) == question


def test_two_facilitator_clicks_racing_on_one_question_settle_it_once(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def click(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = workshops.settle(
                store, CATALOG, workshop, FACILITATOR, question, OptionChoice(index + 1)
            )
        except rules.NotTheOpenQuestion as refused:
            outcomes[index] = refused

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [i for i, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    assert len(won) == 1
    assert isinstance(outcomes[1 - won[0]], rules.NotTheOpenQuestion)
    stored = store.get(team_id, workshop.workshop_id)
    assert stored is not None and stored.revision == workshop.revision + 1
    assert workshops.state_of(stored).settled == {question: OptionChoice(won[0] + 1)}


def test_votes_are_shown_by_the_team_counts_rule_decided_in_the_vote_each_question_with_its_own_window(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)

    def update_of(voter: str, on: WorkshopRecord) -> CountUpdate:
        return workshops.vote(store, CATALOG, on, open_question(on), voter, OptionChoice(1), WINDOW).update

    assert update_of("U0ANNA", workshop) == CountUpdate(show_now=True)
    scheduled = update_of("U0BEN", workshop)
    assert scheduled.follow_up_in is not None and WINDOW - 5 < scheduled.follow_up_in <= WINDOW + 1
    assert update_of("U0CARA", workshop) == CountUpdate()
    # The follow-up, run early (a clock ahead), schedules itself again rather than showing.
    again = workshops.votes_follow_up(store, workshop, question, WINDOW)
    assert not again.show_now and again.follow_up_in is not None
    # A step that took the question off the table sees the window an update of its votes was shown in.
    assert WINDOW - 5 < workshops.votes_shown_within(store, workshop, question) <= WINDOW
    skipped = workshops.skip(store, CATALOG, workshop, FACILITATOR, question)
    assert workshops.votes_shown_within(store, skipped, open_question(skipped)) == 0
    assert update_of("U0ANNA", skipped).show_now


def test_a_follow_up_reads_every_vote_while_its_question_is_open_and_a_skip_is_seen_after(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    for voter in MEMBERS[1:]:
        voted(store, workshop, question, voter, OptionChoice(1))
    latest = workshops.still_voting(store, workshop, question)
    assert latest is not None
    assert set(workshops.state_of(latest).open_votes) == set(MEMBERS[1:])
    skipped = workshops.skip(store, CATALOG, workshop, FACILITATOR, question)
    assert workshops.still_voting(store, workshop, question) is None
    assert workshops.still_voting(store, skipped, open_question(skipped)) is not None
    assert workshops.still_voting(store, WorkshopRef(team_id, "nosuchworkshop"), question) is None
    # Votes alone are no step; a skip, a pause and a hand over each are.
    assert not workshops.stepped_since(workshop, latest)
    assert workshops.stepped_since(latest, skipped)
    paused = workshops.pause(store, CATALOG, skipped, FACILITATOR)
    assert workshops.stepped_since(skipped, paused)
    handed = workshops.hand_over(store, CATALOG, paused, FACILITATOR, MEMBERS[1])
    assert workshops.stepped_since(paused, handed) and not workshops.stepped_since(handed, handed)


def test_a_vote_after_the_settle_is_refused_naming_the_open_question(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    before_settle = voted(store, workshop, question, "U0ANNA", OptionChoice(2))
    after = workshops.settle(store, CATALOG, before_settle, FACILITATOR, question)
    with pytest.raises(rules.NotTheOpenQuestion) as refused:
        voted(store, before_settle, question, "U0BEN", OptionChoice(4))
    assert refused.value.open_question == open_question(after)
    assert store.get(team_id, workshop.workshop_id) == after


def test_a_workshop_paused_overnight_resumes_at_the_same_question(store: WorkshopStore, team_id: str) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    workshop = voted(store, workshop, question, "U0ANNA", OptionChoice(2))
    workshop = workshops.pause(store, CATALOG, workshop, FACILITATOR)
    with time_machine.travel(time.time() + timedelta(hours=16).total_seconds()):
        with pytest.raises(rules.WorkshopPaused):
            voted(store, workshop, question, "U0BEN", OptionChoice(3))
        workshop = workshops.resume(store, CATALOG, workshop, FACILITATOR)
        assert open_question(workshop) == question
        assert workshops.state_of(workshop).open_votes == {"U0ANNA": OptionChoice(2)}
        workshop = workshops.settle(store, CATALOG, workshop, FACILITATOR, question)
    assert workshops.state_of(workshop).settled == {question: OptionChoice(2)}


def test_the_deadline_closes_an_unfinished_workshop_with_what_was_settled(
    store: WorkshopStore, team_id: str
) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    workshop = workshops.settle(store, CATALOG, workshop, FACILITATOR, question, DontKnow())
    closed = workshops.close_unfinished(store, workshop, workshops.CLOSED_BY_DEADLINE)
    assert closed.closed_by == "deadline"
    assert workshops.workshop_result(CATALOG, closed).nobody_knew == (question,)
    with pytest.raises(WorkshopClosed):
        voted(store, closed, open_question(closed), "U0ANNA", OptionChoice(1))


def test_forgetting_a_person_takes_their_votes_and_name_out(store: WorkshopStore, team_id: str) -> None:
    workshop = opened(store, team_id)
    question = open_question(workshop)
    workshop = voted(store, workshop, question, FACILITATOR, OptionChoice(2))
    workshop = voted(store, workshop, question, "U0ANNA", OptionChoice(3))
    forgotten = forget(HistoryStore(store.redis), team_id, FACILITATOR)
    assert forgotten.workshops == 1
    stored = store.get(team_id, workshop.workshop_id)
    assert stored is not None and stored.facilitator_id == FORGOTTEN
    state = workshops.state_of(stored)
    assert state.facilitator == FORGOTTEN
    assert state.open_votes == {"U0ANNA": OptionChoice(3)}
    with pytest.raises(NotFacilitator):
        workshops.settle(store, CATALOG, stored, FACILITATOR, question)
    # Nobody is left to settle it until a member takes it on.
    with pytest.raises(NotFacilitator):
        workshops.settle(store, CATALOG, stored, "U0ANNA", question)
    taken = workshops.take_over(store, CATALOG, stored, "U0ANNA")
    assert taken.facilitator_id == "U0ANNA"
    settled = workshops.settle(store, CATALOG, taken, "U0ANNA", question)
    assert question in workshops.state_of(settled).settled
    # A workshop with a facilitator is not taken over.
    with pytest.raises(NotFacilitator):
        workshops.take_over(store, CATALOG, settled, "U0BEN")


def test_the_clock_reminds_once_per_idle_spell_and_closes_at_the_deadline(
    own_redis_client: redis.Redis, team_id: str
) -> None:
    # A server of its own: the clock's index is global, and this clock looks days ahead.
    store = WorkshopStore(own_redis_client)
    start = time.time()
    workshop = workshops.open_workshop(
        store, CATALOG, "pulse", team_id, CHANNEL, FACILITATOR, now=start, days=3
    )
    reminded: list[str] = []
    handed: list[str] = []

    def look(at: float) -> workshops.LookReport:
        return workshops.look_in_on_workshops(
            store, at, 60, 1000, lambda w: reminded.append(w.team_id), lambda w: handed.append(w.team_id)
        )

    look(start + 3600)
    assert team_id not in reminded  # not idle for a day yet
    look(start + DAY + 1)
    look(start + DAY + 2)
    assert reminded.count(team_id) == 1  # once per idle spell
    question = open_question(workshop)
    workshop = workshops.vote(
        store, CATALOG, workshop, question, "U0ANNA", OptionChoice(1), WINDOW, now=start + DAY + 60
    ).workshop
    look(start + 2 * DAY + 61)
    assert reminded.count(team_id) == 2  # a change started a new spell
    look(start + 3 * DAY + 1)
    assert handed.count(team_id) == 1
    closed = store.get(team_id, workshop.workshop_id)
    assert closed is not None and not closed.is_open and closed.closed_by == workshops.CLOSED_BY_DEADLINE
    delivery = Outbox(store.redis).get(workshops.report_delivery(closed))
    assert delivery is not None and delivery.state == PENDING

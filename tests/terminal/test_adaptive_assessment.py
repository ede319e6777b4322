"""The adaptive interactive assessment: only the questions that can still change a level, the offer to stop
once the overall level is settled, and the offer to answer the questions a report left out."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from rich.console import Console
from rich.text import Text

from bot.engine.adaptive import AskingMode, standing
from bot.engine.answers import OptionChoice
from bot.engine.bank import MeasuredLength, QuestionBank, load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.conversation import Back, Cancel, KeepGoing, StopHere
from bot.engine.overview import full_length, length
from bot.engine.progress import count_change_note, sentence
from bot.engine.report_view import build_view
from bot.engine.scoring import Report, applicable_questions, score
from bot.terminal.interactive import (
    LEFT_OUT_ENDING,
    OFFER_PROMPT,
    Refusal,
    length_lines,
    run_assessment,
    translate_offer,
)

from .report_figures import normalised
from .test_interactive_assessment import assess_interactively

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")


@dataclass
class Person:
    """Answers every question with its first option (for a practice, not in place; for the context
    question, no LLM features), and types `at_offer` at the offer to stop and `left_out` at the offer to
    answer the questions left out. Records every prompt."""

    at_offer: str = "2"
    left_out: str = ""
    prompts: list[str] = field(default_factory=list)

    def __call__(self, prompt: Text) -> str:
        self.prompts.append(prompt.plain)
        if prompt.plain == OFFER_PROMPT.plain:
            return self.at_offer
        if prompt.plain.endswith(LEFT_OUT_ENDING):
            return self.left_out
        return "1"

    @property
    def answers_typed(self) -> int:
        return sum(prompt.startswith("Your answer") for prompt in self.prompts)

    @property
    def offers(self) -> int:
        return self.prompts.count(OFFER_PROMPT.plain)

    @property
    def left_out_offers(self) -> list[str]:
        return [prompt for prompt in self.prompts if prompt.endswith(LEFT_OUT_ENDING)]


@dataclass
class Run:
    code: int
    out: str
    err: str
    reports: list[Report]


def run(bank: QuestionBank, person: Person, mode: AskingMode = AskingMode.ADAPTIVE) -> Run:
    out, err = io.StringIO(), io.StringIO()
    reports: list[Report] = []
    code = run_assessment(
        bank, Console(file=out, width=200), Console(file=err, width=200), person, reports.append, mode
    )
    return Run(code, out.getvalue(), err.getvalue(), reports)


def first_options(bank: QuestionBank) -> dict[str, OptionChoice]:
    """What the person in `Person` would answer to every question of `bank`."""
    return {question.id: OptionChoice(0) for question in bank.questions}


def test_stopping_at_the_settled_overall_level_reports_what_is_settled_and_what_is_not() -> None:
    person = Person(at_offer="2")
    result = run(MLOPS, person)
    assert result.code == 0, result.err
    [report] = result.reports
    # Stopped early: fewer questions than apply, each one answered, and one offer to stop.
    applicable = len(applicable_questions(MLOPS, report_answers := first_options(MLOPS)))
    assert report.answered == person.answers_typed < applicable
    assert person.offers == 1
    # The overall level the offer named is the one every question would give.
    level = score(MLOPS, report_answers).overall_level
    assert level is not None and report.overall_level == level
    name = MLOPS.level_info(level).name
    assert f"Your overall level is settled: {level} · {name} — " in result.out
    view = build_view(report)
    unsettled = [d for d in view.dimensions if d.level.level is None]
    assert unsettled, "the first options leave some dimension's level open when the overall is settled"
    assert "Not settled yet, for want of answers:" in view.headline
    text = normalised(result.out)
    assert normalised(view.headline) in text
    for dimension in unsettled:
        low, high = dimension.level.range or (0, 0)
        assert f"{dimension.name} Level {low} to {high} · not settled" in text
    # At most the questions that could still change a level were left; they are listed to answer, and
    # offered with every other question left out.
    assert "Answer these to get a level" in result.out
    left_out = len(report.to_answer) + len(report.not_asked)
    outcomes = len(MLOPS.outcomes)
    assert person.left_out_offers == [
        f"Type 1 to answer the {left_out} questions left out and {outcomes} about delivery outcomes "
        f"{LEFT_OUT_ENDING}"
    ]


def test_the_offer_says_what_holds_the_level_and_how_many_questions_are_left_at_most() -> None:
    result = run(PULSE, Person(at_offer="2"))
    [report] = result.reports
    now = standing(PULSE, {qid: OptionChoice(0) for qid in ("data_validation", "reproducible_training")})
    # The pulse asks its two Data & Experimentation gates first; both at their first option hold it at 1.
    assert report.answered == 2 and now.overall_settled
    left = sum(len(d.open_questions) for d in now.dimensions)
    assert (
        "Your overall level is settled: 1 · Ad-Hoc / Manual — Data & Experimentation holds it." in result.out
    )
    assert f"At most {left} questions are left for every dimension's level and Next Steps." in result.out


def test_keeping_going_then_answering_the_questions_left_out_gives_the_full_report() -> None:
    person = Person(at_offer="1", left_out="1")
    result = run(MLOPS, person)
    assert result.code == 0, result.err
    first, second = result.reports
    view = build_view(first)
    assert view.not_asked_text is not None and view.not_asked
    assert not first.to_answer  # kept going: every level settled
    assert normalised(view.not_asked_text) in normalised(result.out)
    # The second run asks the practices left out and the delivery outcomes, which an adaptive run never
    # asks, as it says; its report has every answer.
    outcomes = len(MLOPS.outcomes)
    left_out = f"the {len(view.not_asked)} questions left out and {outcomes} about delivery outcomes"
    assert person.left_out_offers == [f"Type 1 to answer {left_out} {LEFT_OUT_ENDING}"]
    assert f"T{left_out[1:]}, in the bank's order; your earlier answers stand." in result.out
    answered_before = first.answered
    assert person.answers_typed == answered_before + len(view.not_asked) + outcomes
    assert second.answered == second.applicable == person.answers_typed
    assert not second.not_asked and second.overall_score is not None
    # The questions left out could not change a level: the levels are the same, now with exact scores.
    assert [d.level for d in second.dimensions] == [d.level for d in first.dimensions]
    assert second == score(MLOPS, first_options(MLOPS))
    assert result.out.count("MLOps maturity report") == 2


def test_declining_to_answer_the_questions_left_out_ends_with_the_first_report() -> None:
    person = Person(at_offer="1", left_out="")
    result = run(MLOPS, person)
    assert result.code == 0 and len(result.reports) == 1
    assert len(person.left_out_offers) == 1
    assert result.out.count("MLOps maturity report") == 1


def test_quitting_the_questions_left_out_keeps_the_report_above() -> None:
    # The pulse's first two answers settle its overall level: stop there, then take up the questions left
    # out and quit at the first of them.
    entries = iter(["1", "1", "2", "1", "q"])
    reports: list[Report] = []
    err = io.StringIO()
    code = run_assessment(
        PULSE,
        Console(file=io.StringIO(), width=200),
        Console(file=err, width=200),
        lambda prompt: next(entries),
        reports.append,
    )
    assert code == 0 and len(reports) == 1
    answered = reports[0].answered
    assert (
        "Stopped before the questions left out were answered: answered "
        f"{answered} of the {reports[0].applicable} questions that apply; the report above stands."
    ) in normalised(err.getvalue())


def test_a_full_run_asks_every_question_that_applies_and_offers_no_stop() -> None:
    person = Person()
    result = run(MLOPS, person, AskingMode.FULL)
    [report] = result.reports
    applicable = applicable_questions(MLOPS, first_options(MLOPS))
    assert person.answers_typed == len(applicable) == report.answered == report.applicable
    assert person.offers == 0 and not person.left_out_offers
    assert f"Question {len(applicable)} of {len(applicable)} ▓▓▓▓▓▓▓▓▓▓▓▓ 100%" in result.out
    assert "at most" not in result.out.split("MLOps maturity report")[0]


def test_full_on_the_command_line_asks_every_question(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    context = {"llm_features": OptionChoice(0)}
    count = len(applicable_questions(MLOPS, context))
    code, out, err, keyboard = assess_interactively(monkeypatch, capsys, ["1"] * count, "mlops", "--full")
    assert code == 0, err
    assert keyboard.prompts == count
    assert f"{sentence(full_length(MLOPS))}: every question that applies is asked." in out


def test_an_adaptive_count_change_says_at_most(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _, _ = assess_interactively(monkeypatch, capsys, ["1", "q"], "mlops")
    assert code == 130
    lines = [line.strip() for line in out.splitlines()]
    second = next(i for i, line in enumerate(lines) if line.startswith("Question 2 of at most "))
    total = int(lines[second].split()[5])
    switched = len(MLOPS.questions) - len(applicable_questions(MLOPS, {"llm_features": OptionChoice(0)}))
    assert lines[second + 1] == count_change_note(
        len(MLOPS.questions), len(MLOPS.questions) - switched, ["LLM features"], total, exact=False
    )


def test_back_from_the_offer_returns_to_the_last_question_and_the_offer_comes_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, _ = assess_interactively(monkeypatch, capsys, ["1", "1", "b", "", "x", "2"])
    assert code == 0, err
    assert out.count("Overall level settled") == 2
    assert out.count("Question 2 of at most") == 2
    assert "(your answer; press Enter to keep it)" in out
    assert "'x' is not a choice: type 1 to keep going, 2 to stop here, b to go back or q to quit." in out


@pytest.mark.parametrize("ending", [["q"], []], ids=["q", "end of input"])
def test_quitting_at_the_offer_cancels_with_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ending: list[str]
) -> None:
    code, out, err, _ = assess_interactively(monkeypatch, capsys, ["1", "1", *ending])
    assert code == 130
    assert "Overall level settled" in out and "maturity report" not in out
    assert "Assessment cancelled: answered 2 of the 8 questions that apply; nothing was saved." in err


def test_typed_lines_at_the_offer_map_to_its_events() -> None:
    assert translate_offer("1", "drift_alerts") == KeepGoing()
    assert translate_offer(" 2 ", "drift_alerts") == StopHere()
    assert translate_offer("B", "drift_alerts") == Back("drift_alerts")
    assert translate_offer("q", "drift_alerts") == Cancel()
    for entry in ("3", "", "yes"):
        with pytest.raises(Refusal, match="type 1 to keep going, 2 to stop here"):
            translate_offer(entry, "drift_alerts")


def test_the_start_states_the_measured_length_and_when_the_level_is_usually_settled() -> None:
    measured = PULSE.model_copy(update={"asked": MeasuredLength(median=6, p90=7, overall_median=3)})
    assert length_lines(measured, AskingMode.ADAPTIVE) == [
        f"{sentence(length(measured))}: only the questions that can still change a level are asked "
        "(--full asks every one).",
        "Your overall level is usually settled after about 3 questions; you may stop there or go on for "
        "every dimension's level.",
    ]
    assert length_lines(measured, AskingMode.FULL) == [
        f"{sentence(full_length(measured))}: every question that applies is asked."
    ]
    # A bank never measured states its full length, and no point where people usually stop.
    assert len(length_lines(PULSE, AskingMode.ADAPTIVE)) == 1

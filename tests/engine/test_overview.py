"""The one wording of how long an assessment takes and what its report gives."""

from __future__ import annotations

from bot.engine.answers import OptionChoice
from bot.engine.bank import MeasuredLength, QuestionBank
from bot.engine.overview import (
    app_description,
    brief_length,
    full_length,
    length,
    report_contents,
    settled_after,
)
from bot.engine.scoring import score

from .synthetic import context_question, question, scoring_bank


def test_every_question_of_the_shipped_banks_is_a_range_of_questions_and_minutes(
    mlops: QuestionBank, pulse: QuestionBank
) -> None:
    assert full_length(mlops) == "50 to 60 questions, about 30 minutes"
    assert full_length(pulse) == "8 questions, about 4 minutes"


def test_an_adaptive_run_is_stated_as_measured_with_the_minutes_of_the_median() -> None:
    bank = scoring_bank([question("only", "data")])
    measured = bank.model_copy(update={"asked": MeasuredLength(median=31, p90=41, overall_median=11)})
    assert length(measured) == "about 31 questions, 16 minutes; at most 41 for 9 in 10 people"
    assert settled_after(measured) == "after about 11 questions"
    # A bank nobody measured states every question, and no time for the overall level.
    assert length(bank) == full_length(bank)
    assert settled_after(bank) is None


def test_a_measured_bank_states_what_an_adaptive_run_asks_and_an_unmeasured_one_its_full_length(
    mlops: QuestionBank,
) -> None:
    unmeasured = mlops.model_copy(update={"asked": None})
    assert length(unmeasured) == full_length(mlops)
    assert settled_after(unmeasured) is None
    measured = mlops.model_copy(update={"asked": MeasuredLength(median=31, p90=42, overall_median=1)})
    assert length(measured) == "about 31 questions, 16 minutes; at most 42 for 9 in 10 people"
    assert settled_after(measured) == "after about 1 question"


def test_the_full_assessment_states_its_measured_length(mlops: QuestionBank) -> None:
    # benchmarks/questions_asked.py --write measures it; a bank edit that drops the block fails here.
    assert mlops.asked is not None
    assert length(mlops).startswith(f"about {mlops.asked.median} questions")


def test_one_question_is_worded_in_the_singular() -> None:
    assert full_length(scoring_bank([question("only", "data")])) == "1 question, about 1 minute"


def test_a_context_question_that_switches_questions_off_makes_a_range() -> None:
    bank = scoring_bank(
        [
            context_question("serving"),
            question("always", "data"),
            question("live_only", "data", applies_if={"question": "serving", "options": [2]}),
        ]
    )
    assert full_length(bank) == "2 to 3 questions, about 2 minutes"


def test_the_full_bank_gives_levels_gates_a_recommendation_and_five_next_steps(mlops: QuestionBank) -> None:
    assert report_contents(mlops) == (
        "a level from 1 (Ad-Hoc / Manual) to 4 (Optimized / Autonomous) in each of four dimensions "
        "(Data & Experimentation, Deployment & Integration, Monitoring & Governance, Team & Culture), the "
        "production-safety gate that holds a dimension back, one recommendation for the weakest dimension, "
        "built from the team's own gaps, and up to five Next Steps naming practices and tools"
    )


def test_the_number_of_next_steps_stated_is_the_most_a_report_gives(mlops: QuestionBank) -> None:
    nothing_in_place = {practice.id: OptionChoice(0) for practice in mlops.practices}
    steps = len(score(mlops, nothing_in_place).next_steps)
    assert steps == 5
    assert "up to five Next Steps" in report_contents(mlops)


def test_the_pulse_states_the_highest_level_it_can_place(pulse: QuestionBank) -> None:
    assert "a level from 1 (Ad-Hoc / Manual) to 3 (Managed / Standardized)" in report_contents(pulse)


def test_a_bank_without_gates_or_tools_and_with_few_practices_says_so() -> None:
    bank = scoring_bank([question(f"data_{n}", "data", level=n) for n in (1, 2, 3)])
    bank = bank.model_copy(update={"questions": [q.model_copy(update={"tools": []}) for q in bank.practices]})
    contents = report_contents(bank)
    assert "gate" not in contents
    assert contents.startswith(
        "a level from 1 (Level 1 name) to 3 (Level 3 name) in Data, one recommendation"
    )
    assert contents.endswith("and up to three Next Steps naming practices")


def test_the_app_description_names_the_full_bank_and_the_short_check(
    mlops: QuestionBank, pulse: QuestionBank
) -> None:
    plain = app_description("/mlops-compass", mlops, pulse, markdown=False)
    marked = app_description("/mlops-compass", mlops, pulse, markdown=True)
    unmeasured = mlops.model_copy(update={"asked": None})
    assert f"the bot asks {length(unmeasured)}, one at a time" in app_description(
        "/mlops-compass", unmeasured, pulse, markdown=False
    )
    assert f"one at a time in a DM: {length(mlops)}." in plain
    assert f"{report_contents(mlops)}." in plain
    assert plain.endswith(
        f"The short option is the {pulse.title} (/mlops-compass start pulse): {length(pulse)}."
    )
    assert marked.replace("`", "") == plain
    assert "`/mlops-compass start pulse`" in marked
    assert "start pulse" not in app_description("/mlops-compass", mlops, None, markdown=False)


def test_a_measured_bank_is_described_as_adaptive_with_the_way_to_answer_everything(
    mlops: QuestionBank, pulse: QuestionBank
) -> None:
    measured = mlops.model_copy(update={"asked": MeasuredLength(median=31, p90=41, overall_median=11)})
    text = app_description("/mlops-compass", measured, pulse, markdown=True)
    assert (
        "the bot asks only the questions that can still change a level, one at a time in a DM: about 31 "
        "questions, 16 minutes; at most 41 for 9 in 10 people. The overall level is usually settled after "
        "about 11 questions, and you can stop there; `/mlops-compass start full` asks all 50 to 60 questions."
    ) in text


def test_the_brief_length_leaves_out_the_90th_percentile(mlops: QuestionBank) -> None:
    measured = mlops.model_copy(update={"asked": MeasuredLength(median=31, p90=42, overall_median=11)})
    assert brief_length(measured) == "about 31 questions, 16 minutes"
    assert length(measured) == f"{brief_length(measured)}; at most 42 for 9 in 10 people"
    assert brief_length(mlops.model_copy(update={"asked": None})) == full_length(mlops)

"""The interactive assessment, driven through `main` with scripted keyboard input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.cli.main import main
from bot.engine.answers import DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.conversation import AnswerQuestion, AskQuestion, Back, Cancel
from bot.terminal.interactive import Refusal, translate

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")


class ScriptedKeyboard:
    """Stands in for `input`: hands out the entries in order, then ends the input like Ctrl-D."""

    def __init__(self, entries: list[str]):
        self._entries: Iterator[str] = iter(entries)
        self.prompts = 0

    def __call__(self, prompt: object = "") -> str:
        self.prompts += 1
        try:
            return next(self._entries)
        except StopIteration:
            raise EOFError from None


def assess_interactively(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    entries: list[str],
    bank: str = "pulse",
    *options: str,
) -> tuple[int, str, str, ScriptedKeyboard]:
    keyboard = ScriptedKeyboard(entries)
    monkeypatch.setattr("builtins.input", keyboard)
    code = main(["assess", "--bank", bank, *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, keyboard


def figures_line(out: str, dimension_name: str) -> str:
    lines = out.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith(dimension_name)) + 1]


def test_a_full_run_asks_every_question_and_reaches_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(PULSE.questions)
    code, out, err, keyboard = assess_interactively(monkeypatch, capsys, ["1"] * total, "pulse", "--full")
    assert code == 0, err
    assert keyboard.prompts == total
    assert f"{PULSE.title}" in out
    assert f"{total} questions, about {PULSE.estimated_minutes} minutes: every question that applies" in out
    assert "Overall level settled" not in out
    first = PULSE.questions[0]
    assert f"Question 1 of {total} ▓▓░░░░░░░░░░ 12%" in out
    assert f"Question {total} of {total} ▓▓▓▓▓▓▓▓▓▓▓▓ 100%" in out
    assert first.text in out
    assert f"Why it matters: {first.why}" in " ".join(out.split())
    assert PULSE.section_name(first) in out
    for number, option in enumerate(first.options, start=1):
        assert f"{number}  {option.label}" in out
    assert f"{len(first.options) + 1}  Don't know" in out
    assert "q = quit" in out
    assert "Overall: Level 1 · Ad-Hoc / Manual" in out
    assert "Next Steps" in out


def test_options_then_not_applicable_then_dont_know_are_numbered_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    position = next(i for i, q in enumerate(MLOPS.questions) if q.not_applicable)
    question = MLOPS.questions[position]
    # "1" to the first (context) question: the team ships no LLM features.
    entries = ["1"] + ["5"] * (position - 1)
    code, out, _, _ = assess_interactively(monkeypatch, capsys, entries, "mlops", "--full")
    assert code == 130
    shown = out.split(question.text, 1)[1]
    assert f" 6  {question.not_applicable}" in shown
    assert " 7  Don't know" in shown
    assert "b = back" in shown


def test_back_returns_to_the_previous_question_and_a_new_answer_replaces_the_old(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(PULSE.questions)
    entries = ["5", "b", "1", *["5"] * (total - 1)]
    code, out, err, _ = assess_interactively(monkeypatch, capsys, entries, "pulse", "--full")
    assert code == 0, err
    assert out.count(f"Question 1 of {total}") == 2
    # After Back, the earlier answer is shown as chosen.
    assert f"✓  5  {PULSE.questions[0].options[4].label}" in out
    # data_validation (weight 2) now at 0 and reproducible_training (weight 3) at 1: 60, not 100.
    assert "60.0/100" in figures_line(out, "Data & Experimentation")


def test_enter_keeps_the_earlier_answer_after_going_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(PULSE.questions)
    entries = ["1", "b", "", *["5"] * (total - 1)]
    code, out, err, _ = assess_interactively(monkeypatch, capsys, entries, "pulse", "--full")
    assert code == 0, err
    assert "60.0/100" in figures_line(out, "Data & Experimentation")


def test_an_invalid_entry_is_refused_and_the_question_asked_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(PULSE.questions)
    entries = ["x", "0", "7", "", "1", *["1"] * (total - 1)]
    code, out, err, keyboard = assess_interactively(monkeypatch, capsys, entries, "pulse", "--full")
    assert code == 0, err
    assert keyboard.prompts == total + 4
    assert "'x' is not a choice: type a number from 1 to 6, b to go back or q to quit." in out
    assert "'0' is not a choice" in out
    assert "'7' is not a choice" in out
    assert "No answer given" in out
    assert out.count(f"Question 1 of {total}") == 1  # re-asked in place, not restarted


def test_back_on_the_first_question_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _, _ = assess_interactively(monkeypatch, capsys, ["b", "q"])
    assert code == 130
    assert "This is the first question; there is nothing to go back to." in out


@pytest.mark.parametrize(
    "ending", [["1", "2", "q"], ["1", "2", "Q "], ["1", "2"]], ids=["q", "Q", "end of input"]
)
def test_quitting_cancels_with_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ending: list[str]
) -> None:
    code, out, err, _ = assess_interactively(monkeypatch, capsys, ending)
    assert code == 130
    assert "Assessment cancelled: answered 2 of the 8 questions that apply; nothing was saved." in err
    assert "maturity report" not in out


def test_ctrl_c_cancels_with_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(prompt: object = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupted)
    assert main(["assess", "--bank", "pulse"]) == 130
    assert "cancelled: answered 0 of the 8 questions that apply" in capsys.readouterr().err


# Translation of one typed line into an engine event ---------------------------------------------


def ask(question_id: str, number: int = 2, previous=None) -> AskQuestion:
    return AskQuestion(MLOPS.question(question_id), number, len(MLOPS.questions), previous)


def test_numbers_map_to_options_then_not_applicable_then_dont_know() -> None:
    with_na = ask("progressive_delivery")
    assert translate("1", with_na) == AnswerQuestion("progressive_delivery", OptionChoice(0))
    assert translate(" 5 ", with_na) == AnswerQuestion("progressive_delivery", OptionChoice(4))
    assert translate("6", with_na) == AnswerQuestion("progressive_delivery", NotApplicable())
    assert translate("7", with_na) == AnswerQuestion("progressive_delivery", DontKnow())
    with pytest.raises(Refusal, match="from 1 to 7"):
        translate("8", with_na)
    without_na = ask("drift_alerts")
    assert translate("6", without_na) == AnswerQuestion("drift_alerts", DontKnow())
    with pytest.raises(Refusal, match="from 1 to 6"):
        translate("7", without_na)


def test_letters_map_to_back_and_cancel() -> None:
    assert translate("b", ask("drift_alerts")) == Back("drift_alerts")
    assert translate("Q", ask("drift_alerts")) == Cancel()
    with pytest.raises(Refusal, match="first question"):
        translate("b", ask("llm_features", number=1))


def test_enter_repeats_only_an_existing_answer() -> None:
    assert translate("", ask("drift_alerts", previous=OptionChoice(2))) == AnswerQuestion(
        "drift_alerts", OptionChoice(2)
    )
    with pytest.raises(Refusal, match="No answer given"):
        translate("", ask("drift_alerts"))


@pytest.mark.parametrize("entry", ["1.5", "-1", "²", "one", "1 2"])
def test_other_entries_are_refused(entry: str) -> None:
    with pytest.raises(Refusal, match="is not a choice"):
        translate(entry, ask("drift_alerts"))


def test_a_context_answer_that_shortens_the_assessment_says_why_the_count_changed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, _ = assess_interactively(monkeypatch, capsys, ["1", "q"], "mlops", "--full")
    assert code == 130
    lines = [line.strip() for line in out.splitlines()]
    second = next(i for i, line in enumerate(lines) if line.startswith("Question 2 of 50"))
    note = "10 questions about LLM features no longer apply after your answer: 50 in all."
    assert lines[second + 1] == note
    assert "Question 1 of 60" in out
    assert out.count("no longer apply") == 1
    assert "answered 1 of the 50 questions that apply" in err

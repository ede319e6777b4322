from __future__ import annotations

import pytest

from bot.engine.answers import (
    DontKnow,
    InvalidAnswer,
    NotApplicable,
    OptionChoice,
    check_answer,
    choices,
    decode_answer,
    encode_answer,
    parse_answer_text,
    readable_repr,
)


@pytest.mark.parametrize(
    ("answer", "code"),
    [(OptionChoice(0), 0), (OptionChoice(4), 4), (DontKnow(), "dk"), (NotApplicable(), "na")],
)
def test_encoding_round_trips(answer, code):
    assert encode_answer(answer) == code
    assert decode_answer(code) == answer


@pytest.mark.parametrize("code", ["maybe", "", True, False, "0", 1.0, None])
def test_decoding_refuses_what_no_answer_encodes_to(code):
    with pytest.raises(InvalidAnswer):
        decode_answer(code)


def test_choices_list_options_then_not_applicable_then_dont_know(small_bank):
    offered = choices(small_bank.question("ops_2"))

    assert [answer for answer, _ in offered] == [
        OptionChoice(0),
        OptionChoice(1),
        OptionChoice(2),
        NotApplicable(),
        DontKnow(),
    ]
    assert [label for _, label in offered][-2:] == ["We have no live traffic", "Don't know"]


def test_choices_leave_out_not_applicable_unless_offered(small_bank):
    assert NotApplicable() not in [answer for answer, _ in choices(small_bank.question("ops_1"))]


@pytest.mark.parametrize("answer", [OptionChoice(-1), OptionChoice(3), NotApplicable()])
def test_check_answer_refuses_what_the_question_does_not_offer(small_bank, answer):
    with pytest.raises(InvalidAnswer):
        check_answer(small_bank.question("ops_1"), answer)


@pytest.mark.parametrize("answer", [OptionChoice(0), OptionChoice(2), DontKnow()])
def test_check_answer_accepts_what_the_question_offers(small_bank, answer):
    check_answer(small_bank.question("ops_1"), answer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1, OptionChoice(0)),
        ("3", OptionChoice(2)),
        (" 2 ", OptionChoice(1)),
        ("OPS_2 OPTION 2", OptionChoice(1)),
        ("don't know", DontKnow()),
        ("dont_know", DontKnow()),
        ("n/a", NotApplicable()),
        ("we have no live traffic", NotApplicable()),
    ],
)
def test_parse_answer_text(small_bank, text, expected):
    assert parse_answer_text(small_bank.question("ops_2"), text) == expected


@pytest.mark.parametrize("text", [0, 4, "-1", "nonsense", True, 2.5])
def test_parse_answer_text_refuses_what_is_not_offered(small_bank, text):
    with pytest.raises(InvalidAnswer):
        parse_answer_text(small_bank.question("ops_2"), text)


def test_parse_answer_text_refuses_not_applicable_where_not_offered(small_bank):
    with pytest.raises(InvalidAnswer, match="Not applicable"):
        parse_answer_text(small_bank.question("ops_1"), "n/a")


def test_a_short_value_is_shown_whole() -> None:
    assert readable_repr("x" * 80) == repr("x" * 80)
    assert readable_repr(12345) == "12345"
    assert readable_repr([1, "a"]) == "[1, 'a']"


def test_a_long_value_is_cut_to_its_start_with_its_length_noted() -> None:
    assert readable_repr("ab" * 5_000) == f"{'ab' * 40!r}… (10,000 characters)"
    assert readable_repr(int("7" * 100)) == f"{'7' * 80}… (100 characters)"


def test_a_list_nesting_copies_of_itself_is_shown_by_its_first_items() -> None:
    # What YAML aliases build: 9 levels of 9 copies, whose full repr would be gigabytes.
    nested: list[object] = ["lol"] * 9
    for _ in range(8):
        nested = [nested] * 9
    shown = readable_repr(nested)
    assert shown.startswith("[[[...], [...],") and shown.endswith("…")
    assert len(shown) == 81


def test_a_long_answer_is_cut_in_the_refusal(small_bank):
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer_text(small_bank.question("ops_2"), "maybe " * 2_000)
    message = str(refused.value)
    assert message.startswith(f"{('maybe ' * 14)[:80]!r}… (12,000 characters) is not an option of 'ops_2' (")
    assert len(message) < 400


@pytest.mark.parametrize("digits", [200, 5_000], ids=["too large an option", "too long for int()"])
def test_an_option_number_of_many_digits_is_refused_with_its_start(small_bank, digits):
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer_text(small_bank.question("ops_2"), "9" * digits)
    message = str(refused.value)
    assert "9" * 80 in message and f"… ({digits:,} characters)" in message
    assert "9" * 81 not in message

"""`/mlops-compass start [full] [bank]`: the words after `start`, read before anything starts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.subcommands import BadStart, StartRequest, parse_start


@pytest.mark.parametrize(
    ("words", "request_"),
    [
        ([], StartRequest(None, full=False)),
        (["pulse"], StartRequest("pulse", full=False)),
        (["full"], StartRequest(None, full=True)),
        (["FULL", "pulse"], StartRequest("pulse", full=True)),
    ],
)
def test_start_reads_full_then_a_bank(words: list[str], request_: StartRequest) -> None:
    assert parse_start(words) == request_


@pytest.mark.parametrize(
    "words", [["pulse", "full"], ["full", "full"], ["full", "pulse", "mlops"], ["pulse", "mlops"]]
)
def test_anything_else_is_refused_with_what_fits(words: list[str]) -> None:
    with pytest.raises(BadStart) as refused:
        parse_start(words)
    said = str(refused.value)
    assert f"I read `start {' '.join(words)}`" in said and "`start [full] [bank]`" in said
    assert said.endswith("Nothing was started.")


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-<>&", min_size=1, max_size=12)


@given(words=st.lists(WORD, max_size=4))
def test_a_request_is_read_only_when_it_names_full_first_and_a_bank_at_most_once(words: list[str]) -> None:
    rest = words[1:] if words[:1] == ["full"] else words
    fits = len(rest) <= 1 and "full" not in rest
    try:
        read = parse_start(words)
    except BadStart as refused:
        assert not fits
        assert "<" not in str(refused) and ">" not in str(refused).replace("`start [full] [bank]`", "")
        return
    assert fits
    assert read == StartRequest(rest[0] if rest else None, full=words[:1] == ["full"])

"""Runs of the engine as a person in Slack takes them, for the answers a test has: how far an adaptive run
gets before it offers to stop, and what it was asked when it stops there or keeps going to the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine.answers import Answer
from bot.engine.bank import QuestionBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Conversation,
    KeepGoing,
    OfferStop,
    ShowReport,
    Start,
    StopHere,
    advance,
)
from bot.engine.scoring import Report
from bot.usecases.personal import PERSONAL, Asking


@dataclass(frozen=True)
class Run:
    asked: tuple[str, ...]  # the questions answered, in the order asked
    offer: OfferStop | None  # the first offer to stop, if one was made
    answered_at_offer: int  # how many had been answered when it was made
    report: Report


def take(bank: QuestionBank, answers: Mapping[str, Answer], stop: bool, asking: Asking = PERSONAL) -> Run:
    """Answer from `answers` whatever the engine asks; at the offer to stop, stop (`stop`) or keep going."""
    state: Conversation = asking.conversation(bank)
    transition = advance(state, Start(), bank)
    asked: list[str] = []
    offer: OfferStop | None = None
    at_offer = 0
    while not isinstance(transition.prompt, ShowReport):
        prompt = transition.prompt
        if isinstance(prompt, OfferStop):
            if offer is None:
                offer, at_offer = prompt, len(asked)
            transition = advance(transition.state, StopHere() if stop else KeepGoing(), bank)
            continue
        assert isinstance(prompt, AskQuestion), prompt
        asked.append(prompt.question.id)
        transition = advance(
            transition.state, AnswerQuestion(prompt.question.id, answers[prompt.question.id]), bank
        )
    return Run(tuple(asked), offer, at_offer, transition.prompt.report)

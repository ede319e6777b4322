"""Typed button values and action ids. A click's value is parsed into one of these models before any
handler sees it, so a tampered or foreign value is refused in one place."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

ANSWER_ACTION = "answer"
# "Not applicable" and "Don't know" sit in a group of their own, apart from the graded options.
OTHER_ANSWER_ACTION = "answer:other"
BACK_ACTION = "back"
CANCEL_ACTION = "cancel"
# The offer to stop once the overall level is settled.
KEEP_GOING_ACTION = "keep_going"
STOP_HERE_ACTION = "stop_here"
# On a report: a full run that asks only the questions that result left out.
ANSWER_LEFT_OUT_ACTION = "answer_left_out"
RESUME_ACTION = "resume"
START_OVER_ACTION = "start_over"
ANSWER_ACTION_PATTERN = re.compile(rf"^{ANSWER_ACTION}(:other)?$")

SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_]{1,31}$")]
Token = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]


class InvalidButton(Exception):
    pass


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, raw: str | None) -> Self:
        """The value as this very type, so `QuestionButton.decode(...).q` needs no cast."""
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError as error:
            raise InvalidButton(f"unreadable button value: {error.error_count()} problem(s)") from None


class QuestionButton(_Value):
    """A button on a question message: an answer, Back or Cancel."""

    u: SlackId  # the person whose assessment this is
    s: Token  # the session, so buttons of an earlier assessment are recognised
    q: Token | None = None  # the question on screen
    a: int | Annotated[str, StringConstraints(pattern=r"^(dk|na)$")] | None = Field(default=None)
    r: Token | None = None  # the team run these answers belong to, if any
    # The conversation's revision when the message was shown: set on the offer to stop, whose buttons are
    # refused once the conversation has moved on.
    n: int | None = None


class SessionButton(_Value):
    """Resume / Start over, offered when an assessment is already in progress or its bank changed; the
    Home tab's Start buttons; a report's button for the questions it left out."""

    u: SlackId
    b: Token | None = None  # bank to start over with
    s: Token | None = None  # the session that Start over replaces, so a second click replaces nothing
    m: Literal["full"] | None = None  # start a full run: every question
    i: Token | None = None  # the result whose answers the new run starts from (asks what it left out)
    r: Token | None = None  # Resume: the team run whose answers to resume (the clock's reminder)

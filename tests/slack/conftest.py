"""What the Slack-side tests share: a stand-in for Bolt's `respond`."""

from __future__ import annotations

from typing import Any

import pytest


class Responses:
    """Stands in for Bolt's `respond`, keeping what a flow said to the person."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def single(self) -> dict[str, Any]:
        """The one reply, whoever it is for."""
        assert len(self.sent) == 1, self.sent
        return self.sent[0]

    def single_text(self) -> str:
        return _sections(self.single())

    def only(self) -> dict[str, Any]:
        """The one reply, a refusal or notice: for the clicker alone, never overwriting the message it
        answers."""
        reply = self.single()
        assert reply["response_type"] == "ephemeral"
        assert reply["replace_original"] is False
        return reply

    def only_text(self) -> str:
        return _sections(self.only())

    def text(self) -> str:
        """Every reply's text, in the order they were sent."""
        return "\n".join(_sections(reply) for reply in self.sent)

    def all_ephemeral(self) -> bool:
        return all(r["response_type"] == "ephemeral" and r["replace_original"] is False for r in self.sent)


def _sections(reply: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in reply.get("blocks", []) if b["type"] == "section")


@pytest.fixture
def respond() -> Responses:
    return Responses()

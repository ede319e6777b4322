"""A fake Slack per test, and a Web API client of slack_sdk's own talking to it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from playground.fakeslack import FakeSlack


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    # No retry handlers, so every fault the fake injects reaches the test as-is.
    return WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[])

"""Finding a message the app posted by its metadata: a post whose answer never came (a timeout, a worker
killed while it waited) may have reached Slack, so whoever posts it again first looks for it. Every such
post carries message metadata naming what it is; Slack returns it with include_all_metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient

HISTORY_PAGE = 200
# How far before an attempt began to look for its message: clocks of the two sides may disagree a little.
HISTORY_SLACK_SECONDS = 120


def find_posted(
    client: WebClient,
    channel: str,
    since: float,
    event_type: str,
    payload: Mapping[str, str],
    thread_ts: str | None = None,
) -> str | None:
    """The ts of the message in `channel` (in the thread of `thread_ts`, when given) posted since `since`
    whose metadata has `event_type` and carries `payload`; None if there is none. Raises SlackClientError
    when the channel's history cannot be read."""
    cursor = None
    while True:
        window: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{since - HISTORY_SLACK_SECONDS:.6f}",
            "include_all_metadata": True,
            "limit": HISTORY_PAGE,
            "cursor": cursor,
        }
        page = (
            client.conversations_replies(ts=thread_ts, **window)
            if thread_ts is not None
            else client.conversations_history(**window)
        )
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            carried = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and all(
                str(carried.get(name)) == value for name, value in payload.items()
            ):
                return str(message.get("ts"))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
